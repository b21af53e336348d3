"""AWS Backup restores as the role StartRestoreJob passes (IamRoleArn): a role AWS Backup cannot
assume refuses the request; a role whose policies do not allow what the restore makes fails the
job, naming the action, and nothing is made (backup/restore_role.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, BACKUP_MANAGED_POLICIES, backup_role, unique, wait
from test_kinds import KINDS

TRUST_EC2 = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

# A restore-test role as Bulwark means to pass it: writes only to stores named bulwark-rt-*.
RT_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Resource": f"arn:aws:dynamodb:*:{ACCOUNT}:table/bulwark-rt-*",
     "Action": ["dynamodb:RestoreTableFromAwsBackup", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem"]},
    {"Effect": "Allow", "Resource": "arn:aws:s3:::bulwark-rt-*",
     "Action": ["s3:CreateBucket", "s3:PutBucketVersioning", "s3:ListBucket", "s3:GetBucketVersioning"]},
    {"Effect": "Allow", "Resource": "arn:aws:s3:::bulwark-rt-*/*", "Action": "s3:PutObject"},
    {"Effect": "Allow", "Action": "rds:RestoreDBInstanceFromDBSnapshot",
     "Resource": [f"arn:aws:rds:*:{ACCOUNT}:db:bulwark-rt-*", f"arn:aws:rds:*:{ACCOUNT}:snapshot:awsbackup:*"]},
]})

NAME_KEY = {"DynamoDB": "targetTableName", "S3": "DestinationBucketName", "RDS": "DBInstanceIdentifier"}


def _rt_only_role(aws: Any) -> str:
    arn = backup_role(aws, "restore-tests-only", policies=())
    aws("iam").put_role_policy(RoleName="restore-tests-only", PolicyName="restores", PolicyDocument=RT_ONLY)
    return arn


def _point(aws: Any, resource_type: str) -> str:
    backup = aws("backup")
    vault = unique("role")
    backup.create_backup_vault(BackupVaultName=vault)
    resource_arn, _ = KINDS[resource_type].make(aws, "us-east-1")
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=resource_arn, IamRoleArn=backup_role(aws))
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
    return job["RecoveryPointArn"]


def _restore(aws: Any, point: str, metadata: dict[str, str], role: str) -> dict[str, Any]:
    backup = aws("backup")
    job = backup.start_restore_job(RecoveryPointArn=point, Metadata=metadata, IamRoleArn=role)
    wait(lambda: backup.describe_restore_job(RestoreJobId=job["RestoreJobId"]), "Status")
    return backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])


def _exists(aws: Any, resource_type: str, name: str) -> bool:
    try:
        if resource_type == "DynamoDB":
            aws("dynamodb").describe_table(TableName=name)
        elif resource_type == "S3":
            aws("s3").head_bucket(Bucket=name)
        else:
            aws("rds").describe_db_instances(DBInstanceIdentifier=name)
    except ClientError:
        return False
    return True


DENIED = {
    "DynamoDB": ("AccessDeniedException", "dynamodb:RestoreTableFromAwsBackup", "arn:aws:dynamodb:us-east-1:{a}:table/{n}"),
    "S3": ("AccessDenied", "s3:CreateBucket", "arn:aws:s3:::{n}"),
    "RDS": ("AccessDenied", "rds:RestoreDBInstanceFromDBSnapshot", "arn:aws:rds:us-east-1:{a}:db:{n}"),
}


@pytest.mark.parametrize("resource_type", ["DynamoDB", "S3", "RDS"])
def test_a_role_for_restore_tests_restores_only_their_names(aws: Any, resource_type: str) -> None:
    role = _rt_only_role(aws)
    point = _point(aws, resource_type)
    extra = {"NewBucket": "true"} if resource_type == "S3" else {}

    allowed = unique("bulwark-rt-x")
    done = _restore(aws, point, {NAME_KEY[resource_type]: allowed, **extra}, role)
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    assert done["IamRoleArn"] == role
    assert _exists(aws, resource_type, allowed)

    outside = unique("payments-copy")
    failed = _restore(aws, point, {NAME_KEY[resource_type]: outside, **extra}, role)
    code, action, resource = DENIED[resource_type]
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/restore-tests-only/AWSBackup-restore-tests-only"
    assert failed["Status"] == "FAILED"
    assert failed["StatusMessage"] == (
        f"{code}: User: {session} is not authorized to perform: {action} on resource: "
        f"{resource.format(a=ACCOUNT, n=outside)} because no identity-based policy allows the {action} action"
    )
    assert "CreatedResourceArn" not in failed
    assert not _exists(aws, resource_type, outside)  # nothing is made


def test_a_denied_object_write_fails_an_s3_restore(aws: Any) -> None:
    """Every object is written as the role: PutObject denied on one key fails the job."""
    role = backup_role(aws, "s3-no-dir", policies=BACKUP_MANAGED_POLICIES)
    aws("iam").put_role_policy(RoleName="s3-no-dir", PolicyName="no-dir", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::*/dir/obj-3.bin"}]}))
    point = _point(aws, "S3")
    target = unique("bulwark-rt-deny")
    failed = _restore(aws, point, {"DestinationBucketName": target, "NewBucket": "true"}, role)
    assert failed["Status"] == "FAILED"
    assert f"s3:PutObject on resource: arn:aws:s3:::{target}/dir/obj-3.bin with an explicit deny in an identity-based policy" in failed["StatusMessage"]
    assert not _exists(aws, "S3", target)


def test_an_ebs_restore_denied_answers_ec2s_message(aws: Any) -> None:
    role = backup_role(aws, "no-volumes", policies=())
    point = _point(aws, "EBS")
    failed = _restore(aws, point, {}, role)
    assert failed["Status"] == "FAILED"
    assert failed["StatusMessage"].startswith(
        "You are not authorized to perform this operation. Please consult the permissions associated with your "
        "AWS Backup role(s), and refer to the AWS Backup documentation for more details. Encoded authorization "
        f"failure message: User: arn:aws:sts::{ACCOUNT}:assumed-role/no-volumes/AWSBackup-no-volumes is not "
        f"authorized to perform: ec2:CreateVolume on resource: arn:aws:ec2:us-east-1:{ACCOUNT}:volume/*"
    )


def test_a_customer_managed_key_needs_the_role_to_use_it(aws: Any) -> None:
    """The managed restore policy's KMS statements: via the service, grants for AWS resources."""
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    point = _point(aws, "DynamoDB")
    metadata = {"encryptionType": "KMS", "kmsMasterKeyArn": key}
    without_kms = backup_role(aws, "tables-no-kms", policies=())
    aws("iam").put_role_policy(RoleName="tables-no-kms", PolicyName="tables", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}))
    failed = _restore(aws, point, {"targetTableName": unique("bulwark-rt-k"), **metadata}, without_kms)
    assert failed["Status"] == "FAILED"
    assert f"kms:DescribeKey on resource: {key} because no identity-based policy allows" in failed["StatusMessage"]

    done = _restore(aws, point, {"targetTableName": unique("bulwark-rt-k"), **metadata}, backup_role(aws))
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")


