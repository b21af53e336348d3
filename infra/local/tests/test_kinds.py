"""Backup -> copy to another region -> restore there, for each of the six kinds, with the
restored data checked against the original; and a database restored into the network its
restore metadata names."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import ACCOUNT, ROLE, unique, wait

SOURCE, DR = "us-east-1", "us-west-2"


class DynamoDB:
    def make(self, aws: Any, region: str) -> tuple[str, Any]:
        ddb = aws("dynamodb", region)
        name = unique("orders")
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        items = [{"pk": {"S": f"k{i}"}, "n": {"N": str(i)}, "b": {"B": bytes([i, 0, 255])}} for i in range(25)]
        for item in items:
            ddb.put_item(TableName=name, Item=item)
        return ddb.describe_table(TableName=name)["Table"]["TableArn"], items

    def metadata(self, suffix: str) -> dict[str, str]:
        return {"targetTableName": unique(f"restored-{suffix}")}

    def created_arn_pattern(self, region: str) -> str:
        return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/"

    def rp_arn_prefix(self, region: str) -> str:
        # advanced DynamoDB backup, on for a new account: AWS Backup's own recovery point
        return f"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:"

    def verify(self, aws: Any, region: str, created_arn: str, items: Any) -> None:
        name = created_arn.split("/")[-1]
        scanned = aws("dynamodb", region).scan(TableName=name)["Items"]
        assert sorted(scanned, key=lambda i: i["pk"]["S"]) == sorted(items, key=lambda i: i["pk"]["S"])


class S3:
    def make(self, aws: Any, region: str) -> tuple[str, Any]:
        s3 = aws("s3", region)
        name = unique("reports")
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        objects = {f"dir/obj-{i}.bin": bytes(range(i, i + 200)) for i in range(5)}
        for key, body in objects.items():
            s3.put_object(Bucket=name, Key=key, Body=body, Metadata={"owner": "team-a"}, ContentType="application/x-test")
        return f"arn:aws:s3:::{name}", objects

    def metadata(self, suffix: str) -> dict[str, str]:
        return {"DestinationBucketName": unique(f"restored-{suffix}"), "NewBucket": "true"}

    def created_arn_pattern(self, region: str) -> str:
        return "arn:aws:s3:::restored-"

    def rp_arn_prefix(self, region: str) -> str:
        return f"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:"

    def verify(self, aws: Any, region: str, created_arn: str, objects: Any) -> None:
        s3 = aws("s3", region)
        bucket = created_arn.split(":::")[1]
        assert (s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] or "us-east-1") == region
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert sorted(keys) == sorted(objects)
        for key, body in objects.items():
            got = s3.get_object(Bucket=bucket, Key=key)
            assert got["Body"].read() == body
            assert got["Metadata"] == {"owner": "team-a"}
            assert got["ContentType"] == "application/x-test"


class RDS:
    def make(self, aws: Any, region: str) -> tuple[str, Any]:
        rds = aws("rds", region)
        name = unique("db")
        db = rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password123",
        )["DBInstance"]
        return db["DBInstanceArn"], {"Engine": "postgres", "AllocatedStorage": 20}

    def metadata(self, suffix: str) -> dict[str, str]:
        return {"DBInstanceIdentifier": unique(f"restored-{suffix}")}

    def created_arn_pattern(self, region: str) -> str:
        return f"arn:aws:rds:{region}:{ACCOUNT}:db:restored-"

    def rp_arn_prefix(self, region: str) -> str:
        return f"arn:aws:rds:{region}:{ACCOUNT}:snapshot:awsbackup:"

    def verify(self, aws: Any, region: str, created_arn: str, expected: Any) -> None:
        db = aws("rds", region).describe_db_instances(DBInstanceIdentifier=created_arn.split(":")[-1])["DBInstances"][0]
        assert db["DBInstanceStatus"] == "available"
        assert db["Engine"] == expected["Engine"]
        assert db["AllocatedStorage"] == expected["AllocatedStorage"]


class Aurora:
    def make(self, aws: Any, region: str) -> tuple[str, Any]:
        rds = aws("rds", region)
        name = unique("cluster")
        cluster = rds.create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            MasterUsername="admin",
            MasterUserPassword="password123",
            DatabaseName="app",
        )["DBCluster"]
        return cluster["DBClusterArn"], {"Engine": "aurora-postgresql", "DatabaseName": "app"}

    def metadata(self, suffix: str) -> dict[str, str]:
        return {"DBClusterIdentifier": unique(f"restored-{suffix}")}

    def created_arn_pattern(self, region: str) -> str:
        return f"arn:aws:rds:{region}:{ACCOUNT}:cluster:restored-"

    def rp_arn_prefix(self, region: str) -> str:
        return f"arn:aws:rds:{region}:{ACCOUNT}:cluster-snapshot:awsbackup:"

    def verify(self, aws: Any, region: str, created_arn: str, expected: Any) -> None:
        rds = aws("rds", region)
        identifier = created_arn.split(":")[-1]
        rds.describe_db_clusters(DBClusterIdentifier=identifier)  # moto answers "creating" once
        cluster = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
        assert cluster["Status"] == "available"
        assert cluster["Engine"] == expected["Engine"]
        assert cluster["DatabaseName"] == expected["DatabaseName"]
        assert all(az.startswith(region) for az in cluster["AvailabilityZones"])


class EBS:
    def make(self, aws: Any, region: str) -> tuple[str, Any]:
        ec2 = aws("ec2", region)
        volume = ec2.create_volume(AvailabilityZone=f"{region}b", Size=42, VolumeType="gp3")
        return f"arn:aws:ec2:{region}:{ACCOUNT}:volume/{volume['VolumeId']}", {"Size": 42, "VolumeType": "gp3"}

    def metadata(self, suffix: str) -> dict[str, str]:
        return {}

    def created_arn_pattern(self, region: str) -> str:
        return f"arn:aws:ec2:{region}:{ACCOUNT}:volume/vol-"

    def rp_arn_prefix(self, region: str) -> str:
        return f"arn:aws:ec2:{region}::snapshot/snap-"

    def verify(self, aws: Any, region: str, created_arn: str, expected: Any) -> None:
        ec2 = aws("ec2", region)
        volume = ec2.describe_volumes(VolumeIds=[created_arn.split("/")[-1]])["Volumes"][0]
        assert volume["Size"] == expected["Size"]
        assert volume["VolumeType"] == expected["VolumeType"]
        assert volume["AvailabilityZone"].startswith(region)
        snapshot = ec2.describe_snapshots(SnapshotIds=[volume["SnapshotId"]])["Snapshots"][0]
        assert snapshot["State"] == "completed"


class EFS:
    def make(self, aws: Any, region: str) -> tuple[str, Any]:
        efs = aws("efs", region)
        fs = efs.create_file_system(CreationToken=unique("fs"), PerformanceMode="maxIO", Tags=[{"Key": "Name", "Value": "share"}])
        return fs["FileSystemArn"], {"PerformanceMode": "maxIO"}

    def metadata(self, suffix: str) -> dict[str, str]:
        return {"newFileSystem": "true", "CreationToken": unique(f"restored-{suffix}")}

    def created_arn_pattern(self, region: str) -> str:
        return f"arn:aws:elasticfilesystem:{region}:{ACCOUNT}:file-system/fs-"

    def rp_arn_prefix(self, region: str) -> str:
        return f"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:"

    def verify(self, aws: Any, region: str, created_arn: str, expected: Any) -> None:
        fs_id = created_arn.split("/")[-1]
        fs = aws("efs", region).describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
        assert fs["PerformanceMode"] == expected["PerformanceMode"]
        assert fs["LifeCycleState"] == "available"


# What a copy's restore metadata names in the source's Region (its zone, key, security groups):
# a restore in another Region must replace or drop them (test_copies_and_restore_metadata.py).
SOURCE_REGION_KEYS = {"availabilityzone", "availabilityzones", "kmskeyid", "vpcsecuritygroupids"}


def region_local(metadata: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in metadata.items() if k.lower() not in SOURCE_REGION_KEYS}


KINDS = {"DynamoDB": DynamoDB(), "S3": S3(), "RDS": RDS(), "Aurora": Aurora(), "EBS": EBS(), "EFS": EFS()}


@pytest.mark.parametrize("resource_type", list(KINDS))
def test_backup_copy_to_dr_region_and_restore_there(aws: Any, resource_type: str) -> None:
    kind = KINDS[resource_type]
    backup, dr = aws("backup", SOURCE), aws("backup", DR)
    vault, dr_vault = unique("primary"), unique("dr")
    backup.create_backup_vault(BackupVaultName=vault)
    dr_vault_arn = dr.create_backup_vault(BackupVaultName=dr_vault)["BackupVaultArn"]
    resource_arn, expected = kind.make(aws, SOURCE)

    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=resource_arn, IamRoleArn=ROLE)
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
    described = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert described["ResourceType"] == resource_type
    rp_arn = described["RecoveryPointArn"]
    assert rp_arn == job["RecoveryPointArn"]
    assert rp_arn.startswith(kind.rp_arn_prefix(SOURCE))

    restored_here = backup.start_restore_job(
        RecoveryPointArn=rp_arn, Metadata=kind.metadata("here"), IamRoleArn=ROLE, ResourceType=resource_type
    )
    wait(lambda: backup.describe_restore_job(RestoreJobId=restored_here["RestoreJobId"]), "Status")
    here = backup.describe_restore_job(RestoreJobId=restored_here["RestoreJobId"])
    assert here["Status"] == "COMPLETED", here.get("StatusMessage")
    kind.verify(aws, SOURCE, here["CreatedResourceArn"], expected)

    copy = backup.start_copy_job(
        RecoveryPointArn=rp_arn, SourceBackupVaultName=vault, DestinationBackupVaultArn=dr_vault_arn, IamRoleArn=ROLE
    )
    assert wait(lambda: backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"], "State")[-1] == "COMPLETED"
    copied = backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"]
    dr_rp_arn = copied["DestinationRecoveryPointArn"]
    assert dr_rp_arn.startswith(kind.rp_arn_prefix(DR))
    assert copied["SourceRecoveryPointArn"] == rp_arn and copied["ResourceArn"] == resource_arn

    dr_rp = dr.describe_recovery_point(BackupVaultName=dr_vault, RecoveryPointArn=dr_rp_arn)
    assert dr_rp["Status"] == "COMPLETED"
    assert dr_rp["SourceBackupVaultArn"].endswith(f":backup-vault:{vault}")
    assert dr_rp["ResourceArn"] == resource_arn
    metadata = dr.get_recovery_point_restore_metadata(BackupVaultName=dr_vault, RecoveryPointArn=dr_rp_arn)
    assert metadata["ResourceType"] == resource_type

    local = {**region_local(metadata["RestoreMetadata"]), **kind.metadata("dr")}
    restore = dr.start_restore_job(RecoveryPointArn=dr_rp_arn, Metadata=local, IamRoleArn=ROLE)
    wait(lambda: dr.describe_restore_job(RestoreJobId=restore["RestoreJobId"]), "Status")
    done = dr.describe_restore_job(RestoreJobId=restore["RestoreJobId"])
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    assert done["CreatedResourceArn"].startswith(kind.created_arn_pattern(DR))
    kind.verify(aws, DR, done["CreatedResourceArn"], expected)


def _restored(backup: Any, rp_arn: str, metadata: dict[str, str]) -> dict[str, Any]:
    job = backup.start_restore_job(RecoveryPointArn=rp_arn, Metadata=metadata, IamRoleArn=ROLE)
    wait(lambda: backup.describe_restore_job(RestoreJobId=job["RestoreJobId"]), "Status")
    return backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])


@pytest.mark.parametrize("resource_type", ["RDS", "Aurora"])
def test_a_database_restores_into_the_network_the_metadata_names_without_deletion_protection(aws: Any, resource_type: str) -> None:
    kind = KINDS[resource_type]
    backup, rds, ec2 = aws("backup", SOURCE), aws("rds", SOURCE), aws("ec2", SOURCE)
    vault = unique("network")
    backup.create_backup_vault(BackupVaultName=vault)
    resource_arn, _ = kind.make(aws, SOURCE)
    name = resource_arn.split(":")[-1]
    if resource_type == "RDS":
        rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=True, ApplyImmediately=True)
    else:
        rds.modify_db_cluster(DBClusterIdentifier=name, DeletionProtection=True, ApplyImmediately=True)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=resource_arn, IamRoleArn=ROLE)
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
    rp_arn = backup.describe_backup_job(BackupJobId=job["BackupJobId"])["RecoveryPointArn"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=f"{SOURCE}{z}")["Subnet"]["SubnetId"] for n, z in ((1, "a"), (2, "b"))]
    group = unique("restores")
    rds.create_db_subnet_group(DBSubnetGroupName=group, DBSubnetGroupDescription="restores", SubnetIds=subnets)
    sg = ec2.create_security_group(GroupName=unique("db"), Description="restored databases", VpcId=vpc)["GroupId"]

    network = {"DBSubnetGroupName": group, "VpcSecurityGroupIds": json.dumps([sg])}
    done = _restored(backup, rp_arn, {**kind.metadata("net"), **network})
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    restored = done["CreatedResourceArn"].split(":")[-1]
    if resource_type == "RDS":
        db = rds.describe_db_instances(DBInstanceIdentifier=restored)["DBInstances"][0]
        assert db["DBSubnetGroup"]["DBSubnetGroupName"] == group
    else:
        db = rds.describe_db_clusters(DBClusterIdentifier=restored)["DBClusters"][0]
        assert db["DBSubnetGroup"] == group
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [sg]
    # RDS's restores leave deletion protection off unless asked: the source's is not copied.
    assert db["DeletionProtection"] is False

    for bad, why in (
        ({"VpcSecurityGroupIds": sg}, "JSON array"),
        ({"VpcSecurityGroupIds": json.dumps(["sg-0123456789abcdef0"])}, "does not exist"),
        ({"DBSubnetGroupName": "no-such-group"}, "no-such-group"),
    ):
        failed = _restored(backup, rp_arn, {**kind.metadata("bad"), **bad})
        assert failed["Status"] == "FAILED" and why in failed["StatusMessage"], failed
