"""The six kinds of resource the local AWS Backup protects, each backed by moto's own data.

A kind knows how to list its resources in an account and region (with their tags), how to
take a native backup of one (its "backing"), how to copy that backing into another account
or region, how to restore it as a new resource, and how to forget it. A backing is a plain
dict kept on the recovery point; `arn` is the recovery point ARN AWS would show for it.

    DynamoDB  the table, held by the extension  arn:aws:backup:<r>:<a>:recovery-point:<uuid>
              (advanced DynamoDB backup off: a moto DynamoDB backup, arn:aws:dynamodb:<r>:<a>:table/<t>/backup/<id>)
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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_block_store import Snapshot as EbsSnapshot
from moto.ec2.utils import random_snapshot_id
from moto.efs.models import efs_backends
from moto.moto_api._internal import mock_random
from moto.rds.models import DBCluster, DBClusterSnapshot, DBSnapshot, rds_backends
from moto.s3.models import s3_backends

from . import encryption
from . import restore_metadata as rmeta
from .errors import KindError
from .restore_metadata import meta as _meta
from . import dynamodb_points


@dataclass(frozen=True)
class Resource:
    arn: str
    resource_type: str
    name: str
    tags: dict[str, str]


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


def _restored_settings(resource: Any, metadata: dict[str, str], groups: list[str] | None) -> None:
    """What RDS's restore APIs take besides the snapshot and which moto's restore copies from
    the source instead: deletion protection (RestoreDBInstanceFromDBSnapshot and
    RestoreDBClusterFromSnapshot default it to off; it is not the source's) and the VPC security
    groups (`restore_metadata.security_groups`; without them, the default VPC's default group,
    which moto already gives a restored instance, not a cluster)."""
    resource.deletion_protection = _true(_meta(metadata, "DeletionProtection", "false"))
    if groups is None and isinstance(resource, DBCluster):
        ec2 = ec2_backends[resource.account_id][resource.region]
        groups = [ec2.get_default_security_group(ec2.default_vpc.id).id]
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

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str, vault_key: str | None) -> dict[str, Any]:
        """Copy the backing into (account, region), whose vault has the key `vault_key`."""
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

    # Native DynamoDB backups or AWS Backup's own points, by the Region settings (dynamodb_points.py).
    def backup(self, account: str, region: str, arn: str, job_id: str) -> dict[str, Any]:
        return dynamodb_points.backup(account, region, self.pattern.match(arn)["name"], job_id)  # type: ignore[index]

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str, vault_key: str | None) -> dict[str, Any]:
        return dynamodb_points.copy_point(backing, account, region, job_id)

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        return dynamodb_points.restore(backing, metadata, job_id)

    def forget(self, backing: dict[str, Any]) -> None:
        dynamodb_points.forget(backing)


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
        key = encryption.snapshot_key(self.resource_type, account, region, snapshot.kms_key_id, snapshot.encrypted)
        snapshot.kms_key_id = key if key else snapshot.kms_key_id  # the instance's key, by its ARN
        return {
            "arn": snapshot.arn,
            "snapshot_id": snapshot.db_snapshot_identifier,
            "account": account,
            "region": region,
            "kms_key_id": key,
            "size": int(db.allocated_storage or 0) * 1024**3,
            "restore_metadata": rmeta.rds(db, key),
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str, vault_key: str | None) -> dict[str, Any]:
        source = rds_backends[backing["account"]][backing["region"]].database_snapshots[backing["snapshot_id"]]
        target_backend = rds_backends[account][region]
        key = _copied_key(self.resource_type, backing, account, region, vault_key)
        _option_group_travels(source.database, target_backend)
        snapshot_id = f"awsbackup:copyjob-{job_id}"
        target = DBSnapshot(target_backend, source.database, snapshot_id, snapshot_type="awsbackup", kms_key_id=key)
        target.database.kms_key_id, target.database.storage_encrypted = key, key is not None
        target.kms_key_id, target.storage_encrypted, target.encrypted = key, key is not None, key is not None
        target_backend.database_snapshots[snapshot_id] = target
        return {**backing, "arn": target.arn, "snapshot_id": snapshot_id, "account": account, "region": region, "kms_key_id": key}

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        identifier = _meta(metadata, "DBInstanceIdentifier")
        if not identifier:
            raise KindError("Restore metadata DBInstanceIdentifier is required")
        rds = rds_backends[backing["account"]][backing["region"]]
        if identifier in rds.databases:
            raise KindError(f"DB instance already exists: {identifier}")
        account, region = backing["account"], backing["region"]
        snapshot = rds.database_snapshots[backing["snapshot_id"]]
        engine = snapshot.database.engine
        # refused before anything is made: what the metadata names must exist in this Region
        groups = rmeta.security_groups(metadata, account, region)
        rmeta.region_key(metadata, "KmsKeyId", account, region, "KMSKeyNotAccessibleFault")
        option_group = rmeta.option_group(metadata, engine, rds)
        overrides: dict[str, Any] = {
            "db_instance_identifier": identifier,
            "db_instance_class": _meta(metadata, "DBInstanceClass"),
            "availability_zone": rmeta.rds_zone(metadata, account, region),
            "db_subnet_group_name": rmeta.subnet_group(metadata, rds),
            "option_group_name": option_group,
            "db_parameter_group_name": rmeta.parameter_group(metadata, engine, rds),
        }
        # RestoreDBInstanceFromDBSnapshot takes no key: the instance has the snapshot's
        with _visible(snapshot), _option_group_of(snapshot.database, option_group):
            db = rds.restore_db_instance_from_db_snapshot(backing["snapshot_id"], overrides)
        _restored_settings(db, metadata, groups)
        multi_az = _meta(metadata, "MultiAZ")
        if multi_az is not None:  # RestoreDBInstanceFromDBSnapshot's MultiAZ; else the source's
            db.multi_az = _true(multi_az)  # (moto's restore skips a false override)
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
        key = encryption.snapshot_key(self.resource_type, account, region, cluster.kms_key_id, bool(cluster.storage_encrypted))
        if key:
            snapshot.kms_key_id = snapshot.cluster.kms_key_id = key  # the cluster's key, by its ARN
        return {
            "arn": snapshot.arn,
            "snapshot_id": snapshot.db_cluster_snapshot_identifier,
            "account": account,
            "region": region,
            "kms_key_id": key,
            "size": int(cluster.allocated_storage or 1) * 1024**3,
            "restore_metadata": rmeta.aurora(cluster, key),
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str, vault_key: str | None) -> dict[str, Any]:
        source = rds_backends[backing["account"]][backing["region"]].cluster_snapshots[backing["snapshot_id"]]
        target_backend = rds_backends[account][region]
        key = _copied_key(self.resource_type, backing, account, region, vault_key)
        snapshot_id = f"awsbackup:copyjob-{job_id}"
        target = DBClusterSnapshot(target_backend, source.cluster, snapshot_id, snapshot_type="awsbackup", kms_key_id=key)
        target_backend.cluster_snapshots[snapshot_id] = target
        return {**backing, "arn": target.arn, "snapshot_id": snapshot_id, "account": account, "region": region, "kms_key_id": key}

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        identifier = _meta(metadata, "DBClusterIdentifier")
        if not identifier:
            raise KindError("Restore metadata DBClusterIdentifier is required")
        rds = rds_backends[backing["account"]][backing["region"]]
        if identifier in rds.clusters:
            raise KindError(f"DB cluster already exists: {identifier}")
        account, region = backing["account"], backing["region"]
        # refused before anything is made: what the metadata names must exist in this Region
        groups = rmeta.security_groups(metadata, account, region)
        key = rmeta.region_key(metadata, "KmsKeyId", account, region, "KMSKeyNotAccessibleFault")
        overrides = {
            "db_cluster_identifier": identifier,
            "engine_version": _meta(metadata, "EngineVersion"),
            "db_subnet_group_name": rmeta.subnet_group(metadata, rds) or "default",
            "availability_zones": rmeta.aurora_zones(metadata, account, region),
            "db_cluster_parameter_group_name": rmeta.cluster_parameter_group(metadata, rds),
            "kms_key_id": key,  # RestoreDBClusterFromSnapshot: else the snapshot's key
            "storage_encrypted": True if key else None,
        }
        with _visible(rds.cluster_snapshots[backing["snapshot_id"]]):
            cluster = rds.restore_db_cluster_from_snapshot(backing["snapshot_id"], overrides)
        _restored_settings(cluster, metadata, groups)
        return cluster.arn  # a cluster without instances, as AWS Backup restores it

    def forget(self, backing: dict[str, Any]) -> None:
        rds_backends[backing["account"]][backing["region"]].cluster_snapshots.pop(backing["snapshot_id"], None)


def _copied_key(resource_type: str, backing: dict[str, Any], account: str, region: str, vault_key: str | None) -> str | None:
    """The key of a copy of an EBS, RDS or Aurora snapshot in (account, region); a copy AWS
    refuses fails the job (encryption.py)."""
    source = (backing["account"], backing["region"])
    refusal = encryption.cross_account_refusal(resource_type, backing.get("kms_key_id"), source, account)
    if refusal:
        raise KindError(refusal)
    return encryption.copy_key(resource_type, backing.get("kms_key_id"), source, (account, region), vault_key)


def _option_group_travels(db: Any, target: Any) -> None:
    """An option group cannot be copied to another Region: a snapshot whose option group has
    options needs one of that name in the target ("Creating backup copies across AWS
    Regions"; RDS's answer quoted in cloud-custodian/cloud-custodian#4955)."""
    if target.region_name == db.region and target.account_id == db.account_id:
        return
    group = rds_backends[db.account_id][db.region].option_groups.get(db.option_group_name or "")
    if group is not None and group.options and db.option_group_name not in target.option_groups:
        names = ", ".join(o["OptionName"] for o in group.options)
        raise KindError(f"InvalidParameterValue: The snapshot requires a target option group with the following options: [{names}]")


@contextlib.contextmanager
def _option_group_of(db: Any, name: str | None) -> Iterator[None]:
    """moto's restore copies the snapshot's option group unless told one; without one from the
    metadata, the restored instance gets the engine's default group."""
    supplied = db.option_group_supplied
    db.option_group_supplied = supplied and name is not None
    try:
        yield
    finally:
        db.option_group_supplied = supplied


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
        key = encryption.snapshot_key(self.resource_type, account, region, volume.kms_key_id, bool(volume.encrypted))
        snapshot.kms_key_id = key  # a snapshot has its volume's key (moto leaves it out)
        return {
            "arn": f"arn:aws:ec2:{region}::snapshot/{snapshot.id}",
            "snapshot_id": snapshot.id,
            "account": account,
            "region": region,
            "kms_key_id": key,
            "size": int(volume.size) * 1024**3,
            "restore_metadata": rmeta.ebs(volume, key),
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str, vault_key: str | None) -> dict[str, Any]:
        source = ec2_backends[backing["account"]][backing["region"]].snapshots[backing["snapshot_id"]]
        target_backend = ec2_backends[account][region]
        key = _copied_key(self.resource_type, backing, account, region, vault_key)
        snapshot_id = random_snapshot_id()
        target = EbsSnapshot(
            target_backend,
            snapshot_id,
            volume=source.volume,
            description="This snapshot is created by the AWS Backup service.",
            encrypted=key is not None,
            kms_key_id=key,
        )
        target_backend.snapshots[snapshot_id] = target
        return {
            **backing,  # the restore metadata stays the source's
            "arn": f"arn:aws:ec2:{region}::snapshot/{snapshot_id}",
            "snapshot_id": snapshot_id,
            "account": account,
            "region": region,
            "kms_key_id": key,
        }

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        account, region = backing["account"], backing["region"]
        ec2 = ec2_backends[account][region]
        snapshot = ec2.snapshots[backing["snapshot_id"]]
        zone = rmeta.ebs_zone(metadata, account, region)
        # a volume of an encrypted snapshot is encrypted, with the snapshot's key unless told another
        key = rmeta.region_key(metadata, "kmsKeyId", account, region) or snapshot.kms_key_id
        volume_type = _meta(metadata, "volumeType") or snapshot.volume.volume_type
        iops = _meta(metadata, "iops")
        volume = ec2.create_volume(
            size=int(_meta(metadata, "volumeSize") or snapshot.volume.size),
            zone_name=zone,
            snapshot_id=snapshot.id,
            encrypted=_true(_meta(metadata, "encrypted")) or snapshot.encrypted or key is not None,
            kms_key_id=key,
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

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str, vault_key: str | None) -> dict[str, Any]:
        return {
            **backing,
            "arn": _backup_rp_arn(account, region),
            "account": account,
            "region": region,
            "objects": copy.deepcopy(backing["objects"]),
        }

    def restore(self, backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
        from . import restore_work, s3_restore  # how each object is written back (its encryption and ETag)

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
        objects = backing["objects"][_dropped(account, region):]
        # the objects are written while the job runs (restore_work.py): a million take a minute
        restore_work.defer(job_id, lambda: s3_restore.write_all(s3, bucket, objects, encryption))
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
        key = encryption.snapshot_key(self.resource_type, account, region, fs.kms_key_id, bool(fs.encrypted))
        return {
            "arn": _backup_rp_arn(account, region),
            "account": account,
            "region": region,
            "size": int(fs.size_in_bytes["Value"]),
            "settings": {"performance_mode": fs.performance_mode, "throughput_mode": fs.throughput_mode, "encrypted": bool(fs.encrypted)},
            "restore_metadata": rmeta.efs(fs, key, f"awsbackup-{job_id.lower()}"),
        }

    def copy(self, backing: dict[str, Any], account: str, region: str, job_id: str, vault_key: str | None) -> dict[str, Any]:
        # the point is encrypted with the destination vault's key (models.py); metadata stays the source's
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
        key = rmeta.region_key(metadata, "KmsKeyId", account, region)
        if encrypted and key is None:  # CreateFileSystem: "the default KMS key for Amazon EFS"
            key = encryption.service_key(self.resource_type, account, region)
        fs = efs.create_file_system(
            creation_token=_meta(metadata, "CreationToken") or f"awsbackup-restore-{job_id}",
            performance_mode=_meta(metadata, "PerformanceMode") or settings["performance_mode"],
            encrypted=encrypted,
            kms_key_id=key,  # type: ignore[arg-type]
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