@pytest.mark.parametrize("trust", ["missing", "ec2"])
def test_a_role_aws_backup_cannot_assume_refuses_the_restore(aws: Any, trust: str) -> None:
    if trust == "missing":
        role = f"arn:aws:iam::{ACCOUNT}:role/{unique('no-such-role')}"
    else:
        role = backup_role(aws, "trusts-ec2", trust=TRUST_EC2)  # the managed policies, the wrong principal
    point = _point(aws, "DynamoDB")
    target = unique("bulwark-rt-trust")
    with pytest.raises(ClientError) as refused:
        aws("backup").start_restore_job(RecoveryPointArn=point, Metadata={"targetTableName": target}, IamRoleArn=role)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"] == f"IAM Role {role} cannot be assumed by AWS Backup"
    assert not _exists(aws, "DynamoDB", target)


@pytest.mark.parametrize("resource_type", list(KINDS))
def test_the_default_role_with_the_managed_policies_restores_every_kind(aws: Any, resource_type: str) -> None:
    iam = aws("iam")
    try:
        iam.create_role(RoleName="AWSBackupDefaultServiceRole", Path="/service-role/", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"},
                                                     "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}))
        for policy in BACKUP_MANAGED_POLICIES:
            iam.attach_role_policy(RoleName="AWSBackupDefaultServiceRole", PolicyArn=policy)
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    attached = iam.list_attached_role_policies(RoleName="AWSBackupDefaultServiceRole")["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted(BACKUP_MANAGED_POLICIES)
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"
    kind = KINDS[resource_type]
    backup = aws("backup")
    vault = unique("default-role")
    backup.create_backup_vault(BackupVaultName=vault)
    resource_arn, expected = kind.make(aws, "us-east-1")
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=resource_arn, IamRoleArn=role)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    done = _restore(aws, job["RecoveryPointArn"], kind.metadata("default-role"), role)
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    kind.verify(aws, "us-east-1", done["CreatedResourceArn"], expected)
