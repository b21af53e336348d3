"""Recovery points encrypted with their vault's key, and continuous backup rules."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime, timezone
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROLE, unique, wait


def _run_plans(endpoint: str, region: str) -> dict[str, list[str]]:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/backup/run-plans?account={ACCOUNT}&region={region}", method="POST", data=b""
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _wait_all(backup: Any, ran: dict[str, list[str]]) -> None:
    for job_id in ran["BackupJobIds"]:
        assert wait(lambda: backup.describe_backup_job(BackupJobId=job_id), "State")[-1] == "COMPLETED"
    for job_id in ran["CopyJobIds"]:
        assert wait(lambda: backup.describe_copy_job(CopyJobId=job_id)["CopyJob"], "State")[-1] == "COMPLETED"


def _table(aws: Any, region: str) -> str:
    return aws("dynamodb", region).create_table(
        TableName=unique("orders"),
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]


def test_recovery_points_and_jobs_report_the_vault_key(aws: Any) -> None:
    region, dr_region = "ap-south-1", "ca-central-1"
    backup, dr = aws("backup", region), aws("backup", dr_region)
    key = aws("kms", region).create_key()["KeyMetadata"]["Arn"]
    dr_key = aws("kms", dr_region).create_key()["KeyMetadata"]["Arn"]
    vault, plain, dr_vault = unique("keyed"), unique("plain"), unique("dr")
    backup.create_backup_vault(BackupVaultName=vault, EncryptionKeyArn=key)
    backup.create_backup_vault(BackupVaultName=plain)
    dr_arn = dr.create_backup_vault(BackupVaultName=dr_vault, EncryptionKeyArn=dr_key)["BackupVaultArn"]
    table = _table(aws, region)

    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=table, IamRoleArn=ROLE)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    described_job = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert described_job["IsEncrypted"] is True and described_job["EncryptionKeyArn"] == key
    assert backup.list_backup_jobs(ByBackupVaultName=vault)["BackupJobs"][0]["EncryptionKeyArn"] == key

    rp = backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=job["RecoveryPointArn"])
    assert (rp["IsEncrypted"], rp["EncryptionKeyArn"], rp["EncryptionKeyType"]) == (True, key, "CUSTOMER_MANAGED_KMS_KEY")
    listed = backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"][0]
    assert (listed["IsEncrypted"], listed["EncryptionKeyArn"]) == (True, key)
    by_resource = backup.list_recovery_points_by_resource(ResourceArn=table)["RecoveryPoints"][0]
    assert (by_resource["EncryptionKeyArn"], by_resource["EncryptionKeyType"]) == (key, "CUSTOMER_MANAGED_KMS_KEY")

    copy = backup.start_copy_job(
        RecoveryPointArn=job["RecoveryPointArn"], SourceBackupVaultName=vault, DestinationBackupVaultArn=dr_arn, IamRoleArn=ROLE
    )
    wait(lambda: backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"], "State")
    copied = backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"]
    assert copied["DestinationEncryptionKeyArn"] == dr_key  # a copy takes the destination vault's key
    in_dr = dr.describe_recovery_point(BackupVaultName=dr_vault, RecoveryPointArn=copied["DestinationRecoveryPointArn"])
    assert (in_dr["IsEncrypted"], in_dr["EncryptionKeyArn"]) == (True, dr_key)

    unkeyed = backup.start_backup_job(BackupVaultName=plain, ResourceArn=table, IamRoleArn=ROLE)
    rp = backup.describe_recovery_point(BackupVaultName=plain, RecoveryPointArn=unkeyed["RecoveryPointArn"])
    assert rp["IsEncrypted"] is False and "EncryptionKeyArn" not in rp and "EncryptionKeyType" not in rp
    assert backup.describe_backup_job(BackupJobId=unkeyed["BackupJobId"])["IsEncrypted"] is False


CONTINUOUS = {
    "S3": re.compile(r"^arn:aws:backup:eu-north-1:\d{12}:recovery-point:continuous:plan-bucket-\d+-[0-9a-f]{8}$"),
    "RDS": re.compile(r"^arn:aws:backup:eu-north-1:\d{12}:recovery-point:continuous:db-[0-9a-z]+-[0-9a-f]{8}$"),
    "Aurora": re.compile(r"^arn:aws:backup:eu-north-1:\d{12}:recovery-point:continuous:cluster-[0-9a-z]+-[0-9a-f]{8}$"),
}


def test_a_continuous_rule_keeps_one_current_point_per_resource_and_copies_snapshots(aws: Any, endpoint: str) -> None:
    region, dr_region = "eu-north-1", "sa-east-1"
    backup, dr = aws("backup", region), aws("backup", dr_region)
    key = aws("kms", region).create_key()["KeyMetadata"]["Arn"]
    backup.create_backup_vault(BackupVaultName="pitr", EncryptionKeyArn=key)
    dr_arn = dr.create_backup_vault(BackupVaultName="pitr-dr")["BackupVaultArn"]

    bucket = unique("plan-bucket")
    s3 = aws("s3", region)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=bucket, Key="first", Body=b"1")
    rds = aws("rds", region)
    rds.create_db_instance(
        DBInstanceIdentifier=unique("db"), DBInstanceClass="db.t3.micro", Engine="postgres",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123",
    )
    rds.create_db_cluster(
        DBClusterIdentifier=unique("cluster"), Engine="aurora-postgresql",
        MasterUsername="admin", MasterUserPassword="password123",
    )
    table = _table(aws, region)

    plan = backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "pitr",
            "Rules": [
                {
                    "RuleName": "continuous",
                    "TargetBackupVaultName": "pitr",
                    "EnableContinuousBackup": True,
                    "Lifecycle": {"DeleteAfterDays": 90},
                    "CopyActions": [{"DestinationBackupVaultArn": dr_arn, "Lifecycle": {"DeleteAfterDays": 120}}],
                }
            ],
        }
    )
    backup.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={"SelectionName": "all", "IamRoleArn": ROLE, "Resources": ["*"]},
    )

    first = _run_plans(endpoint, region)
    assert len(first["BackupJobIds"]) == 4 and len(first["CopyJobIds"]) == 4
    _wait_all(backup, first)
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="pitr")["RecoveryPoints"]
    by_type = {p["ResourceType"]: p for p in points}
    assert len(points) == 4 and set(by_type) == {"S3", "RDS", "Aurora", "DynamoDB"}
    for resource_type, pattern in CONTINUOUS.items():
        point = by_type[resource_type]
        assert pattern.match(point["RecoveryPointArn"]), point["RecoveryPointArn"]
        assert point["Lifecycle"] == {"DeleteAfterDays": 35}  # capped at 35 days
    # S3 points take the vault's key; RDS and Aurora points the database's: unencrypted here
    assert by_type["S3"]["IsEncrypted"] and by_type["S3"]["EncryptionKeyArn"] == key
    for resource_type in ("RDS", "Aurora"):
        assert by_type[resource_type]["IsEncrypted"] is False and "EncryptionKeyArn" not in by_type[resource_type]
    snapshot = by_type["DynamoDB"]  # DynamoDB has no continuous backup through AWS Backup: a snapshot
    assert snapshot["RecoveryPointArn"].startswith(f"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:")  # advanced DynamoDB backup
    assert snapshot["Lifecycle"] == {"DeleteAfterDays": 90}

    s3.put_object(Bucket=bucket, Key="second", Body=b"2")
    protected_before = {r["ResourceArn"]: r for r in backup.list_protected_resources()["Results"]}
    time.sleep(0.05)
    second = _run_plans(endpoint, region)
    _wait_all(backup, second)

    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="pitr")["RecoveryPoints"]
    assert len(points) == 5  # the three continuous points refreshed, a second DynamoDB snapshot
    again = {p["RecoveryPointArn"]: p for p in points}
    for resource_type in CONTINUOUS:
        point = by_type[resource_type]
        assert again[point["RecoveryPointArn"]]["CreationDate"] == point["CreationDate"]
    jobs = [backup.describe_backup_job(BackupJobId=j) for j in second["BackupJobIds"]]
    assert {j["RecoveryPointArn"] for j in jobs if j["ResourceType"] in CONTINUOUS} == {
        by_type[t]["RecoveryPointArn"] for t in CONTINUOUS
    }
    protected = {r["ResourceArn"]: r for r in backup.list_protected_resources()["Results"]}
    s3_point = by_type["S3"]
    assert protected[f"arn:aws:s3:::{bucket}"]["LastRecoveryPointArn"] == s3_point["RecoveryPointArn"]
    for arn in (f"arn:aws:s3:::{bucket}", by_type["RDS"]["ResourceArn"], by_type["Aurora"]["ResourceArn"]):
        assert protected[arn]["LastBackupTime"] > protected_before[arn]["LastBackupTime"]

    # an S3 continuous point restores to a RestoreTime (required); its latest is LastBackupTime
    latest = protected[f"arn:aws:s3:::{bucket}"]["LastBackupTime"]
    restore = backup.start_restore_job(
        RecoveryPointArn=s3_point["RecoveryPointArn"],
        Metadata={
            "DestinationBucketName": unique("restored"), "NewBucket": "true",
            "RestoreTime": datetime.fromtimestamp(math.ceil(latest.timestamp()), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        IamRoleArn=ROLE,
    )
    wait(lambda: backup.describe_restore_job(RestoreJobId=restore["RestoreJobId"]), "Status")
    created = backup.describe_restore_job(RestoreJobId=restore["RestoreJobId"])["CreatedResourceArn"]
    restored = s3.list_objects_v2(Bucket=created.split(":::")[1])["Contents"]
    assert sorted(o["Key"] for o in restored) == ["first", "second"]  # the point is current

    copied = dr.list_recovery_points_by_backup_vault(BackupVaultName="pitr-dr")["RecoveryPoints"]
    assert len(copied) == 8  # every run copies a snapshot of each resource
    assert not any(":continuous:" in p["RecoveryPointArn"] for p in copied)
    assert all(p["Lifecycle"] == {"DeleteAfterDays": 120} for p in copied)
    copies = [backup.describe_copy_job(CopyJobId=c)["CopyJob"] for c in second["CopyJobIds"]]
    assert {c["SourceRecoveryPointArn"] for c in copies if c["ResourceType"] in CONTINUOUS} == {
        by_type[t]["RecoveryPointArn"] for t in CONTINUOUS
    }
    dr_s3 = [p for p in copied if p["ResourceType"] == "S3"]
    assert all(p["RecoveryPointArn"].startswith(f"arn:aws:backup:{dr_region}:{ACCOUNT}:recovery-point:") for p in dr_s3)


def test_a_continuous_point_is_neither_copied_on_demand_nor_given_a_new_lifecycle(aws: Any, endpoint: str) -> None:
    region = "eu-south-1"
    backup = aws("backup", region)
    backup.create_backup_vault(BackupVaultName="pitr")
    dest = backup.create_backup_vault(BackupVaultName="other")["BackupVaultArn"]
    bucket = unique("pitr-bucket")
    aws("s3", region).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    plan = backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "pitr",
            "Rules": [{"RuleName": "continuous", "TargetBackupVaultName": "pitr", "EnableContinuousBackup": True}],
        }
    )
    backup.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={"SelectionName": "all", "IamRoleArn": ROLE, "Resources": [f"arn:aws:s3:::{bucket}"]},
    )
    ran = _run_plans(endpoint, region)
    _wait_all(backup, ran)
    point = backup.describe_backup_job(BackupJobId=ran["BackupJobIds"][0])["RecoveryPointArn"]
    assert ":recovery-point:continuous:" in point
    assert backup.describe_recovery_point(BackupVaultName="pitr", RecoveryPointArn=point)["Lifecycle"] == {
        "DeleteAfterDays": 35
    }

    with pytest.raises(ClientError) as err:
        backup.start_copy_job(
            RecoveryPointArn=point, SourceBackupVaultName="pitr", DestinationBackupVaultArn=dest, IamRoleArn=ROLE
        )
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as err:
        backup.update_recovery_point_lifecycle(
            BackupVaultName="pitr", RecoveryPointArn=point, Lifecycle={"DeleteAfterDays": 10}
        )
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
