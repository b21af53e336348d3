"""Restore metadata of EBS volumes, RDS DB instances, Aurora clusters and EFS file systems.

What a recovery point carries (GetRecoveryPointRestoreMetadata: "metadata key-value pairs
that describe the original configuration of the backed-up resource"): the source's values,
its Availability Zone, KMS key and groups included. A copy carries its source's, so in
another Region they name things of the source's Region ("Copies retain their source
configuration", developer guide, "Backup and tag copy").

And the checks a restore makes before it creates anything: every zone, key and group the
metadata names must exist in the Region the restore runs in, as the services' restore APIs
require; otherwise the restore job fails with the service's error. Keys are not case
sensitive ("Restore testing inferred metadata"). FIDELITY.md, section "AWS Backup: copies,
encryption and restore metadata", gives the sources and says which wordings are AWS's.
"""

from __future__ import annotations

import json
from typing import Any

from moto.ec2.models import ec2_backends
from moto.rds.models import RDSBackend

from . import encryption
from .errors import KindError


def meta(metadata: dict[str, str], key: str, default: str | None = None) -> str | None:
    """Restore metadata keys are not case sensitive (AWS Backup developer guide)."""
    wanted = key.lower()
    for k, v in metadata.items():
        if k.lower() == wanted:
            return v
    return default


def json_list(metadata: dict[str, str], key: str, what: str) -> list[str] | None:
    """A list value: a JSON array of strings in a string, as the developer guide writes list
    values ("Restore testing inferred metadata"); None when absent."""
    value = meta(metadata, key)
    if value is None:
        return None
    try:
        items = json.loads(value)
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise KindError(f"Restore metadata {key} must be a JSON array of {what}, not {value!r}")
    return items


def _present(values: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v not in (None, "None", "")}


def _flag(value: Any) -> str:
    return str(bool(value)).lower()


# ---- what a recovery point carries --------------------------------------------------------


def ebs(volume: Any, key: str | None) -> dict[str, str]:
    """The keys of "Restore testing inferred metadata" for EBS, with the volume's values."""
    return _present({
        "availabilityZone": volume.zone.name,
        "volumeType": volume.volume_type,
        "volumeSize": str(volume.size),
        "iops": str(volume.iops) if volume.iops else None,
        "encrypted": _flag(volume.encrypted),
        "kmsKeyId": key,
    })


def rds(db: Any, key: str | None) -> dict[str, str]:
    """RestoreDBInstanceFromDBSnapshot's parameter names, with the instance's values."""
    subnet_group = getattr(db, "db_subnet_group", None)
    return _present({
        "DBInstanceIdentifier": db.db_instance_identifier,
        "DBInstanceClass": db.db_instance_class,
        "Engine": db.engine,
        "Port": str(db.port),
        "MultiAZ": _flag(db.multi_az),
        "StorageType": db.storage_type,
        "AvailabilityZone": db.availability_zone,
        "DBSubnetGroupName": subnet_group.name if subnet_group else None,
        "VpcSecurityGroupIds": json.dumps(list(db.vpc_security_group_ids or [])),
        "OptionGroupName": db.option_group_name,
        "DBParameterGroupName": db.db_parameter_group_name or db.default_db_parameter_group_details()[1],
        "KmsKeyId": key,
    })


def aurora(cluster: Any, key: str | None) -> dict[str, str]:
    """RestoreDBClusterFromSnapshot's parameter names, with the cluster's values;
    AvailabilityZones is a JSON array in a string."""
    return _present({
        "DBClusterIdentifier": cluster.db_cluster_identifier,
        "Engine": cluster.engine,
        "EngineVersion": cluster.engine_version,
        "EngineMode": cluster.engine_mode,
        "Port": str(cluster.port),
        "AvailabilityZones": json.dumps(list(cluster.availability_zones or [])),
        "DBSubnetGroupName": cluster.db_subnet_group_name,
        "VpcSecurityGroupIds": json.dumps(list(cluster.vpc_security_group_ids or [])) if cluster.vpc_security_group_ids else None,
        "DBClusterParameterGroupName": cluster.parameter_group,
        "KmsKeyId": key,
    })


def efs(fs: Any, key: str | None, creation_token: str) -> dict[str, str]:
    """The keys StartRestoreJob documents for EFS. The CreationToken is one of the backup's
    own (AWS's value is not documented), so restoring the same metadata twice fails as EFS
    refuses a token in use."""
    return _present({
        "file-system-id": fs.file_system_id,
        "Encrypted": _flag(fs.encrypted),
        "KmsKeyId": key,
        "PerformanceMode": fs.performance_mode,
        "CreationToken": creation_token,
        "newFileSystem": "true",
    })


# ---- what a restore may name in its Region ------------------------------------------------


def zones(account: str, region: str) -> list[str]:
    return [z.name for z in ec2_backends[account][region].describe_availability_zones()]


