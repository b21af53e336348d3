"""The local-only control call that runs every backup plan now, and copies across accounts."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from conftest import ROLE, administrator, backup_role, organization, unique, wait

OTHER_ACCOUNT = "210987654321"


def _run_plans(endpoint: str, account: str, region: str) -> dict[str, list[str]]:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/backup/run-plans?account={account}&region={region}", method="POST", data=b""
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _credentials(aws: Any, account: str) -> dict[str, str]:
    # Every account's administrator role (AWS Organizations creates it in a member account).
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    creds = aws("sts").assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def test_run_plans_backs_up_what_selections_assign_then_copies(aws: Any, endpoint: str) -> None:
    region, dr_region = "ap-southeast-2", "ap-northeast-1"
    creds = _credentials(aws, OTHER_ACCOUNT)
    backup = aws("backup", region, creds)
    dr = aws("backup", dr_region, creds)
    assert aws("sts", region, creds).get_caller_identity()["Account"] == OTHER_ACCOUNT

    backup.create_backup_vault(BackupVaultName="primary")
    dr_arn = dr.create_backup_vault(BackupVaultName="dr")["BackupVaultArn"]

    ddb = aws("dynamodb", region, creds)
    tables = {}
    for name, tags in {
        "orders": [{"Key": "tier", "Value": "critical"}],
        "tmp-cache": [{"Key": "tier", "Value": "critical"}],
        "ledger": [{"Key": "env", "Value": "production"}],
        "scratch": [],
    }.items():
        tables[name] = ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=tags,
        )["TableDescription"]["TableArn"]
    s3 = aws("s3", region, creds)
    s3.create_bucket(Bucket=unique("plan-bucket"), CreateBucketConfiguration={"LocationConstraint": region})
    volume = aws("ec2", region, creds).create_volume(AvailabilityZone=f"{region}a", Size=1)
    aws("ec2", region, creds).create_tags(Resources=[volume["VolumeId"]], Tags=[{"Key": "env", "Value": "prod-eu"}])

    plan = backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "critical",
            "Rules": [
                {
                    "RuleName": "hourly",
                    "TargetBackupVaultName": "primary",
                    "ScheduleExpression": "cron(0 * * * ? *)",
                    "Lifecycle": {"DeleteAfterDays": 7},
                    "CopyActions": [{"DestinationBackupVaultArn": dr_arn, "Lifecycle": {"DeleteAfterDays": 30}}],
                }
            ],
        }
    )
    backup.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={
            "SelectionName": "critical-tables",
            "IamRoleArn": ROLE,
            "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "tier", "ConditionValue": "critical"}],
            "NotResources": ["arn:aws:dynamodb:*:*:table/tmp-*"],
        },
    )
    backup.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={
            "SelectionName": "production",
            "IamRoleArn": ROLE,
            "Resources": ["*"],
            "Conditions": {"StringLike": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod*"}]},
        },
    )

    ran = _run_plans(endpoint, OTHER_ACCOUNT, region)
    assert len(ran["BackupJobIds"]) == 3 and len(ran["CopyJobIds"]) == 3
    for job_id in ran["CopyJobIds"]:
        assert wait(lambda: backup.describe_copy_job(CopyJobId=job_id)["CopyJob"], "State")[-1] == "COMPLETED"

    jobs = [backup.describe_backup_job(BackupJobId=j) for j in ran["BackupJobIds"]]
    assert all(j["State"] == "COMPLETED" for j in jobs)
    expected = {tables["orders"], tables["ledger"], f"arn:aws:ec2:{region}:{OTHER_ACCOUNT}:volume/{volume['VolumeId']}"}
    assert {j["ResourceArn"] for j in jobs} == expected
    assert all(j["CreatedBy"]["BackupPlanId"] == plan["BackupPlanId"] for j in jobs)
    assert all(j["CreatedBy"]["BackupPlanVersion"] == plan["VersionId"] for j in jobs)

    copies = [backup.describe_copy_job(CopyJobId=c)["CopyJob"] for c in ran["CopyJobIds"]]
    assert {c["CreatedByBackupJobId"] for c in copies} == set(ran["BackupJobIds"])
    in_dr = dr.list_recovery_points_by_backup_vault(BackupVaultName="dr")["RecoveryPoints"]
    assert {p["ResourceArn"] for p in in_dr} == expected
    assert all(p["Lifecycle"] == {"DeleteAfterDays": 30} for p in in_dr)
    assert {r["ResourceArn"] for r in backup.list_protected_resources()["Results"]} == expected
    assert backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["LastExecutionDate"]

    assert aws("backup", region).list_backup_jobs()["BackupJobs"] == []  # the default account ran nothing


def test_copy_to_another_account_then_restore_there(aws: Any) -> None:
    # (within one organization, into a vault open to it: test_cross_account_copies.py)
    org_id, management, member = organization(aws)
    source = administrator(aws, management)
    role = f"arn:aws:iam::{management}:role/backup"
    backup = aws("backup", "us-east-1", source)
    vault = unique("src")
    backup.create_backup_vault(BackupVaultName=vault)
    creds = administrator(aws, member)
    other = aws("backup", "us-east-2", creds)
    dest = unique("central")
    dest_arn = other.create_backup_vault(BackupVaultName=dest)["BackupVaultArn"]
    assert f":{member}:" in dest_arn
    other.put_backup_vault_access_policy(
        BackupVaultName=dest,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "backup:CopyIntoBackupVault", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
        }]}),
    )

    volume = aws("ec2", "us-east-1", source).create_volume(AvailabilityZone="us-east-1a", Size=8)
    arn = f"arn:aws:ec2:us-east-1:{management}:volume/{volume['VolumeId']}"
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=role)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    copy = backup.start_copy_job(
        RecoveryPointArn=job["RecoveryPointArn"], SourceBackupVaultName=vault, DestinationBackupVaultArn=dest_arn, IamRoleArn=role
    )
    wait(lambda: backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"], "State")
    copied = backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"]
    assert copied["State"] == "COMPLETED", copied.get("StatusMessage")

    # AWS Backup assumes a role of the account the restore runs in
    other_role = backup_role(aws, credentials=creds)
    restore = other.start_restore_job(RecoveryPointArn=copied["DestinationRecoveryPointArn"], Metadata={}, IamRoleArn=other_role)
    wait(lambda: other.describe_restore_job(RestoreJobId=restore["RestoreJobId"]), "Status")
    created = other.describe_restore_job(RestoreJobId=restore["RestoreJobId"])["CreatedResourceArn"]
    assert created.startswith(f"arn:aws:ec2:us-east-2:{member}:volume/")
    volumes = aws("ec2", "us-east-2", creds).describe_volumes(VolumeIds=[created.split("/")[-1]])["Volumes"]
    assert volumes[0]["Size"] == 8


def test_run_plans_rejects_bad_parameters(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/bulwark/backup/run-plans?account=12&region=x", method="POST", data=b"")
    try:
        urllib.request.urlopen(request)
    except urllib.error.HTTPError as err:
        assert err.code == 400
    else:
        raise AssertionError("expected HTTP 400")
