"""AWS Backup's events on the default bus: its write calls via CloudTrail (only while a trail
logs), and its jobs' state changes when they end."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, ROLE, eventually, placeholder_function, unique

REGION = "ap-southeast-1"  # a region no other test lists jobs or protected resources in


@pytest.fixture(scope="module")
def role(aws: Any) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    return aws("iam", REGION).create_role(RoleName=unique("fn"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _listening(aws: Any, role: str, pattern: dict[str, Any]) -> str:
    """A function that receives what the pattern matches, whole; its name."""
    name = unique("alerts")
    fn = placeholder_function(aws, REGION, role, name)
    events = aws("events", REGION)
    rule = unique("backup")
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": fn, "InputTransformer": {
        "InputTemplate": '{"backup_event": <aws.events.event.json>}',
    }}])
    return name


def _table(aws: Any) -> str:
    ddb = aws("dynamodb", REGION)
    name = unique("events")
    ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    return ddb.describe_table(TableName=name)["Table"]["TableArn"]


def test_backup_write_calls_reach_the_bus_via_cloudtrail_only_while_a_trail_logs(aws: Any, role: str, lambda_runtime: Any) -> None:
    backup = aws("backup", REGION)
    vault = unique("watched")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=_table(aws), IamRoleArn=ROLE)
    point = eventually(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]).get("RecoveryPointArn"))
    eventually(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"])["State"] == "COMPLETED")
    name = _listening(aws, role, {
        "source": ["aws.backup"], "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["backup.amazonaws.com"]},
    })

    # Given no trail: a lifecycle shortened is not told
    backup.update_recovery_point_lifecycle(BackupVaultName=vault, RecoveryPointArn=point, Lifecycle={"DeleteAfterDays": 20})
    time.sleep(0.5)
    assert lambda_runtime.calls_to(name) == []

    # When a multi-region trail of another region logs
    bucket = unique("trail")
    aws("s3", "us-east-1").create_bucket(Bucket=bucket)
    cloudtrail = aws("cloudtrail", "us-east-1")
    trail = unique("org")
    cloudtrail.create_trail(Name=trail, S3BucketName=bucket, IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name=trail)
    try:
        backup.update_recovery_point_lifecycle(BackupVaultName=vault, RecoveryPointArn=point, Lifecycle={"DeleteAfterDays": 10})
        backup.describe_backup_vault(BackupVaultName=vault)  # a read: never told
        with pytest.raises(ClientError):
            backup.delete_backup_vault(BackupVaultName=unique("absent"))
        received = eventually(lambda: len(lambda_runtime.calls_to(name)) >= 2 and lambda_runtime.calls_to(name))
        time.sleep(0.5)
    finally:
        cloudtrail.stop_logging(Name=trail)

    # Then each write call, done or refused, is an event of CloudTrail's shape, and no read is
    events = {c["backup_event"]["detail"]["eventName"]: c["backup_event"] for c in lambda_runtime.calls_to(name)}
    assert sorted(events) == ["DeleteBackupVault", "UpdateRecoveryPointLifecycle"] and len(received) == 2
    shortened = events["UpdateRecoveryPointLifecycle"]
    assert shortened["source"] == "aws.backup" and shortened["account"] == ACCOUNT and shortened["region"] == REGION
    detail = shortened["detail"]
    assert detail["eventSource"] == "backup.amazonaws.com" and detail["awsRegion"] == REGION
    assert detail["requestParameters"]["backupVaultName"] == vault
    assert detail["requestParameters"]["recoveryPointArn"] == point
    assert detail["requestParameters"]["lifecycle"] == {"DeleteAfterDays": 10}
    assert detail["userIdentity"]["accountId"] == ACCOUNT and detail["userIdentity"]["arn"]
    assert detail["readOnly"] is False and detail["eventType"] == "AwsApiCall" and "errorCode" not in detail
    refused = events["DeleteBackupVault"]["detail"]
    assert refused["errorCode"] in ("ResourceNotFoundException", "AccessDeniedException") and refused["errorMessage"]

    # And once the trail stops logging, nothing more is told
    backup.update_recovery_point_lifecycle(BackupVaultName=vault, RecoveryPointArn=point, Lifecycle={"DeleteAfterDays": 5})
    time.sleep(0.5)
    assert len(lambda_runtime.calls_to(name)) == 2


def test_a_jobs_end_is_a_state_change_event(aws: Any, role: str, lambda_runtime: Any) -> None:
    backup = aws("backup", REGION)
    vault = unique("jobs")
    backup.create_backup_vault(BackupVaultName=vault)
    name = _listening(aws, role, {"source": ["aws.backup"], "detail-type": ["Backup Job State Change"], "detail": {"backupVaultName": [vault]}})

    missing = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/does-not-exist"
    failed = backup.start_backup_job(BackupVaultName=vault, ResourceArn=missing, IamRoleArn=ROLE)["BackupJobId"]
    table = _table(aws)
    done = backup.start_backup_job(BackupVaultName=vault, ResourceArn=table, IamRoleArn=ROLE)["BackupJobId"]
    eventually(lambda: len(lambda_runtime.calls_to(name)) >= 2)
    by_job = {c["backup_event"]["detail"]["backupJobId"]: c["backup_event"] for c in lambda_runtime.calls_to(name)}

    failure = by_job[failed]
    assert failure["detail-type"] == "Backup Job State Change" and failure["resources"] == []
    assert failure["detail"]["state"] == "FAILED" and failure["detail"]["resourceArn"] == missing
    assert failure["detail"]["statusMessage"] == backup.describe_backup_job(BackupJobId=failed)["StatusMessage"]
    assert failure["detail"]["backupVaultName"] == vault
    success = by_job[done]
    point = backup.describe_backup_job(BackupJobId=done)["RecoveryPointArn"]
    assert success["detail"]["state"] == "COMPLETED" and success["resources"] == [point]
    assert success["detail"]["resourceArn"] == table and success["detail"]["resourceType"] == "DynamoDB"
