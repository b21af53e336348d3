"""The six kinds of resource the local AWS Backup protects, each backed by moto's own data.

A kind knows how to list its resources in an account and region (with their tags), how to
take a native backup of one (its "backing"), how to copy that backing into another account
or region, how to restore it as a new resource, and how to forget it. A backing is a plain
dict kept on the recovery point; `arn` is the recovery point ARN AWS would show for it.

    DynamoDB  a moto DynamoDB backup        arn:aws:dynamodb:<r>:<a>:table/<t>/backup/<id>
    RDS       a DB snapshot                 arn:aws:rds:<r>:<a>:snapshot:awsbackup:job-<id>
    Aurora    a DB cluster snapshot         arn:aws:rds:<r>:<a>:cluster-snapshot:awsbackup:job-<id>
    EBS       an EBS snapshot               arn:aws:ec2:<r>::snapshot/snap-<id>
    S3        the bucket's objects, copied  arn:aws:backup:<r>:<a>:recovery-point:<uuid>
    EFS       the file system's settings    arn:aws:backup:<r>:<a>:recovery-point:<uuid>

S3, RDS and Aurora also support continuous backup: their continuous recovery point (one per
resource and vault, named by `continuous_id`) is backed by the same kind of backing.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Backup as DynamoBackup
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_block_store import Snapshot as EbsSnapshot
from moto.ec2.utils import random_snapshot_id
from moto.efs.models import efs_backends
from moto.moto_api._internal import mock_random
from moto.rds.models import DBClusterSnapshot, DBSnapshot, rds_backends
from moto.s3.models import s3_backends


class KindError(Exception):
    """A backup, copy or restore that fails; the message becomes the job's StatusMessage."""


@dataclass(frozen=True)
class Resource:
    arn: str
    resource_type: str
    name: str
    tags: dict[str, str]


def _meta(metadata: dict[str, str], key: str, default: str | None = None) -> str | None:
    """Restore metadata keys are not case sensitive (AWS Backup developer guide)."""
    wanted = key.lower()
    for k, v in metadata.items():
        if k.lower() == wanted:
            return v
    return default


# Restores told to lose data (control.py's corrupt-restores): (account, region) -> how many
# objects or items the next restore of a bucket or table there drops. Local only: it stands
# in for a backup that does not hold what it should, so that validators can be shown to catch it.
corrupt_restores: dict[tuple[str, str], int] = {}


def _dropped(account: str, region: str) -> int:
    return corrupt_restores.pop((account, region), 0)


# Restores told to fail (control.py's fail-restores): (account, region) -> the StatusMessage of
# the next restore job there, which FAILS without creating anything. Local only.
failing_restores: dict[tuple[str, str], str] = {}


def _true(value: str | None) -> bool:
    return str(value).strip().lower() == "true"


def _backup_rp_arn(account: str, region: str) -> str:
    return f"arn:aws:backup:{region}:{account}:recovery-point:{str(mock_random.uuid4()).upper()}"


def _security_groups(metadata: dict[str, str], account: str, region: str) -> list[str] | None:
    """`VpcSecurityGroupIds`, a JSON array of ids in a string, as the developer guide writes
    list values ("Restore testing inferred metadata"); None when absent. A value that is no
    such array, or names a group that does not exist in the region, fails the restore."""
    value = _meta(metadata, "VpcSecurityGroupIds")
    if value is None:
        return None
    try:
        groups = json.loads(value)
    except ValueError:
        groups = None
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise KindError(f"Restore metadata VpcSecurityGroupIds must be a JSON array of security group ids, not {value!r}")
    ec2 = ec2_backends[account][region]
    for group in groups:
        if ec2.get_security_group_from_id(group) is None:
            raise KindError(f"InvalidGroup.NotFound: The security group '{group}' does not exist")
    return groups


