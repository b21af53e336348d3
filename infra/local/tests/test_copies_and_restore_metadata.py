"""Copies of EBS volumes, RDS DB instances, Aurora clusters and EFS file systems to a vault of
another Region are encrypted with that vault's key; their restore metadata still names the
source Region's zone, key and groups, which a restore in the destination refuses, while
region-local values restore there (FIDELITY.md, "AWS Backup: copies, encryption and restore
metadata")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import ACCOUNT, ROLE, administrator, organization, unique, wait

SOURCE, DR = "eu-west-3", "eu-west-2"  # Regions no other test backs up in


@dataclass
class Vaults:
    source_key: str
    dr_key: str
    other_dr_key: str  # a second key of the destination Region, named by its alias
    other_dr_alias: str
    vault: str
    dr_vault: str
    dr_vault_arn: str


@pytest.fixture
def vaults(aws: Any) -> Vaults:
    source_key = aws("kms", SOURCE).create_key()["KeyMetadata"]["Arn"]
    dr_kms = aws("kms", DR)
    dr_key = dr_kms.create_key()["KeyMetadata"]["Arn"]
    other = dr_kms.create_key()["KeyMetadata"]["Arn"]
    alias = f"alias/{unique('restores')}"
    dr_kms.create_alias(AliasName=alias, TargetKeyId=other)
    vault, dr_vault = unique("primary"), unique("dr")
    aws("backup", SOURCE).create_backup_vault(BackupVaultName=vault, EncryptionKeyArn=source_key)
    dr_arn = aws("backup", DR).create_backup_vault(BackupVaultName=dr_vault, EncryptionKeyArn=dr_key)["BackupVaultArn"]
    return Vaults(source_key, dr_key, other, alias, vault, dr_vault, dr_arn)


def _backed_up(aws: Any, vault: str, resource_arn: str) -> str:
    backup = aws("backup", SOURCE)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=resource_arn, IamRoleArn=ROLE)
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
    return job["RecoveryPointArn"]


def _copied(aws: Any, vault: str, rp_arn: str, destination_arn: str) -> dict[str, Any]:
    backup = aws("backup", SOURCE)
    copy = backup.start_copy_job(
        RecoveryPointArn=rp_arn, SourceBackupVaultName=vault, DestinationBackupVaultArn=destination_arn, IamRoleArn=ROLE
    )
    wait(lambda: backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"], "State")
    return backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"]


def _restored(aws: Any, region: str, rp_arn: str, metadata: dict[str, str]) -> dict[str, Any]:
    backup = aws("backup", region)
    job = backup.start_restore_job(RecoveryPointArn=rp_arn, Metadata=metadata, IamRoleArn=ROLE)
    wait(lambda: backup.describe_restore_job(RestoreJobId=job["RestoreJobId"]), "Status")
    return backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])


def _copy_in_dr(aws: Any, v: Vaults, rp_arn: str) -> tuple[str, dict[str, str]]:
    """The copy's ARN and restore metadata; it reports the destination vault's key."""
    copied = _copied(aws, v.vault, rp_arn, v.dr_vault_arn)
    assert copied["State"] == "COMPLETED", copied.get("StatusMessage")
    assert copied["DestinationEncryptionKeyArn"] == v.dr_key
    dr = aws("backup", DR)
    point = dr.describe_recovery_point(BackupVaultName=v.dr_vault, RecoveryPointArn=copied["DestinationRecoveryPointArn"])
    assert (point["IsEncrypted"], point["EncryptionKeyArn"], point["EncryptionKeyType"]) == (True, v.dr_key, "CUSTOMER_MANAGED_KMS_KEY")
    metadata = dr.get_recovery_point_restore_metadata(BackupVaultName=v.dr_vault, RecoveryPointArn=point["RecoveryPointArn"])
    return point["RecoveryPointArn"], metadata["RestoreMetadata"]


def _fails(aws: Any, rp_arn: str, metadata: dict[str, str], *words: str) -> None:
    done = _restored(aws, DR, rp_arn, metadata)
    assert done["Status"] == "FAILED", done
    assert all(w in done["StatusMessage"] for w in words), done["StatusMessage"]


def _completes(aws: Any, rp_arn: str, metadata: dict[str, str]) -> str:
    done = _restored(aws, DR, rp_arn, metadata)
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    return done["CreatedResourceArn"]


def test_an_ebs_copy_is_the_destination_vaults_and_restores_only_with_that_regions_zone_and_key(aws: Any, vaults: Vaults) -> None:
    v = vaults
    volume = aws("ec2", SOURCE).create_volume(
        AvailabilityZone=f"{SOURCE}b", Size=16, VolumeType="gp3", Encrypted=True, KmsKeyId=v.source_key
    )
    rp_arn = _backed_up(aws, v.vault, f"arn:aws:ec2:{SOURCE}:{ACCOUNT}:volume/{volume['VolumeId']}")
    point = aws("backup", SOURCE).describe_recovery_point(BackupVaultName=v.vault, RecoveryPointArn=rp_arn)
    assert point["EncryptionKeyArn"] == v.source_key  # an EBS snapshot keeps its volume's key

    dr_arn, metadata = _copy_in_dr(aws, v, rp_arn)
    snapshot = aws("ec2", DR).describe_snapshots(SnapshotIds=[dr_arn.split("/")[-1]])["Snapshots"][0]
    assert (snapshot["Encrypted"], snapshot["KmsKeyId"]) == (True, v.dr_key)
    assert metadata["availabilityZone"] == f"{SOURCE}b" and metadata["kmsKeyId"] == v.source_key
    assert (metadata["encrypted"], metadata["volumeType"], metadata["volumeSize"]) == ("true", "gp3", "16")

    _fails(aws, dr_arn, metadata, "InvalidZone.NotFound", f"{SOURCE}b")
    _fails(aws, dr_arn, {**metadata, "availabilityZone": f"{DR}b"}, v.source_key, "does not exist")
    local = {k: v_ for k, v_ in metadata.items() if k != "kmsKeyId"}
    ec2 = aws("ec2", DR)
    restored = ec2.describe_volumes(VolumeIds=[_completes(aws, dr_arn, {**local, "availabilityZone": f"{DR}b"}).split("/")[-1]])
    assert (restored["Volumes"][0]["AvailabilityZone"], restored["Volumes"][0]["KmsKeyId"]) == (f"{DR}b", v.dr_key)
    chosen = _completes(aws, dr_arn, {**local, "availabilityZone": f"{DR}a", "KMSKEYID": v.other_dr_alias})
    assert ec2.describe_volumes(VolumeIds=[chosen.split("/")[-1]])["Volumes"][0]["KmsKeyId"] == v.other_dr_key


def test_an_rds_copy_restores_only_with_that_regions_zone_key_and_groups(aws: Any, vaults: Vaults) -> None:
    v = vaults
    rds = aws("rds", SOURCE)
    options, parameters = unique("options"), unique("parameters")
    rds.create_option_group(OptionGroupName=options, EngineName="postgres", MajorEngineVersion="13", OptionGroupDescription="app")
    rds.create_db_parameter_group(DBParameterGroupName=parameters, DBParameterGroupFamily="postgres13", Description="app")
    db = rds.create_db_instance(
        DBInstanceIdentifier=unique("db"), DBInstanceClass="db.t3.micro", Engine="postgres", EngineVersion="13.4",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123", AvailabilityZone=f"{SOURCE}b",
        StorageEncrypted=True, KmsKeyId=v.source_key, OptionGroupName=options, DBParameterGroupName=parameters,
    )["DBInstance"]
    rp_arn = _backed_up(aws, v.vault, db["DBInstanceArn"])
    dr_arn, metadata = _copy_in_dr(aws, v, rp_arn)
    snapshot_id = dr_arn.split(":snapshot:")[1]
    dr_rds = aws("rds", DR)
    assert dr_rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id, SnapshotType="awsbackup")["DBSnapshots"][0]["KmsKeyId"] == v.dr_key
    source_groups = json.loads(metadata["VpcSecurityGroupIds"])
    assert metadata["AvailabilityZone"] == f"{SOURCE}b" and metadata["KmsKeyId"] == v.source_key
    assert (metadata["OptionGroupName"], metadata["DBParameterGroupName"]) == (options, parameters)
    assert (metadata["DBInstanceClass"], metadata["Engine"], metadata["MultiAZ"]) == ("db.t3.micro", "postgres", "false")
    assert source_groups == [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]]

    ec2 = aws("ec2", DR)
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    dr_group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [default_vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    local = {
        **metadata, "AvailabilityZone": f"{DR}c", "KmsKeyId": v.dr_key, "VpcSecurityGroupIds": json.dumps([dr_group]),
        "OptionGroupName": "default:postgres-13", "DBParameterGroupName": "default.postgres13",
    }
    _fails(aws, dr_arn, {**metadata, "DBInstanceIdentifier": unique("same")})
    for key, value, words in (
        ("AvailabilityZone", f"{SOURCE}b", (f"{SOURCE}b",)),
        ("KmsKeyId", v.source_key, ("KMSKeyNotAccessibleFault", v.source_key)),
        ("VpcSecurityGroupIds", json.dumps(source_groups), ("InvalidGroup.NotFound", source_groups[0])),
        ("OptionGroupName", options, ("OptionGroupNotFoundFault", options)),
        ("DBParameterGroupName", parameters, ("DBParameterGroupNotFound", parameters)),
    ):
        _fails(aws, dr_arn, {**local, key: value, "DBInstanceIdentifier": unique("bad")}, *words)

    restored = _completes(aws, dr_arn, {**local, "DBInstanceIdentifier": unique("restored")}).split(":")[-1]
    described = dr_rds.describe_db_instances(DBInstanceIdentifier=restored)["DBInstances"][0]
    assert (described["AvailabilityZone"], described["StorageEncrypted"], described["KmsKeyId"]) == (f"{DR}c", True, v.dr_key)
    assert described["OptionGroupMemberships"][0]["OptionGroupName"].startswith("default:postgres-13")  # moto: -13-4

    dr_rds.create_option_group(OptionGroupName=options, EngineName="postgres", MajorEngineVersion="13", OptionGroupDescription="app")
    dr_rds.create_db_parameter_group(DBParameterGroupName=parameters, DBParameterGroupFamily="postgres13", Description="app")
    same_names = {**local, "OptionGroupName": options, "DBParameterGroupName": parameters, "DBInstanceIdentifier": unique("named")}
    described = dr_rds.describe_db_instances(DBInstanceIdentifier=_completes(aws, dr_arn, same_names).split(":")[-1])["DBInstances"][0]
    assert described["OptionGroupMemberships"][0]["OptionGroupName"] == options
    assert described["DBParameterGroups"][0]["DBParameterGroupName"] == parameters
    assert described["MultiAZ"] is False, "the metadata's MultiAZ, the source's"
    for multi_az in (True, False):
        asked = {**local, "MultiAZ": str(multi_az).lower(), "DBInstanceIdentifier": unique("az")}
        restored = _completes(aws, dr_arn, asked).split(":")[-1]
        described = dr_rds.describe_db_instances(DBInstanceIdentifier=restored)["DBInstances"][0]
        assert described["MultiAZ"] is multi_az, "RestoreDBInstanceFromDBSnapshot's MultiAZ, honoured"


def test_an_aurora_copy_restores_only_with_that_regions_zones_key_and_group_and_without_instances(aws: Any, vaults: Vaults) -> None:
    v = vaults
    rds = aws("rds", SOURCE)
    parameters = unique("cluster-parameters")
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=parameters, DBParameterGroupFamily="aurora-postgresql12", Description="app"
    )
    cluster = rds.create_db_cluster(
        DBClusterIdentifier=unique("cluster"), Engine="aurora-postgresql", MasterUsername="admin",
        MasterUserPassword="password123", AvailabilityZones=[f"{SOURCE}a", f"{SOURCE}b"],
        StorageEncrypted=True, KmsKeyId=v.source_key, DBClusterParameterGroupName=parameters,
    )["DBCluster"]
    rp_arn = _backed_up(aws, v.vault, cluster["DBClusterArn"])
    dr_arn, metadata = _copy_in_dr(aws, v, rp_arn)
    dr_rds = aws("rds", DR)
    snapshot = dr_rds.describe_db_cluster_snapshots(
        DBClusterSnapshotIdentifier=dr_arn.split(":cluster-snapshot:")[1], SnapshotType="awsbackup"
    )
    assert snapshot["DBClusterSnapshots"][0]["KmsKeyId"] == v.dr_key
    assert json.loads(metadata["AvailabilityZones"]) == [f"{SOURCE}a", f"{SOURCE}b"]
    assert (metadata["KmsKeyId"], metadata["DBClusterParameterGroupName"]) == (v.source_key, parameters)
    assert (metadata["Engine"], metadata["EngineVersion"]) == ("aurora-postgresql", cluster["EngineVersion"])

    local = {**metadata, "AvailabilityZones": json.dumps([f"{DR}a", f"{DR}b"]), "DBClusterParameterGroupName": "default.aurora-postgresql12"}
    del local["KmsKeyId"]
    _fails(aws, dr_arn, {**metadata, "DBClusterIdentifier": unique("same")})
    for key, value, words in (
        ("AvailabilityZones", metadata["AvailabilityZones"], ("InvalidVPCNetworkStateFault", f"{SOURCE}a, {SOURCE}b")),
        ("KmsKeyId", v.source_key, ("KMSKeyNotAccessibleFault", v.source_key)),
        ("DBClusterParameterGroupName", parameters, ("DBClusterParameterGroupNotFound", parameters)),
    ):
        _fails(aws, dr_arn, {**local, key: value, "DBClusterIdentifier": unique("bad")}, *words)

    restored = _completes(aws, dr_arn, {**local, "DBClusterIdentifier": unique("restored")}).split(":")[-1]
    described = dr_rds.describe_db_clusters(DBClusterIdentifier=restored)["DBClusters"][0]
    assert (described["KmsKeyId"], described["AvailabilityZones"]) == (v.dr_key, [f"{DR}a", f"{DR}b"])
    assert described["DBClusterMembers"] == []  # AWS Backup restores the cluster, not its instances

    dr_rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=parameters, DBParameterGroupFamily="aurora-postgresql12", Description="app"
    )
    chosen = {**local, "KmsKeyId": v.other_dr_alias, "DBClusterParameterGroupName": parameters, "DBClusterIdentifier": unique("chosen")}
    described = dr_rds.describe_db_clusters(DBClusterIdentifier=_completes(aws, dr_arn, chosen).split(":")[-1])["DBClusters"][0]
    assert (described["KmsKeyId"], described["DBClusterParameterGroup"]) == (v.other_dr_key, parameters)


def test_an_efs_copy_restores_with_a_key_of_that_region(aws: Any, vaults: Vaults) -> None:
    v = vaults
    fs = aws("efs", SOURCE).create_file_system(
        CreationToken=unique("share"), PerformanceMode="maxIO", Encrypted=True, KmsKeyId=v.source_key
    )
    rp_arn = _backed_up(aws, v.vault, fs["FileSystemArn"])
    point = aws("backup", SOURCE).describe_recovery_point(BackupVaultName=v.vault, RecoveryPointArn=rp_arn)
    assert point["EncryptionKeyArn"] == v.source_key  # EFS backups take the vault's key, here the same one
    dr_arn, metadata = _copy_in_dr(aws, v, rp_arn)
    assert (metadata["file-system-id"], metadata["KmsKeyId"], metadata["Encrypted"]) == (fs["FileSystemId"], v.source_key, "true")
    assert (metadata["PerformanceMode"], metadata["newFileSystem"]) == ("maxIO", "true") and metadata["CreationToken"]

    _fails(aws, dr_arn, metadata, v.source_key, "does not exist")
    efs = aws("efs", DR)
    local = {k: v_ for k, v_ in metadata.items() if k != "KmsKeyId"}
    default_key = aws("kms", DR).describe_key(KeyId="alias/aws/elasticfilesystem")["KeyMetadata"]["Arn"]
    restored = efs.describe_file_systems(FileSystemId=_completes(aws, dr_arn, local).split("/")[-1])["FileSystems"][0]
    assert (restored["Encrypted"], restored["KmsKeyId"], restored["PerformanceMode"]) == (True, default_key, "maxIO")
    _fails(aws, dr_arn, local, "FileSystemAlreadyExists")  # the same CreationToken again
    chosen = _completes(aws, dr_arn, {**local, "CreationToken": unique("chosen"), "KmsKeyId": v.other_dr_alias})
    assert efs.describe_file_systems(FileSystemId=chosen.split("/")[-1])["FileSystems"][0]["KmsKeyId"] == v.other_dr_key


def test_which_key_a_copy_gets(aws: Any, vaults: Vaults) -> None:
    """Across Regions the destination vault's key, for an unencrypted EBS source too; an
    unencrypted Aurora cluster stays so; a keyless vault gives the Region's aws/ebs key; within
    the Region the source's key stays."""
    v = vaults
    plain = aws("ec2", SOURCE).create_volume(AvailabilityZone=f"{SOURCE}a", Size=8)
    plain_rp = _backed_up(aws, v.vault, f"arn:aws:ec2:{SOURCE}:{ACCOUNT}:volume/{plain['VolumeId']}")
    assert _copied(aws, v.vault, plain_rp, v.dr_vault_arn)["DestinationEncryptionKeyArn"] == v.dr_key

    cluster = aws("rds", SOURCE).create_db_cluster(
        DBClusterIdentifier=unique("plain"), Engine="aurora-postgresql", MasterUsername="admin", MasterUserPassword="password123"
    )["DBCluster"]
    cluster_copy = _copied(aws, v.vault, _backed_up(aws, v.vault, cluster["DBClusterArn"]), v.dr_vault_arn)
    assert cluster_copy["State"] == "COMPLETED" and "DestinationEncryptionKeyArn" not in cluster_copy

    keyed = aws("ec2", SOURCE).create_volume(AvailabilityZone=f"{SOURCE}a", Size=8, Encrypted=True, KmsKeyId=v.source_key)
    keyed_rp = _backed_up(aws, v.vault, f"arn:aws:ec2:{SOURCE}:{ACCOUNT}:volume/{keyed['VolumeId']}")
    keyless = aws("backup", DR).create_backup_vault(BackupVaultName=unique("keyless"))["BackupVaultArn"]
    ebs_key = aws("kms", DR).describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]
    assert _copied(aws, v.vault, keyed_rp, keyless)["DestinationEncryptionKeyArn"] == ebs_key
    here_key = aws("kms", SOURCE).create_key()["KeyMetadata"]["Arn"]
    here = aws("backup", SOURCE).create_backup_vault(BackupVaultName=unique("here"), EncryptionKeyArn=here_key)["BackupVaultArn"]
    assert _copied(aws, v.vault, keyed_rp, here)["DestinationEncryptionKeyArn"] == v.source_key


