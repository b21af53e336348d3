"""Backup vault access policies (put, get, delete), their Deny statements on
DeleteRecoveryPoint, and CreatorRequestId on vaults and plans."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from bulwark_local.backup import policy
from conftest import ACCOUNT, ROLE, unique, wait

ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/bulwark-admin"
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/operator"
RP = f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:abc"


def _deny(**statement: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*", **statement}],
    }


PROTECTED = _deny(Condition={"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/bulwark-admin"]}})


def _error(call: Any) -> ClientError:
    with pytest.raises(ClientError) as err:
        call()
    return err.value


def _code(call: Any) -> tuple[str, int]:
    response = _error(call).response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def backup(aws: Any) -> Any:
    return aws("backup")


@pytest.fixture
def vault(backup: Any) -> str:
    name = unique("vault")
    backup.create_backup_vault(BackupVaultName=name)
    return name


def _as_role(aws: Any, role_arn: str) -> Any:
    """A backup client acting as `role_arn`, a role allowed everything by its own policies, so
    that only the vault policy decides."""
    path, name = role_arn.split(":role", 1)[1].rsplit("/", 1)
    iam = aws("iam")
    try:
        iam.create_role(RoleName=name, Path=f"{path}/", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="everything", PolicyDocument=json.dumps(everything))
    creds = aws("sts").assume_role(RoleArn=role_arn, RoleSessionName="session")["Credentials"]
    return aws(
        "backup",
        credentials={
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        },
    )


def _recovery_point(aws: Any, backup: Any, vault: str) -> str:
    ddb = aws("dynamodb")
    name = unique("policy")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    return job["RecoveryPointArn"]


# ---- put, get, delete ----------------------------------------------------------------------


def test_put_get_and_delete_the_access_policy(backup: Any, vault: str) -> None:
    document = json.dumps(PROTECTED)
    backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=document)
    got = backup.get_backup_vault_access_policy(BackupVaultName=vault)
    assert got["BackupVaultName"] == vault
    assert got["BackupVaultArn"] == f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:{vault}"
    assert got["Policy"] == document

    replacement = json.dumps(_deny(Action=["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"]))
    backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=replacement)
    assert backup.get_backup_vault_access_policy(BackupVaultName=vault)["Policy"] == replacement

    backup.delete_backup_vault_access_policy(BackupVaultName=vault)
    assert _code(lambda: backup.get_backup_vault_access_policy(BackupVaultName=vault)) == ("ResourceNotFoundException", 400)
    backup.delete_backup_vault_access_policy(BackupVaultName=vault)


def test_access_policy_errors(backup: Any, vault: str) -> None:
    missing = unique("missing")
    document = json.dumps(PROTECTED)
    assert _code(lambda: backup.get_backup_vault_access_policy(BackupVaultName=vault)) == ("ResourceNotFoundException", 400)
    for call in (
        lambda: backup.put_backup_vault_access_policy(BackupVaultName=missing, Policy=document),
        lambda: backup.get_backup_vault_access_policy(BackupVaultName=missing),
        lambda: backup.delete_backup_vault_access_policy(BackupVaultName=missing),
    ):
        assert _code(call) == ("ResourceNotFoundException", 400)
    for bad in ("not json", "[]", json.dumps({"Version": "2012-10-17"})):
        assert _code(lambda: backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=bad)) == (
            "InvalidParameterValueException", 400,
        )


def test_the_policy_goes_with_its_vault(aws: Any, backup: Any, vault: str) -> None:
    backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps(PROTECTED))
    elsewhere = aws("backup", "eu-west-1")
    elsewhere.create_backup_vault(BackupVaultName=vault)
    assert _code(lambda: elsewhere.get_backup_vault_access_policy(BackupVaultName=vault))[0] == "ResourceNotFoundException"

    backup.delete_backup_vault(BackupVaultName=vault)
    backup.create_backup_vault(BackupVaultName=vault)
    assert _code(lambda: backup.get_backup_vault_access_policy(BackupVaultName=vault))[0] == "ResourceNotFoundException"


# ---- the Deny on DeleteRecoveryPoint -----------------------------------------------------


def test_deny_stops_a_non_admin_role_and_not_the_admin_role(aws: Any, backup: Any, vault: str) -> None:
    first = _recovery_point(aws, backup, vault)
    second = _recovery_point(aws, backup, vault)
    backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps(PROTECTED))
    operator, admin = _as_role(aws, OPERATOR_ROLE), _as_role(aws, ADMIN_ROLE)

    denied = _error(lambda: operator.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=first))
    assert denied.response["Error"]["Code"] == "AccessDeniedException"
    assert denied.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "AccessDeniedException"
    message = denied.response["Error"]["Message"]
    assert f"arn:aws:iam::{ACCOUNT}:role/operator" in message and "explicit deny" in message
    assert _code(lambda: backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=first)) == (
        "AccessDeniedException", 403,
    )
    assert backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=first)["Status"] == "COMPLETED"

    admin.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=first)
    assert _code(lambda: backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=first))[0] == (
        "ResourceNotFoundException"
    )

    backup.delete_backup_vault_access_policy(BackupVaultName=vault)
    operator.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=second)
    assert backup.describe_backup_vault(BackupVaultName=vault)["NumberOfRecoveryPoints"] == 0


def test_a_deny_on_other_actions_leaves_deletes_alone(aws: Any, backup: Any, vault: str) -> None:
    rp = _recovery_point(aws, backup, vault)
    backup.put_backup_vault_access_policy(
        BackupVaultName=vault, Policy=json.dumps(_deny(Action=["backup:DeleteBackupVault", "backup:StartRestoreJob"]))
    )
    _as_role(aws, OPERATOR_ROLE).delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=rp)


@pytest.mark.parametrize(
    ("document", "principal", "denied"),
    [
        (PROTECTED, OPERATOR_ROLE, True),
        (PROTECTED, ADMIN_ROLE, False),
        (PROTECTED, f"arn:aws:sts::{ACCOUNT}:user/moto", True),
        (_deny(), ADMIN_ROLE, True),
        (_deny(Action=["backup:PutBackupVaultAccessPolicy", "backup:*"]), ADMIN_ROLE, True),
        (_deny(Action="*", Principal={"AWS": "*"}), ADMIN_ROLE, True),
        (_deny(Action="backup:deleterecoverypoint"), ADMIN_ROLE, True),
        (_deny(Action="backup:Delete*"), ADMIN_ROLE, True),
        (_deny(Action="backup:DeleteBackupVault"), ADMIN_ROLE, False),
        (_deny(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), ADMIN_ROLE, False),
        (_deny(Effect="Allow"), ADMIN_ROLE, False),
        (_deny(Resource=[RP]), ADMIN_ROLE, True),
        (_deny(Resource=f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:other"), ADMIN_ROLE, False),
        (_deny(Condition={"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/bulwark-*"}}), ADMIN_ROLE, False),
        (_deny(Condition={"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/bulwark-*"}}), OPERATOR_ROLE, True),
        (_deny(Condition={"ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/ops/*", ADMIN_ROLE]}}),
         f"arn:aws:iam::{ACCOUNT}:role/ops/break-glass", False),
        (_deny(Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}), f"arn:aws:iam::{ACCOUNT}:user/ops", True),
        (_deny(Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::999999999999:role/bulwark-admin"}}), ADMIN_ROLE, True),
        (_deny(Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/operator"}}), OPERATOR_ROLE, True),
        (_deny(Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/operator"}}), ADMIN_ROLE, False),
        (_deny(Condition={"StringNotEquals": {"aws:userId": "AROA123"}}), OPERATOR_ROLE, False),
        (_deny(NotAction="backup:StartBackupJob"), OPERATOR_ROLE, False),
    ],
)
def test_which_deny_statements_apply(document: dict[str, Any], principal: str, denied: bool) -> None:
    call = lambda: policy.check_denied(document, "backup:DeleteRecoveryPoint", RP, principal)  # noqa: E731
    if denied:
        with pytest.raises(policy.AccessDeniedException):
            call()
    else:
        call()


# ---- CreatorRequestId ----------------------------------------------------------------------


def test_creator_request_id_round_trips_on_vaults_and_plans(backup: Any) -> None:
    vault = unique("vault")
    backup.create_backup_vault(BackupVaultName=vault, CreatorRequestId=f"bulwark-{vault}")
    assert backup.describe_backup_vault(BackupVaultName=vault)["CreatorRequestId"] == f"bulwark-{vault}"
    listed = {v["BackupVaultName"]: v for v in backup.list_backup_vaults()["BackupVaultList"]}
    assert listed[vault]["CreatorRequestId"] == f"bulwark-{vault}"

    name = unique("plan")
    rules = [{"RuleName": "daily", "TargetBackupVaultName": vault}]
    plan_id = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": name, "Rules": rules}, CreatorRequestId=f"bulwark-{name}"
    )["BackupPlanId"]
    plans = {p["BackupPlanId"]: p for p in backup.list_backup_plans()["BackupPlansList"]}
    assert plans[plan_id]["CreatorRequestId"] == f"bulwark-{name}"
    assert plans[plan_id]["BackupPlanName"] == name
    assert backup.get_backup_plan(BackupPlanId=plan_id)["CreatorRequestId"] == f"bulwark-{name}"
    versions = backup.list_backup_plan_versions(BackupPlanId=plan_id)["BackupPlanVersionsList"]
    assert [v["CreatorRequestId"] for v in versions] == [f"bulwark-{name}"]