def _restored_settings(resource: Any, metadata: dict[str, str], groups: list[str] | None) -> None:
    """What RDS's restore APIs take besides the snapshot and which moto's restore copies from
    the source instead: deletion protection (RestoreDBInstanceFromDBSnapshot and
    RestoreDBClusterFromSnapshot default it to off; it is not the source's) and the VPC security
    groups (`_security_groups`; without them, moto's choice stays)."""
    resource.deletion_protection = _true(_meta(metadata, "DeletionProtection", "false"))
    if groups is not None:
        resource.vpc_security_group_ids = groups


@contextlib.contextmanager
def _visible(snapshot: Any) -> Iterator[None]:
    """moto's RDS restore looks only at manual and automated snapshots; AWS Backup's own
    snapshots have the type awsbackup, so show this one as manual while it is restored."""
    snapshot.snapshot_type = "manual"
    try:
        yield
    finally:
        snapshot.snapshot_type = "awsbackup"


class Kind:
    resource_type: str
    pattern: re.Pattern[str]
    supports_continuous = False  # continuous backup (PITR) through AWS Backup: S3, RDS, Aurora

    def parse(self, arn: str) -> re.Match[str] | None:
        return self.pattern.match(arn)

    def resources(self, account: str, region: str) -> Iterator[Resource]:
        raise NotImplementedError

    def find(self, account: str, region: str, arn: str) -> Resource | None:
        return next((r for r in self.resources(account, region) if r.arn == arn), None)

    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        raise NotImplementedError

    def forget(self, backing: dict[str, Any]) -> None:
        """Drop the native backing when its recovery point is deleted."""

    def continuous_id(self, account: str, region: str, arn: str) -> str:
        """The resource's part of its continuous recovery point's ARN (kinds that support it)."""
        raise NotImplementedError