def test_a_cross_account_copy_of_a_snapshot_under_an_aws_managed_key_fails(aws: Any) -> None:
    """"Cross-account copy with AWS managed keys isn't supported for resources that aren't fully
    managed by AWS Backup"; a customer managed key copies. (Within one organization, into a
    vault open to it: test_cross_account_copies.py.)"""
    org_id, management, member = organization(aws)
    source, other = administrator(aws, management), administrator(aws, member)
    role = f"arn:aws:iam::{management}:role/backup"
    source_key = aws("kms", SOURCE, source).create_key()["KeyMetadata"]["Arn"]
    vault = unique("primary")
    aws("backup", SOURCE, source).create_backup_vault(BackupVaultName=vault, EncryptionKeyArn=source_key)
    other_key = aws("kms", DR, other).create_key()["KeyMetadata"]["Arn"]
    name = unique("central")
    central = aws("backup", DR, other).create_backup_vault(BackupVaultName=name, EncryptionKeyArn=other_key)["BackupVaultArn"]
    aws("backup", DR, other).put_backup_vault_access_policy(
        BackupVaultName=name,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "backup:CopyIntoBackupVault", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
        }]}),
    )
    backup = aws("backup", SOURCE, source)

    def backed_up(volume: dict[str, Any]) -> str:
        arn = f"arn:aws:ec2:{SOURCE}:{management}:volume/{volume['VolumeId']}"
        job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=role)
        assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
        return job["RecoveryPointArn"]

    def copied(point: str) -> dict[str, Any]:
        job = backup.start_copy_job(
            RecoveryPointArn=point, SourceBackupVaultName=vault, DestinationBackupVaultArn=central, IamRoleArn=role
        )
        wait(lambda: backup.describe_copy_job(CopyJobId=job["CopyJobId"])["CopyJob"], "State")
        return backup.describe_copy_job(CopyJobId=job["CopyJobId"])["CopyJob"]

    ec2 = aws("ec2", SOURCE, source)
    managed = ec2.create_volume(AvailabilityZone=f"{SOURCE}a", Size=8, Encrypted=True)  # aws/ebs
    refused = copied(backed_up(managed))
    assert (refused["State"], refused["StatusMessage"]) == ("FAILED", "Given key ID is not accessible")

    keyed = ec2.create_volume(AvailabilityZone=f"{SOURCE}a", Size=8, Encrypted=True, KmsKeyId=source_key)
    done = copied(backed_up(keyed))
    assert (done["State"], done["DestinationEncryptionKeyArn"]) == ("COMPLETED", other_key)


