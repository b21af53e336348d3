"""AWS Backup's DynamoDB backups with its advanced features on (the default for a new account)
and off, the Region settings that switch them, DynamoDB's own backup APIs facing them, and
DescribeTable's item counts, stale as DynamoDB documents them (FIDELITY.md, "AWS Backup and
DynamoDB: advanced backups and item counts")."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROLE, unique, wait

SOURCE, DR = "us-east-1", "us-west-2"
KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}


class Account:
    """An account of the test's own (its administrator role), so Region settings stay in it."""

    def __init__(self, aws: Any):
        self.aws = aws
        self.id = str(random.randint(300_000_000_000, 399_999_999_999))
        creds = aws("sts").assume_role(
            RoleArn=f"arn:aws:iam::{self.id}:role/OrganizationAccountAccessRole", RoleSessionName="admin"
        )["Credentials"]
        self.admin = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    def client(self, service: str, region: str = SOURCE, credentials: dict[str, str] | None = None) -> Any:
        return self.aws(service, region, credentials=credentials or self.admin)

    def key(self, region: str = SOURCE) -> str:
        return self.client("kms", region).create_key(Description="test")["KeyMetadata"]["Arn"]

    def vault(self, region: str = SOURCE, key: str | None = None) -> tuple[str, str]:
        name = unique("vault")
        made = self.client("backup", region).create_backup_vault(BackupVaultName=name, **({"EncryptionKeyArn": key} if key else {}))
        return name, made["BackupVaultArn"]

    def table(self, items: int = 0, region: str = SOURCE, **settings: Any) -> tuple[str, str]:
        ddb = self.client("dynamodb", region)
        name = unique("orders")
        arn = ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **KEYS, **settings)["TableDescription"]["TableArn"]
        for i in range(items):
            ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i:03d}"}, "payload": {"S": "x" * 20}})
        return name, arn

    def advanced(self, on: bool, region: str = SOURCE) -> None:
        self.client("backup", region).update_region_settings(ResourceTypeManagementPreference={"DynamoDB": on})

    def backed_up(self, vault: str, arn: str, **job: Any) -> dict[str, Any]:
        backup = self.client("backup")
        started = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE, **job)
        assert wait(lambda: backup.describe_backup_job(BackupJobId=started["BackupJobId"]), "State")[-1] == "COMPLETED"
        return backup.describe_backup_job(BackupJobId=started["BackupJobId"])

    def copied(self, vault: str, rp: str, destination: str) -> dict[str, Any]:
        backup = self.client("backup")
        started = backup.start_copy_job(RecoveryPointArn=rp, SourceBackupVaultName=vault, DestinationBackupVaultArn=destination, IamRoleArn=ROLE)
        wait(lambda: backup.describe_copy_job(CopyJobId=started["CopyJobId"])["CopyJob"], "State")
        return backup.describe_copy_job(CopyJobId=started["CopyJobId"])["CopyJob"]

    def restored(self, rp: str, metadata: dict[str, str], region: str = SOURCE) -> dict[str, Any]:
        backup = self.client("backup", region)
        started = backup.start_restore_job(RecoveryPointArn=rp, Metadata=metadata, IamRoleArn=ROLE)
        wait(lambda: backup.describe_restore_job(RestoreJobId=started["RestoreJobId"]), "Status")
        return backup.describe_restore_job(RestoreJobId=started["RestoreJobId"])

    def refresh(self, endpoint: str, region: str = SOURCE, table: str | None = None) -> dict[str, Any]:
        return _control(endpoint, "/moto-api/bulwark/dynamodb/refresh-item-counts", {"account": self.id, "region": region, **({"table": table} if table else {})})