class DynamoDB(Kind):
    resource_type = "DynamoDB"
    pattern = re.compile(r"^arn:aws:dynamodb:(?P<region>[^:]+):(?P<account>\d{12}):table/(?P<name>[^/]+)$")

    def resources(self, account: str, region: str) -> Iterator[Resource]:
        for table in dynamodb_backends[account][region].tables.values():
            tags = {t["Key"]: t["Value"] for t in (table.tags or [])}
            yield Resource(table.table_arn, self.resource_type, table.name, tags)

    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        name = self.pattern.match(arn)["name"]  # type: ignore[index]
        ddb = dynamodb_backends[account][region]
        if name not in ddb.tables:
            raise KindError(f"Resource {arn} not found")
        backup = ddb.create_backup(name, f"awsbackup-job-{job_id}")
        size = sum(len(str(item.to_json())) for item in backup.table.all_items())
        return {
            "arn": backup.arn,
            "account": account,
            "region": region,
            "size": size,
            "restore_metadata": {"targetTableName": name, "encryptionType": "Default", "deletionProtection": "false"},
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
        source = dynamodb_backends[backing["account"]][backing["region"]].get_backup(backing["arn"])
        target = DynamoBackup(account, region, f"awsbackup-copy-{job_id}", source.table)
        dynamodb_backends[account][region].backups[target.arn] = target
        return {**backing, "arn": target.arn, "account": account, "region": region}

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        target = _meta(metadata, "targetTableName")
        if not target:
            raise KindError("Restore metadata targetTableName is required")
        ddb = dynamodb_backends[backing["account"]][backing["region"]]
        if target in ddb.tables:
            raise KindError(f"Table already exists: {target}")
        table = ddb.restore_table_from_backup(target, backing["arn"])
        for _ in range(_dropped(backing["account"], backing["region"])):
            item = next(iter(table.all_items()), None)
            if item is not None:
                table.delete_item(item.hash_key, item.range_key)
        return table.table_arn

    def forget(self, backing: dict[str, Any]) -> None:
        dynamodb_backends[backing["account"]][backing["region"]].backups.pop(backing["arn"], None)


class RDS(Kind):
    resource_type = "RDS"
    pattern = re.compile(r"^arn:aws:rds:(?P<region>[^:]+):(?P<account>\d{12}):db:(?P<name>.+)$")
    supports_continuous = True

    def continuous_id(self, account: str, region: str, arn: str) -> str:
        db = rds_backends[account][region].databases[self.pattern.match(arn)["name"]]  # type: ignore[index]
        return db.dbi_resource_id.lower()  # db-<id>

    def resources(self, account: str, region: str) -> Iterator[Resource]:
        for db in rds_backends[account][region].databases.values():
            if getattr(db, "db_cluster_identifier", None):
                continue  # Aurora members are protected through their cluster
            tags = {t["Key"]: t["Value"] for t in db.get_tags()}
            yield Resource(db.arn, self.resource_type, db.db_instance_identifier, tags)

    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        name = self.pattern.match(arn)["name"]  # type: ignore[index]
        rds = rds_backends[account][region]
        db = rds.databases.get(name)
        if db is None:
            raise KindError(f"Resource {arn} not found")
        snapshot = rds.create_db_snapshot(name, f"awsbackup:job-{job_id}", snapshot_type="awsbackup")
        metadata = {
            "DBInstanceIdentifier": name,
            "DBInstanceClass": db.db_instance_class,
            "Engine": db.engine,
            "Port": str(db.port),
            "MultiAZ": str(bool(db.multi_az)).lower(),
            "StorageType": db.storage_type,
        }
        return {
            "arn": snapshot.arn,
            "snapshot_id": snapshot.db_snapshot_identifier,
            "account": account,
            "region": region,
            "size": int(db.allocated_storage or 0) * 1024**3,
            "restore_metadata": {k: v for k, v in metadata.items() if v not in (None, "None")},
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
        source = rds_backends[backing["account"]][backing["region"]].database_snapshots[backing["snapshot_id"]]
        target_backend = rds_backends[account][region]
        snapshot_id = f"awsbackup:copyjob-{job_id}"
        target = DBSnapshot(target_backend, source.database, snapshot_id, snapshot_type="awsbackup")
        target_backend.database_snapshots[snapshot_id] = target
        return {**backing, "arn": target.arn, "snapshot_id": snapshot_id, "account": account, "region": region}

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        identifier = _meta(metadata, "DBInstanceIdentifier")
        if not identifier:
            raise KindError("Restore metadata DBInstanceIdentifier is required")
        rds = rds_backends[backing["account"]][backing["region"]]
        if identifier in rds.databases:
            raise KindError(f"DB instance already exists: {identifier}")
        account, region = backing["account"], backing["region"]
        groups = _security_groups(metadata, account, region)  # refused before anything is made
        overrides: dict[str, Any] = {
            "db_instance_identifier": identifier,
            "db_instance_class": _meta(metadata, "DBInstanceClass"),
            "availability_zone": _meta(metadata, "AvailabilityZone"),
            "db_subnet_group_name": _meta(metadata, "DBSubnetGroupName"),
        }
        with _visible(rds.database_snapshots[backing["snapshot_id"]]):
            db = rds.restore_db_instance_from_db_snapshot(backing["snapshot_id"], overrides)
        _restored_settings(db, metadata, groups)
        publicly_accessible = _meta(metadata, "PubliclyAccessible")
        if publicly_accessible is not None:
            db.publicly_accessible = _true(publicly_accessible)
        return db.arn

    def forget(self, backing: dict[str, Any]) -> None:
        rds_backends[backing["account"]][backing["region"]].database_snapshots.pop(backing["snapshot_id"], None)


class Aurora(Kind):
    resource_type = "Aurora"
    pattern = re.compile(r"^arn:aws:rds:(?P<region>[^:]+):(?P<account>\d{12}):cluster:(?P<name>.+)$")
    supports_continuous = True

    def continuous_id(self, account: str, region: str, arn: str) -> str:
        cluster = rds_backends[account][region].clusters[self.pattern.match(arn)["name"]]  # type: ignore[index]
        return cluster.db_cluster_resource_id.lower()  # cluster-<id>

    def resources(self, account: str, region: str) -> Iterator[Resource]:
        for cluster in rds_backends[account][region].clusters.values():
            tags = {t["Key"]: t["Value"] for t in cluster.get_tags()}
            yield Resource(cluster.arn, self.resource_type, cluster.db_cluster_identifier, tags)

    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        name = self.pattern.match(arn)["name"]  # type: ignore[index]
        rds = rds_backends[account][region]
        cluster = rds.clusters.get(name)
        if cluster is None:
            raise KindError(f"Resource {arn} not found")
        snapshot = rds.create_db_cluster_snapshot(name, f"awsbackup:job-{job_id}", snapshot_type="awsbackup")
        metadata = {
            "DBClusterIdentifier": name,
            "Engine": cluster.engine,
            "EngineVersion": cluster.engine_version,
            "Port": str(cluster.port),
        }
        return {
            "arn": snapshot.arn,
            "snapshot_id": snapshot.db_cluster_snapshot_identifier,
            "account": account,
            "region": region,
            "size": int(cluster.allocated_storage or 1) * 1024**3,
            "restore_metadata": {k: v for k, v in metadata.items() if v not in (None, "None")},
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
        source = rds_backends[backing["account"]][backing["region"]].cluster_snapshots[backing["snapshot_id"]]
        target_backend = rds_backends[account][region]
        snapshot_id = f"awsbackup:copyjob-{job_id}"
        target = DBClusterSnapshot(target_backend, source.cluster, snapshot_id, snapshot_type="awsbackup")
        target_backend.cluster_snapshots[snapshot_id] = target
        return {**backing, "arn": target.arn, "snapshot_id": snapshot_id, "account": account, "region": region}

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        identifier = _meta(metadata, "DBClusterIdentifier")
        if not identifier:
            raise KindError("Restore metadata DBClusterIdentifier is required")
        rds = rds_backends[backing["account"]][backing["region"]]
        if identifier in rds.clusters:
            raise KindError(f"DB cluster already exists: {identifier}")
        account, region = backing["account"], backing["region"]
        groups = _security_groups(metadata, account, region)  # refused before anything is made
        subnet_group = _meta(metadata, "DBSubnetGroupName")
        if subnet_group and subnet_group not in rds.subnet_groups:
            # moto's clusters take any name; RestoreDBClusterFromSnapshot refuses a missing one.
            raise KindError(f"DBSubnetGroupNotFoundFault: DB subnet group '{subnet_group}' does not exist")
        overrides = {
            "db_cluster_identifier": identifier,
            "engine_version": _meta(metadata, "EngineVersion"),
            "db_subnet_group_name": subnet_group,
            "availability_zones": [f"{region}a", f"{region}b", f"{region}c"],
        }
        with _visible(rds.cluster_snapshots[backing["snapshot_id"]]):
            cluster = rds.restore_db_cluster_from_snapshot(backing["snapshot_id"], overrides)
        _restored_settings(cluster, metadata, groups)
        return cluster.arn

    def forget(self, backing: dict[str, Any]) -> None:
        rds_backends[backing["account"]][backing["region"]].cluster_snapshots.pop(backing["snapshot_id"], None)


class EBS(Kind):
    resource_type = "EBS"
    pattern = re.compile(r"^arn:aws:ec2:(?P<region>[^:]+):(?P<account>\d{12}):volume/(?P<name>vol-[0-9a-f]+)$")

    def resources(self, account: str, region: str) -> Iterator[Resource]:
        ec2 = ec2_backends[account][region]
        for volume in ec2.volumes.values():
            tags = {t["key"]: t["value"] for t in volume.get_tags()}
            arn = f"arn:aws:ec2:{region}:{account}:volume/{volume.id}"
            yield Resource(arn, self.resource_type, volume.id, tags)

    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        volume_id = self.pattern.match(arn)["name"]  # type: ignore[index]
        ec2 = ec2_backends[account][region]
        volume = ec2.volumes.get(volume_id)
        if volume is None:
            raise KindError(f"Resource {arn} not found")
        snapshot = ec2.create_snapshot(volume_id, "This snapshot is created by the AWS Backup service.")
        metadata = {
            "availabilityZone": volume.zone.name,
            "volumeType": volume.volume_type,
            "volumeSize": str(volume.size),
            "encrypted": str(bool(volume.encrypted)).lower(),
        }
        if volume.iops:
            metadata["iops"] = str(volume.iops)
        return {
            "arn": f"arn:aws:ec2:{region}::snapshot/{snapshot.id}",
            "snapshot_id": snapshot.id,
            "account": account,
            "region": region,
            "size": int(volume.size) * 1024**3,
            "restore_metadata": metadata,
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
        source = ec2_backends[backing["account"]][backing["region"]].snapshots[backing["snapshot_id"]]
        target_backend = ec2_backends[account][region]
        snapshot_id = random_snapshot_id()
        target = EbsSnapshot(
            target_backend,
            snapshot_id,
            volume=source.volume,
            description="This snapshot is created by the AWS Backup service.",
            encrypted=source.encrypted,
        )
        target_backend.snapshots[snapshot_id] = target
        metadata = dict(backing["restore_metadata"], availabilityZone=f"{region}a")
        return {
            **backing,
            "arn": f"arn:aws:ec2:{region}::snapshot/{snapshot_id}",
            "snapshot_id": snapshot_id,
            "account": account,
            "region": region,
            "restore_metadata": metadata,
        }

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        account, region = backing["account"], backing["region"]
        ec2 = ec2_backends[account][region]
        snapshot = ec2.snapshots[backing["snapshot_id"]]
        zone = _meta(metadata, "availabilityZone") or f"{region}a"
        if not zone.startswith(region):
            raise KindError(f"Availability zone {zone} is not in {region}")
        volume_type = _meta(metadata, "volumeType") or snapshot.volume.volume_type
        iops = _meta(metadata, "iops")
        volume = ec2.create_volume(
            size=int(_meta(metadata, "volumeSize") or snapshot.volume.size),
            zone_name=zone,
            snapshot_id=snapshot.id,
            encrypted=_true(_meta(metadata, "encrypted")) or snapshot.encrypted,
            kms_key_id=_meta(metadata, "kmsKeyId"),
            volume_type=volume_type,
            iops=int(iops) if iops and volume_type in ("io1", "io2", "gp3") else None,
        )
        return f"arn:aws:ec2:{region}:{account}:volume/{volume.id}"

    def forget(self, backing: dict[str, Any]) -> None:
        ec2_backends[backing["account"]][backing["region"]].snapshots.pop(backing["snapshot_id"], None)


class S3(Kind):
    resource_type = "S3"
    pattern = re.compile(r"^arn:aws:s3:::(?P<name>[^/]+)$")
    supports_continuous = True

    def continuous_id(self, account: str, region: str, arn: str) -> str:
        return self.pattern.match(arn)["name"]  # type: ignore[index]

    def resources(self, account: str, region: str) -> Iterator[Resource]:
        s3 = s3_backends[account]["aws"]
        for bucket in list(s3.buckets.values()):
            if bucket.region_name == region:
                tags = s3.tagger.get_tag_dict_for_resource(bucket.arn)
                yield Resource(f"arn:aws:s3:::{bucket.name}", self.resource_type, bucket.name, tags)

    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        name = self.pattern.match(arn)["name"]  # type: ignore[index]
        bucket = s3_backends[account]["aws"].buckets.get(name)
        if bucket is None or bucket.region_name != region:
            raise KindError(f"Resource {arn} not found in {region}")
        from .s3_restore import captured

        objects = [
            {"key": key.name, "value": key.value, "metadata": dict(key.metadata), "storage": key.storage_class, **captured(key)}
            for key in list(bucket.keys.values())
            if hasattr(key, "value")
        ]
        return {
            "arn": _backup_rp_arn(account, region),
            "account": account,
            "region": region,
            "size": sum(len(o["value"]) for o in objects),
            "objects": objects,
            "restore_metadata": {
                "DestinationBucketName": name,
                "NewBucket": "false",
                "Encrypted": "false",
                "EncryptionType": "SSE-S3",
            },
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
        return {
            **backing,
            "arn": _backup_rp_arn(account, region),
            "account": account,
            "region": region,
            "objects": copy.deepcopy(backing["objects"]),
        }

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        from . import s3_restore  # how each object is written back (its encryption and ETag)

        name = _meta(metadata, "DestinationBucketName")
        if not name:
            raise KindError("Restore metadata DestinationBucketName is required")
        encryption = s3_restore.restore_encryption(metadata)
        account, region = backing["account"], backing["region"]
        s3 = s3_backends[account]["aws"]
        bucket = s3.buckets.get(name)
        if _true(_meta(metadata, "NewBucket")):
            if name in s3_backends.bucket_accounts:
                raise KindError(f"Bucket already exists: {name}")
            bucket = s3.create_bucket(name, region)
        elif bucket is None:
            raise KindError(f"Destination bucket {name} does not exist; set NewBucket=true to create it")
        elif bucket.region_name != region:
            raise KindError(f"Destination bucket {name} is not in {region}")
        existing = set(bucket.keys.keys())
        for obj in backing["objects"][_dropped(account, region):]:
            if obj["key"] in existing:
                continue  # AWS Backup never overwrites an object on restore
            s3_restore.write(s3, name, obj, encryption)
        return f"arn:aws:s3:::{name}"


class EFS(Kind):
    resource_type = "EFS"
    pattern = re.compile(
        r"^arn:aws:elasticfilesystem:(?P<region>[^:]+):(?P<account>\d{12}):file-system/(?P<name>fs-[0-9a-f]+)$"
    )

    def resources(self, account: str, region: str) -> Iterator[Resource]:
        efs = efs_backends[account][region]
        for fs in efs.file_systems_by_id.values():
            tags = efs.tagging_service.get_tag_dict_for_resource(fs.file_system_id)
            yield Resource(fs.file_system_arn, self.resource_type, tags.get("Name", fs.file_system_id), tags)

    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        fs_id = self.pattern.match(arn)["name"]  # type: ignore[index]
        fs = efs_backends[account][region].file_systems_by_id.get(fs_id)
        if fs is None:
            raise KindError(f"Resource {arn} not found")
        return {
            "arn": _backup_rp_arn(account, region),
            "account": account,
            "region": region,
            "size": int(fs.size_in_bytes["Value"]),
            "settings": {
                "performance_mode": fs.performance_mode,
                "encrypted": bool(fs.encrypted),
                "kms_key_id": fs.kms_key_id,
                "throughput_mode": fs.throughput_mode,
            },
            "restore_metadata": {
                "file-system-id": fs_id,
                "Encrypted": str(bool(fs.encrypted)).lower(),
                "PerformanceMode": fs.performance_mode,
                "newFileSystem": "true",
            },
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
        return {**backing, "arn": _backup_rp_arn(account, region), "account": account, "region": region}

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        account, region = backing["account"], backing["region"]
        efs = efs_backends[account][region]
        if not _true(_meta(metadata, "newFileSystem", "true")):
            fs_id = _meta(metadata, "file-system-id")
            fs = efs.file_systems_by_id.get(fs_id or "")
            if fs is None:
                raise KindError(f"File system {fs_id} not found in {region}")
            return fs.file_system_arn
        settings = backing["settings"]
        encrypted = _true(_meta(metadata, "Encrypted", str(settings["encrypted"])))
        fs = efs.create_file_system(
            creation_token=_meta(metadata, "CreationToken") or f"awsbackup-restore-{job_id}",
            performance_mode=_meta(metadata, "PerformanceMode") or settings["performance_mode"],
            encrypted=encrypted,
            kms_key_id=_meta(metadata, "KmsKeyId") or (settings["kms_key_id"] if encrypted else None),
            throughput_mode=settings["throughput_mode"],
            provisioned_throughput_in_mibps=None,  # type: ignore[arg-type]
            availability_zone_name=None,  # type: ignore[arg-type]
            backup=False,
            tags=[],
        )
        return fs.file_system_arn


KINDS: list[Kind] = [DynamoDB(), RDS(), Aurora(), EBS(), S3(), EFS()]
BY_TYPE: dict[str, Kind] = {k.resource_type: k for k in KINDS}


def kind_of(resource_arn: str) -> Kind | None:
    return next((k for k in KINDS if k.parse(resource_arn)), None)


def all_resources(account: str, region: str) -> Iterator[Resource]:
    for kind in KINDS:
        yield from kind.resources(account, region)
