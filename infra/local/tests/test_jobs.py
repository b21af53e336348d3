"""Backup, restore and copy jobs: states, idempotency, filters, recovery points, vault lock
and the documented errors."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, ROLE, unique, wait


def _table(aws: Any, region: str = "us-east-1") -> str:
    ddb = aws("dynamodb", region)
    name = unique("jobs")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "one"}})
    return ddb.describe_table(TableName=name)["Table"]["TableArn"]


def _error(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def backup(aws: Any) -> Any:
    return aws("backup")


@pytest.fixture
def vault(backup: Any) -> str:
    name = unique("vault")
    backup.create_backup_vault(BackupVaultName=name)
    return name


def _backed_up(backup: Any, vault: str, arn: str, **extra: Any) -> dict[str, Any]:
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE, **extra)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    return backup.describe_backup_job(BackupJobId=job["BackupJobId"])


def test_backup_job_moves_from_created_to_running_to_completed(aws: Any, backup: Any, vault: str) -> None:
    arn = _table(aws)
    job = backup.start_backup_job(
        BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE, Lifecycle={"DeleteAfterDays": 7},
        RecoveryPointTags={"origin": "test"},
    )
    first = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert first["State"] == "CREATED"  # for the first quarter of the delay
    assert "CompletionDate" not in first
    seen = wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    assert seen[-2:] == ["RUNNING", "COMPLETED"] and set(seen) <= {"CREATED", "RUNNING", "COMPLETED"}
    done = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert done["AccountId"] == ACCOUNT
    assert done["BackupVaultArn"] == f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:{vault}"
    assert done["ResourceArn"] == arn and done["ResourceType"] == "DynamoDB"
    assert done["CompletionDate"] >= done["CreationDate"]
    assert done["PercentDone"] == "100.0"
    assert backup.list_tags(ResourceArn=done["RecoveryPointArn"])["Tags"] == {"origin": "test"}

    rp = backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=done["RecoveryPointArn"])
    assert rp["Status"] == "COMPLETED"
    assert rp["Lifecycle"] == {"DeleteAfterDays": 7}
    assert abs(rp["CalculatedLifecycle"]["DeleteAt"] - rp["CreationDate"] - timedelta(days=7)) < timedelta(milliseconds=1)


def test_backup_of_a_missing_resource_fails_with_a_reason(backup: Any, vault: str) -> None:
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/does-not-exist"
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE)
    assert "RecoveryPointArn" not in job
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "FAILED"
    failed = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert "not found" in failed["StatusMessage"]
    assert failed["MessageCategory"] == "FAILURE"
    jobs = backup.list_backup_jobs(ByState="FAILED", ByResourceArn=arn)["BackupJobs"]
    assert [j["BackupJobId"] for j in jobs] == [job["BackupJobId"]]


def test_start_backup_job_errors(backup: Any, vault: str) -> None:
    assert _error(lambda: backup.start_backup_job(BackupVaultName="no-such-vault", ResourceArn="arn:aws:s3:::b", IamRoleArn=ROLE)) == (
        "ResourceNotFoundException", 400,
    )
    assert _error(lambda: backup.start_backup_job(BackupVaultName=vault, ResourceArn="arn:aws:sqs:us-east-1:1:q", IamRoleArn=ROLE)) == (
        "InvalidParameterValueException", 400,
    )
    assert _error(lambda: backup.describe_backup_job(BackupJobId="no-such-job")) == ("ResourceNotFoundException", 400)
    assert _error(lambda: backup.describe_restore_job(RestoreJobId="no-such-job")) == ("ResourceNotFoundException", 400)
    assert _error(lambda: backup.describe_copy_job(CopyJobId="no-such-job")) == ("ResourceNotFoundException", 400)


def test_idempotency_tokens(aws: Any, backup: Any, vault: str) -> None:
    arn = _table(aws)
    one = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE, IdempotencyToken="tok")
    two = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE, IdempotencyToken="tok")
    other = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE, IdempotencyToken="tok2")
    assert one["BackupJobId"] == two["BackupJobId"] != other["BackupJobId"]
    assert one["RecoveryPointArn"] == two["RecoveryPointArn"]
    wait(lambda: backup.describe_backup_job(BackupJobId=one["BackupJobId"]), "State")

    md = {"targetTableName": unique("idem")}
    r1 = backup.start_restore_job(RecoveryPointArn=one["RecoveryPointArn"], Metadata=md, IamRoleArn=ROLE, IdempotencyToken="r")
    r2 = backup.start_restore_job(RecoveryPointArn=one["RecoveryPointArn"], Metadata=md, IamRoleArn=ROLE, IdempotencyToken="r")
    assert r1["RestoreJobId"] == r2["RestoreJobId"]

    dest = backup.describe_backup_vault(BackupVaultName=vault)["BackupVaultArn"]
    c1 = backup.start_copy_job(RecoveryPointArn=one["RecoveryPointArn"], SourceBackupVaultName=vault,
                               DestinationBackupVaultArn=dest, IamRoleArn=ROLE, IdempotencyToken="c")
    c2 = backup.start_copy_job(RecoveryPointArn=one["RecoveryPointArn"], SourceBackupVaultName=vault,
                               DestinationBackupVaultArn=dest, IamRoleArn=ROLE, IdempotencyToken="c")
    assert c1["CopyJobId"] == c2["CopyJobId"]


def test_restore_errors_and_failures(aws: Any, backup: Any, vault: str) -> None:
    unknown = f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:0BAD0BAD-0000-0000-0000-000000000000"
    assert _error(lambda: backup.start_restore_job(RecoveryPointArn=unknown, Metadata={}, IamRoleArn=ROLE)) == (
        "ResourceNotFoundException", 400,
    )
    arn = _table(aws)
    rp = _backed_up(backup, vault, arn)["RecoveryPointArn"]
    assert _error(lambda: backup.start_restore_job(RecoveryPointArn=rp, Metadata={}, IamRoleArn=ROLE, ResourceType="EBS")) == (
        "InvalidParameterValueException", 400,
    )
    existing = arn.split("/")[-1]
    job = backup.start_restore_job(RecoveryPointArn=rp, Metadata={"targetTableName": existing}, IamRoleArn=ROLE)
    seen = wait(lambda: backup.describe_restore_job(RestoreJobId=job["RestoreJobId"]), "Status")
    assert seen[-2:] == ["RUNNING", "FAILED"] and set(seen) <= {"PENDING", "RUNNING", "FAILED"}
    failed = backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])
    assert "already exists" in failed["StatusMessage"]
    assert "CreatedResourceArn" not in failed


def test_a_job_on_a_recovery_point_still_being_created_is_refused(aws: Any, backup: Any, vault: str) -> None:
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=_table(aws), IamRoleArn=ROLE)
    rp = job["RecoveryPointArn"]
    assert backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=rp)["Status"] == "CREATING"
    code, _ = _error(lambda: backup.start_restore_job(RecoveryPointArn=rp, Metadata={"targetTableName": "x"}, IamRoleArn=ROLE))
    assert code == "InvalidRequestException"
    assert _error(lambda: backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=rp))[0] == (
        "InvalidResourceStateException"
    )


def test_recovery_points_listing_lifecycle_and_delete(aws: Any, backup: Any, vault: str) -> None:
    arn = _table(aws)
    first = _backed_up(backup, vault, arn)["RecoveryPointArn"]
    second = _backed_up(backup, vault, arn)["RecoveryPointArn"]

    in_vault = backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in in_vault] == [second, first]
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName=vault, ByResourceType="S3")["RecoveryPoints"] == []
    by_resource = backup.list_recovery_points_by_resource(ResourceArn=arn)["RecoveryPoints"]
    assert {p["RecoveryPointArn"] for p in by_resource} == {first, second}
    assert all(p["BackupVaultName"] == vault and p["Status"] == "COMPLETED" for p in by_resource)

    vaults = {v["BackupVaultName"]: v for v in backup.list_backup_vaults()["BackupVaultList"]}
    assert vaults[vault]["NumberOfRecoveryPoints"] == 2
    assert backup.describe_backup_vault(BackupVaultName=vault)["NumberOfRecoveryPoints"] == 2

    updated = backup.update_recovery_point_lifecycle(
        BackupVaultName=vault, RecoveryPointArn=first, Lifecycle={"MoveToColdStorageAfterDays": 10, "DeleteAfterDays": 100}
    )
    assert updated["Lifecycle"] == {"MoveToColdStorageAfterDays": 10, "DeleteAfterDays": 100}
    assert set(updated["CalculatedLifecycle"]) == {"MoveToColdStorageAt", "DeleteAt"}
    assert _error(lambda: backup.update_recovery_point_lifecycle(
        BackupVaultName=vault, RecoveryPointArn=first, Lifecycle={"MoveToColdStorageAfterDays": 10, "DeleteAfterDays": 20}
    ))[0] == "InvalidParameterValueException"

    assert _error(lambda: backup.delete_backup_vault(BackupVaultName=vault))[0] == "InvalidRequestException"
    backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=first)
    assert _error(lambda: backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=first)) == (
        "ResourceNotFoundException", 400,
    )
    assert _error(lambda: backup.get_recovery_point_restore_metadata(BackupVaultName=vault, RecoveryPointArn=first))[0] == (
        "ResourceNotFoundException"
    )
    # an advanced DynamoDB point is no DynamoDB backup (test_dynamodb_backups.py has the native ones)
    assert _error(lambda: aws("dynamodb").describe_backup(BackupArn=first))[0] == "ValidationException"
    assert backup.describe_backup_vault(BackupVaultName=vault)["NumberOfRecoveryPoints"] == 1


def test_vault_lock_refuses_deletes_and_short_retention(aws: Any, backup: Any, vault: str) -> None:
    backup.put_backup_vault_lock_configuration(BackupVaultName=vault, MinRetentionDays=7, MaxRetentionDays=30)
    arn = _table(aws)
    rp = _backed_up(backup, vault, arn, Lifecycle={"DeleteAfterDays": 14})["RecoveryPointArn"]
    code, status = _error(lambda: backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=rp))
    assert (code, status) == ("InvalidRequestException", 400)
    assert _error(lambda: backup.update_recovery_point_lifecycle(
        BackupVaultName=vault, RecoveryPointArn=rp, Lifecycle={"DeleteAfterDays": 1}
    ))[0] == "InvalidRequestException"

    short = _backed_up(backup, vault, arn, Lifecycle={"DeleteAfterDays": 1})
    assert short["State"] == "FAILED" and "minimum retention" in short["StatusMessage"]
    assert backup.describe_backup_vault(BackupVaultName=vault)["Locked"] is True


def test_list_jobs_filters_and_pages(aws: Any, backup: Any, vault: str) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    arns = [_table(aws) for _ in range(3)]
    ids = [backup.start_backup_job(BackupVaultName=vault, ResourceArn=a, IamRoleArn=ROLE)["BackupJobId"] for a in arns]
    listed = backup.list_backup_jobs(ByBackupVaultName=vault, ByCreatedAfter=before)["BackupJobs"]
    assert sorted(j["BackupJobId"] for j in listed) == sorted(ids)
    assert backup.list_backup_jobs(ByBackupVaultName=vault, ByCreatedBefore=before)["BackupJobs"] == []
    assert backup.list_backup_jobs(ByBackupVaultName=vault, ByResourceType="EBS")["BackupJobs"] == []
    pages = backup.get_paginator("list_backup_jobs").paginate(ByBackupVaultName=vault, PaginationConfig={"PageSize": 2})
    assert sorted(j["BackupJobId"] for p in pages for j in p["BackupJobs"]) == sorted(ids)

    for job_id in ids:
        wait(lambda: backup.describe_backup_job(BackupJobId=job_id), "State")
    assert len(backup.list_backup_jobs(ByBackupVaultName=vault, ByState="COMPLETED")["BackupJobs"]) == 3

    rp = backup.describe_backup_job(BackupJobId=ids[0])["RecoveryPointArn"]
    restore = backup.start_restore_job(RecoveryPointArn=rp, Metadata={"targetTableName": unique("f")}, IamRoleArn=ROLE)
    restores = backup.list_restore_jobs(ByResourceType="DynamoDB", ByCreatedAfter=before)["RestoreJobs"]
    assert restore["RestoreJobId"] in [r["RestoreJobId"] for r in restores]
    assert backup.list_restore_jobs(ByResourceType="EFS", ByCreatedAfter=before)["RestoreJobs"] == []

    dest = backup.describe_backup_vault(BackupVaultName=vault)["BackupVaultArn"]
    copy = backup.start_copy_job(RecoveryPointArn=rp, SourceBackupVaultName=vault, DestinationBackupVaultArn=dest, IamRoleArn=ROLE)
    copies = backup.list_copy_jobs(ByDestinationVaultArn=dest)["CopyJobs"]
    assert [c["CopyJobId"] for c in copies] == [copy["CopyJobId"]]
    assert [c["CopyJobId"] for c in backup.list_copy_jobs(ByResourceArn=arns[0])["CopyJobs"]] == [copy["CopyJobId"]]


def test_copy_to_a_missing_vault_fails_and_bad_arns_are_refused(aws: Any, backup: Any, vault: str) -> None:
    rp = _backed_up(backup, vault, _table(aws))["RecoveryPointArn"]
    missing = f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:nowhere"
    copy = backup.start_copy_job(RecoveryPointArn=rp, SourceBackupVaultName=vault, DestinationBackupVaultArn=missing, IamRoleArn=ROLE)
    assert wait(lambda: backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"], "State")[-1] == "FAILED"
    assert "does not exist" in backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"]["StatusMessage"]
    assert _error(lambda: backup.start_copy_job(
        RecoveryPointArn=rp, SourceBackupVaultName=vault, DestinationBackupVaultArn="not-an-arn", IamRoleArn=ROLE
    ))[0] == "InvalidParameterValueException"
    assert _error(lambda: backup.start_copy_job(
        RecoveryPointArn=rp + "x", SourceBackupVaultName=vault, DestinationBackupVaultArn=missing, IamRoleArn=ROLE
    ))[0] == "ResourceNotFoundException"


def test_list_protected_resources_reports_the_last_backup(aws: Any) -> None:
    backup = aws("backup", "eu-central-1")
    vault = unique("pr")
    backup.create_backup_vault(BackupVaultName=vault)
    arn = _table(aws, "eu-central-1")
    _backed_up(backup, vault, arn)
    time.sleep(0.01)
    last = _backed_up(backup, vault, arn)
    results = backup.list_protected_resources()["Results"]
    assert [(r["ResourceArn"], r["ResourceType"]) for r in results] == [(arn, "DynamoDB")]
    assert results[0]["LastBackupTime"] == last["CreationDate"]
    assert results[0]["LastRecoveryPointArn"] == last["RecoveryPointArn"]
    assert results[0]["ResourceName"] == arn.split("/")[-1]