def test_a_snapshot_whose_option_group_has_options_needs_that_group_in_the_destination(aws: Any, vaults: Vaults) -> None:
    v = vaults
    rds = aws("rds", SOURCE)
    options = unique("timezone")
    rds.create_option_group(OptionGroupName=options, EngineName="postgres", MajorEngineVersion="13", OptionGroupDescription="tz")
    rds.modify_option_group(OptionGroupName=options, OptionsToInclude=[{"OptionName": "Timezone"}], ApplyImmediately=True)
    db = rds.create_db_instance(
        DBInstanceIdentifier=unique("db"), DBInstanceClass="db.t3.micro", Engine="postgres", EngineVersion="13.4",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123", OptionGroupName=options,
    )["DBInstance"]
    rp_arn = _backed_up(aws, v.vault, db["DBInstanceArn"])
    refused = _copied(aws, v.vault, rp_arn, v.dr_vault_arn)
    assert refused["State"] == "FAILED"
    assert refused["StatusMessage"] == "InvalidParameterValue: The snapshot requires a target option group with the following options: [Timezone]"
    aws("rds", DR).create_option_group(OptionGroupName=options, EngineName="postgres", MajorEngineVersion="13", OptionGroupDescription="tz")
    assert _copied(aws, v.vault, rp_arn, v.dr_vault_arn)["State"] == "COMPLETED"