def _control(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"].get("Message", "")


@pytest.fixture
def account(aws: Any) -> Account:
    return Account(aws)


# ---- Region settings -----------------------------------------------------------------------


def test_region_settings_start_with_advanced_dynamodb_backup_on_and_are_kept_per_region(account: Account) -> None:
    backup = account.client("backup")
    settings = backup.describe_region_settings()
    assert settings["ResourceTypeManagementPreference"] == {"DynamoDB": True, "EFS": True}
    assert settings["ResourceTypeOptInPreference"]["DynamoDB"] is True

    backup.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": False}, ResourceTypeOptInPreference={"S3": False})
    changed = backup.describe_region_settings()
    assert changed["ResourceTypeManagementPreference"] == {"DynamoDB": False, "EFS": True}
    assert changed["ResourceTypeOptInPreference"]["S3"] is False and changed["ResourceTypeOptInPreference"]["EBS"] is True
    # another Region of the account, and another account, keep the default
    assert account.client("backup", DR).describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"] is True
    assert Account(account.aws).client("backup").describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"] is True


def test_region_settings_need_their_own_iam_actions(account: Account) -> None:
    iam = account.client("iam")
    iam.create_role(RoleName="settings-reader", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.put_role_policy(RoleName="settings-reader", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "backup:DescribeRegionSettings", "Resource": "*"}]}
    ))
    creds = account.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account.id}:role/settings-reader", RoleSessionName="reader")["Credentials"]
    reader = account.client("backup", credentials={
        "aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"], "aws_session_token": creds["SessionToken"],
    })
    assert reader.describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"] is True
    code, message = _error(lambda: reader.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": False}))
    assert code == "AccessDeniedException" and "backup:UpdateRegionSettings" in message


# ---- advanced DynamoDB backup on -----------------------------------------------------------


def test_an_advanced_point_is_aws_backups_own_with_the_vaults_key_and_restores_in_another_region(account: Account, endpoint: str) -> None:
    table_key, vault_key, dr_key = account.key(), account.key(), account.key(DR)
    name, arn = account.table(12, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": table_key},
                              Tags=[{"Key": "team", "Value": "orders"}])
    vault, _ = account.vault(key=vault_key)
    dr_vault, dr_vault_arn = account.vault(DR, key=dr_key)
    backup, ddb = account.client("backup"), account.client("dynamodb")

    job = account.backed_up(vault, arn, Lifecycle={"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365})
    rp = job["RecoveryPointArn"]
    assert rp.startswith(f"arn:aws:backup:{SOURCE}:{account.id}:recovery-point:")
    assert job["EncryptionKeyArn"] == vault_key and job["IsEncrypted"] is True
    point = backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=rp)
    assert (point["EncryptionKeyArn"], point["EncryptionKeyType"]) == (vault_key, "CUSTOMER_MANAGED_KMS_KEY")
    assert set(point["CalculatedLifecycle"]) == {"MoveToColdStorageAt", "DeleteAt"}  # cold storage applies
    assert backup.list_tags(ResourceArn=rp)["Tags"] == {"team": "orders"}  # inherited from the table

    # no DynamoDB backup: DynamoDB's APIs refuse the ARN and list nothing
    assert _error(lambda: ddb.describe_backup(BackupArn=rp)) == ("ValidationException", "BackupArn is not valid")
    assert _error(lambda: ddb.restore_table_from_backup(TargetTableName=unique("x"), BackupArn=rp))[0] == "ValidationException"
    assert ddb.list_backups(TableName=name, BackupType="ALL")["BackupSummaries"] == []

    copy = account.copied(vault, rp, dr_vault_arn)
    assert copy["State"] == "COMPLETED", copy.get("StatusMessage")
    assert copy["DestinationRecoveryPointArn"].startswith(f"arn:aws:backup:{DR}:{account.id}:recovery-point:")
    assert copy["DestinationEncryptionKeyArn"] == dr_key

    target = unique("restored")
    done = account.restored(copy["DestinationRecoveryPointArn"], {
        "targetTableName": target, "encryptionType": "KMS", "kmsMasterKeyArn": dr_key, "deletionProtection": "true",
    }, DR)
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    dr_ddb = account.client("dynamodb", DR)
    table = dr_ddb.describe_table(TableName=target)["Table"]
    assert done["CreatedResourceArn"] == table["TableArn"] and table["TableArn"].startswith(f"arn:aws:dynamodb:{DR}:")
    assert table["SSEDescription"]["KMSMasterKeyArn"] == dr_key
    assert table["DeletionProtectionEnabled"] is True
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert dr_ddb.scan(TableName=target, Select="COUNT")["Count"] == 12
    assert table["ItemCount"] == 0  # a restored table's count waits for its first refresh
    account.refresh(endpoint, DR, target)
    assert dr_ddb.describe_table(TableName=target)["Table"]["ItemCount"] == 12


def test_an_advanced_restore_defaults_to_an_aws_owned_key_and_refuses_a_missing_key(account: Account) -> None:
    _, arn = account.table(3)
    vault, _ = account.vault()
    rp = account.backed_up(vault, arn)["RecoveryPointArn"]
    target = unique("plain")
    assert account.restored(rp, {"TargetTableName": target})["Status"] == "COMPLETED"  # keys are not case sensitive
    assert "SSEDescription" not in account.client("dynamodb").describe_table(TableName=target)["Table"]

    managed = unique("managed")
    assert account.restored(rp, {"targetTableName": managed, "encryptionType": "KMS"})["Status"] == "COMPLETED"
    sse = account.client("dynamodb").describe_table(TableName=managed)["Table"]["SSEDescription"]
    aws_managed = account.client("kms").describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["Arn"]
    assert sse["KMSMasterKeyArn"] == aws_managed

    elsewhere = account.key(DR)  # a key of another Region
    failed = account.restored(rp, {"targetTableName": unique("bad"), "encryptionType": "KMS", "kmsMasterKeyArn": elsewhere})
    assert failed["Status"] == "FAILED" and "KMS validation error" in failed["StatusMessage"]
    failed = account.restored(rp, {"targetTableName": unique("bad"), "encryptionType": "SSE-S3"})
    assert failed["Status"] == "FAILED" and "encryptionType" in failed["StatusMessage"]


# ---- advanced DynamoDB backup off ----------------------------------------------------------


def test_without_advanced_features_a_point_is_a_dynamodb_backup_encrypted_as_its_table(account: Account) -> None:
    account.advanced(False)
    table_key, vault_key = account.key(), account.key()
    name, arn = account.table(4, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": table_key})
    vault, _ = account.vault(key=vault_key)
    backup, ddb = account.client("backup"), account.client("dynamodb")

    job = account.backed_up(vault, arn, Lifecycle={"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365})
    rp = job["RecoveryPointArn"]
    assert rp.startswith(f"{arn}/backup/")
    assert job["EncryptionKeyArn"] == table_key  # the table's key, not the vault's
    point = backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=rp)
    assert (point["EncryptionKeyArn"], point["EncryptionKeyType"], point["IsEncrypted"]) == (table_key, "CUSTOMER_MANAGED_KMS_KEY", True)
    assert set(point["CalculatedLifecycle"]) == {"DeleteAt"}  # no cold storage for a DynamoDB backup

    described = ddb.describe_backup(BackupArn=rp)["BackupDescription"]
    assert described["BackupDetails"]["BackupType"] == "AWS_BACKUP"
    assert ddb.list_backups(TableName=name)["BackupSummaries"] == []  # the default BackupType is USER
    assert [b["BackupArn"] for b in ddb.list_backups(TableName=name, BackupType="AWS_BACKUP")["BackupSummaries"]] == [rp]
    assert ddb.list_backups(TableName=name, BackupType="ALL")["BackupSummaries"] == []  # ALL: USER and SYSTEM

    target = unique("restored")
    done = account.restored(rp, {"targetTableName": target})
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    assert ddb.scan(TableName=target, Select="COUNT")["Count"] == 4
    assert "SSEDescription" not in ddb.describe_table(TableName=target)["Table"]  # an AWS owned key, unless asked

    _, plain = account.table(1)
    owned = backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=account.backed_up(vault, plain)["RecoveryPointArn"])
    assert owned["EncryptionKeyType"] == "AWS_OWNED_KMS_KEY" and "EncryptionKeyArn" not in owned

    account.advanced(True)  # later backups follow the setting; the earlier point stays a DynamoDB backup
    assert account.backed_up(vault, arn)["RecoveryPointArn"].startswith(f"arn:aws:backup:{SOURCE}:")
    assert ddb.describe_backup(BackupArn=rp)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "AVAILABLE"


def test_without_advanced_features_a_point_is_copied_only_within_its_region_and_account(account: Account, aws: Any) -> None:
    account.advanced(False)
    _, arn = account.table(2)
    vault, _ = account.vault()
    _, dr_vault_arn = account.vault(DR)
    other = Account(aws)
    _, other_vault_arn = other.vault()
    _, same_region_arn = account.vault()
    rp = account.backed_up(vault, arn)["RecoveryPointArn"]

    for destination in (dr_vault_arn, other_vault_arn):
        copy = account.copied(vault, rp, destination)
        assert copy["State"] == "FAILED"
        assert "advanced DynamoDB backup" in copy["StatusMessage"] and "DestinationRecoveryPointArn" not in copy
    copy = account.copied(vault, rp, same_region_arn)
    assert copy["State"] == "COMPLETED" and copy["DestinationRecoveryPointArn"].startswith(f"{arn}/backup/")


def test_a_plans_copy_rule_fails_for_a_dynamodb_backup_without_advanced_features(account: Account, endpoint: str) -> None:
    region = "eu-west-3"
    account.advanced(False, region)
    backup = account.client("backup", region)
    account.table(1, region=region)
    vault, _ = account.vault(region)
    _, dr_vault_arn = account.vault("eu-central-1")
    plan = backup.create_backup_plan(BackupPlan={"BackupPlanName": "daily", "Rules": [{
        "RuleName": "daily", "TargetBackupVaultName": vault,
        "CopyActions": [{"DestinationBackupVaultArn": dr_vault_arn}],
    }]})
    backup.create_backup_selection(BackupPlanId=plan["BackupPlanId"], BackupSelection={
        "SelectionName": "tables", "IamRoleArn": ROLE, "Resources": ["arn:aws:dynamodb:*:*:table/*"],
    })
    ran = _control(endpoint, "/moto-api/bulwark/backup/run-plans", {"account": account.id, "region": region})
    assert len(ran["BackupJobIds"]) == 1 and len(ran["CopyJobIds"]) == 1
    assert wait(lambda: backup.describe_backup_job(BackupJobId=ran["BackupJobIds"][0]), "State")[-1] == "COMPLETED"
    copy = backup.describe_copy_job(CopyJobId=ran["CopyJobIds"][0])["CopyJob"]
    assert wait(lambda: backup.describe_copy_job(CopyJobId=ran["CopyJobIds"][0])["CopyJob"], "State")[-1] == "FAILED"
    failed = backup.describe_copy_job(CopyJobId=ran["CopyJobIds"][0])["CopyJob"]
    assert "advanced DynamoDB backup" in failed["StatusMessage"] and failed["MessageCategory"] == "FAILURE"
    assert copy["CreatedByBackupJobId"] == ran["BackupJobIds"][0]


# ---- DynamoDB's backup APIs ----------------------------------------------------------------


def test_dynamodb_backup_apis_refuse_arns_that_name_no_dynamodb_backup(account: Account) -> None:
    ddb = account.client("dynamodb")
    name, arn = account.table()
    recovery_point = f"arn:aws:backup:{SOURCE}:{account.id}:recovery-point:7692D754-5D65-4066-81ED-4F2368B44B3B"
    assert _error(lambda: ddb.describe_backup(BackupArn=recovery_point)) == ("ValidationException", "BackupArn is not valid")
    assert _error(lambda: ddb.delete_backup(BackupArn=recovery_point)) == ("ValidationException", "BackupArn is not valid")
    assert _error(lambda: ddb.describe_backup(BackupArn=arn + "/index/some-index-name")) == ("ValidationException", "Invalid Backup ARN")
    assert _error(lambda: ddb.describe_backup(BackupArn="x" * 48)) == ("ValidationException", "Invalid Backup ARN")
    foreign = f"arn:aws:dynamodb:{SOURCE}:111122223333:table/{name}/backup/01700000000000-0a1b2c3d"
    assert _error(lambda: ddb.describe_backup(BackupArn=foreign)) == ("AccessDeniedException", "Access is denied")
    missing = f"{arn}/backup/01700000000000-0a1b2c3d"
    assert _error(lambda: ddb.describe_backup(BackupArn=missing))[0] == "BackupNotFoundException"

    mine = ddb.create_backup(TableName=name, BackupName="by-hand")["BackupDetails"]
    assert mine["BackupType"] == "USER"
    assert [b["BackupArn"] for b in ddb.list_backups(TableName=name)["BackupSummaries"]] == [mine["BackupArn"]]
    assert ddb.describe_backup(BackupArn=mine["BackupArn"])["BackupDescription"]["BackupDetails"]["BackupArn"] == mine["BackupArn"]


# ---- item counts ---------------------------------------------------------------------------


def test_item_counts_are_those_of_the_last_refresh_while_scan_and_query_count_exactly(account: Account, endpoint: str) -> None:
    name, arn = account.table(5)
    ddb = account.client("dynamodb")
    table = ddb.describe_table(TableName=name)["Table"]
    assert (table["ItemCount"], table["TableSizeBytes"]) == (0, 0)  # new: not refreshed yet
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 5
    query = ddb.query(TableName=name, KeyConditionExpression="pk = :k", ExpressionAttributeValues={":k": {"S": "k001"}}, Select="COUNT")
    assert query["Count"] == 1

    answer = account.refresh(endpoint, table=name)
    assert [t["TableName"] for t in answer["tables"]] == [name] and answer["tables"][0]["ItemCount"] == 5
    refreshed = ddb.describe_table(TableName=name)["Table"]
    assert refreshed["ItemCount"] == 5 and refreshed["TableSizeBytes"] > 0

    ddb.put_item(TableName=name, Item={"pk": {"S": "late"}})
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 5  # stale until the next refresh
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 6

    account.advanced(False)  # a DynamoDB backup keeps the statistics its table reported
    vault, _ = account.vault()
    rp = account.backed_up(vault, arn)["RecoveryPointArn"]
    source = ddb.describe_backup(BackupArn=rp)["BackupDescription"]
    assert source["SourceTableDetails"]["ItemCount"] == 5
    assert source["BackupDetails"]["BackupSizeBytes"] == refreshed["TableSizeBytes"]
    account.refresh(endpoint)  # every table of the account and Region
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 6
    assert ddb.describe_backup(BackupArn=rp)["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 5

    for bad in ({"account": "nope"}, {"account": account.id, "table": "no-such-table"}):
        with pytest.raises(urllib.error.HTTPError) as err:
            _control(endpoint, "/moto-api/bulwark/dynamodb/refresh-item-counts", bad)
        assert err.value.code == 400


def test_a_table_is_refreshed_at_every_six_hours_of_its_age() -> None:
    from bulwark_local import item_counts
    from moto.core.utils import utcnow
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    assert [item_counts.refreshes_due(h * 3600) for h in (0, 5.99, 6, 11.9, 12, 25)] == [0, 0, 1, 1, 2, 4]
    backend = dynamodb_backends["444455556666"]["us-east-1"]
    table = Table("aging", account_id="444455556666", region="us-east-1", schema=KEYS["KeySchema"], attr=KEYS["AttributeDefinitions"])
    backend.tables["aging"] = table
    table.put_item({"pk": {"S": "a"}})
    assert item_counts.reported(table).item_count == 0
    table.created_at = utcnow() - timedelta(hours=6, minutes=1)  # the table is six hours old
    assert item_counts.reported(table).item_count == 1
    table.put_item({"pk": {"S": "b"}})
    assert item_counts.reported(table).item_count == 1  # the next refresh is at twelve hours
    table.created_at = utcnow() - timedelta(hours=12, minutes=1)
    assert item_counts.reported(table).item_count == 2