def ebs_zone(metadata: dict[str, str], account: str, region: str) -> str:
    """CreateVolume in an Availability Zone of the Region; EC2's answer otherwise."""
    here = zones(account, region)
    zone = meta(metadata, "availabilityZone") or here[0]
    if zone not in here:
        raise KindError(f"InvalidZone.NotFound: The zone '{zone}' does not exist.")
    return zone


def rds_zone(metadata: dict[str, str], account: str, region: str) -> str:
    """The instance's Availability Zone: the metadata's, which must be the Region's; else one
    the Region chooses (RestoreDBInstanceFromDBSnapshot: "a random, system-chosen
    Availability Zone"). The wording of the refusal is the local AWS's."""
    here = zones(account, region)
    zone = meta(metadata, "AvailabilityZone") or here[0]
    if zone not in here:
        raise KindError(f"InvalidParameterValue: Availability Zone {zone} is not an Availability Zone of {region}")
    return zone


def aurora_zones(metadata: dict[str, str], account: str, region: str) -> list[str]:
    """The cluster's Availability Zones: the metadata's (all of them the Region's), else the
    Region's first three; RDS's answer otherwise."""
    here = zones(account, region)
    wanted = json_list(metadata, "AvailabilityZones", "Availability Zones") or here[:3]
    if any(zone not in here for zone in wanted):
        listed = ", ".join(wanted)
        if len(wanted) == 1:
            raise KindError(f"InvalidVPCNetworkStateFault: Availability zone '[{listed}]' is unavailable in this region, please choose another zone set.")
        raise KindError(f"InvalidVPCNetworkStateFault: Availability zones '[{listed}]' are unavailable in this region, please choose another zone set.")
    return wanted


def region_key(metadata: dict[str, str], name: str, account: str, region: str, code: str = "") -> str | None:
    """The ARN of the key the metadata names (ID, ARN, alias or alias ARN), which must be a key
    of this Region; None when it names none. `code` prefixes the service's error code."""
    value = meta(metadata, name)
    if not value:
        return None
    try:
        return encryption.key_arn(account, region, value)
    except KindError as err:
        raise KindError(f"{code}: {err}" if code else str(err)) from None


def security_groups(metadata: dict[str, str], account: str, region: str) -> list[str] | None:
    """VpcSecurityGroupIds; a group the Region does not have fails the restore."""
    groups = json_list(metadata, "VpcSecurityGroupIds", "security group ids")
    if groups is None:
        return None
    ec2 = ec2_backends[account][region]
    for group in groups:
        if ec2.get_security_group_from_id(group) is None:
            raise KindError(f"InvalidGroup.NotFound: The security group '{group}' does not exist")
    return groups


def subnet_group(metadata: dict[str, str], rds: RDSBackend) -> str | None:
    """DBSubnetGroupName, which must exist in the Region; `default` (the default VPC's group,
    moto's placeholder name) always does, and is returned as None (moto's default)."""
    name = meta(metadata, "DBSubnetGroupName")
    if not name or name == "default":
        return None
    if name not in rds.subnet_groups:
        raise KindError(f"DBSubnetGroupNotFoundFault: DB subnet group '{name}' does not exist")
    return name


def option_group(metadata: dict[str, str], engine: str, rds: RDSBackend) -> str | None:
    """OptionGroupName: an option group of the Region, returned; or a default option group
    (`default:<engine>-<version>`, which RDS has in every Region), returned as None (moto
    then gives the engine's default). Absent: None."""
    name = meta(metadata, "OptionGroupName")
    if not name or name.lower().startswith(f"default:{engine.lower()}-"):
        return None
    if name not in rds.option_groups:
        raise KindError(f"OptionGroupNotFoundFault: Specified OptionGroupName: {name} not found.")
    return name


def parameter_group(metadata: dict[str, str], engine: str, rds: RDSBackend) -> str | None:
    """DBParameterGroupName: one of the Region's, or a default group `default.<family>` of the
    engine (every Region has them); None when absent."""
    name = meta(metadata, "DBParameterGroupName")
    if not name:
        return None
    if not name.lower().startswith(f"default.{engine.lower()}") and name not in rds.db_parameter_groups:
        raise KindError(f"DBParameterGroupNotFound: DBParameterGroup not found: {name}")
    return name


def cluster_parameter_group(metadata: dict[str, str], rds: RDSBackend) -> str | None:
    """DBClusterParameterGroupName: one of the Region's, or a default group (`default.`...);
    None when absent."""
    name = meta(metadata, "DBClusterParameterGroupName")
    if not name:
        return None
    if not name.lower().startswith("default.") and name not in rds.db_cluster_parameter_groups:
        raise KindError(f"DBClusterParameterGroupNotFound: DBClusterParameterGroup not found: {name}")
    return name
