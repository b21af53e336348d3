"""A copy into another account's vault: only within one organization, and only where the
destination vault's access policy allows `backup:CopyIntoBackupVault` (FIDELITY.md, "AWS
Backup: copies, encryption and restore metadata")."""

from __future__ import annotations

import json
import random
from typing import Any

from conftest import administrator, organization, unique, wait

REGION = "ap-northeast-3"  # a Region no other test backs up in


def _copy(backup: Any, vault: str, point: str, destination: str, role: str) -> dict[str, Any]:
    job = backup.start_copy_job(
        RecoveryPointArn=point, SourceBackupVaultName=vault, DestinationBackupVaultArn=destination, IamRoleArn=role
    )
    wait(lambda: backup.describe_copy_job(CopyJobId=job["CopyJobId"])["CopyJob"], "State")
    return backup.describe_copy_job(CopyJobId=job["CopyJobId"])["CopyJob"]


def test_a_copy_into_another_account_needs_its_organization_and_its_vaults_leave(aws: Any) -> None:
    # Given an organization's management account with a table backed up, and its member's vault
    org_id, management, member = organization(aws)
    source = administrator(aws, management)
    role = f"arn:aws:iam::{management}:role/backup"
    table = aws("dynamodb", REGION, source).create_table(
        TableName=unique("ledger"),
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    backup = aws("backup", REGION, source)
    vault = unique("vault")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=table, IamRoleArn=role)
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
    point = job["RecoveryPointArn"]
    central = aws("backup", REGION, administrator(aws, member))
    name = unique("central")
    destination = central.create_backup_vault(BackupVaultName=name)["BackupVaultArn"]

    # When copied there with no access policy on the vault, then Then refused
    refused = _copy(backup, vault, point, destination, role)
    assert refused["State"] == "FAILED"
    assert refused["StatusMessage"].startswith("Access Denied trying to call AWS Backup service")

    # When the vault lets another organization copy in, it is refused still
    def allow(org: str) -> None:
        central.put_backup_vault_access_policy(
            BackupVaultName=name,
            Policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "backup:CopyIntoBackupVault",
                    "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}},
                }],
            }),
        )

    allow("o-0000000000")
    assert _copy(backup, vault, point, destination, role)["State"] == "FAILED"

    # When it lets its own organization copy in, the copy lands there
    allow(org_id)
    copied = _copy(backup, vault, point, destination, role)
    assert copied["State"] == "COMPLETED", copied.get("StatusMessage")
    listed = central.list_recovery_points_by_backup_vault(BackupVaultName=name)["RecoveryPoints"]
    assert [p["ResourceArn"] for p in listed] == [table]

    # And an account outside the organization cannot copy in, whatever the policy says
    outsider = str(random.randint(400_000_000_000, 499_999_999_999))
    central.put_backup_vault_access_policy(
        BackupVaultName=name,
        Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{outsider}:root"},
                "Action": "backup:CopyIntoBackupVault", "Resource": "*",
            }],
        }),
    )
    other = aws("backup", REGION, administrator(aws, outsider))
    other_vault = unique("outsider")
    other.create_backup_vault(BackupVaultName=other_vault)
    other_table = aws("dynamodb", REGION, administrator(aws, outsider)).create_table(
        TableName=unique("other"),
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    other_role = f"arn:aws:iam::{outsider}:role/backup"
    other_job = other.start_backup_job(BackupVaultName=other_vault, ResourceArn=other_table, IamRoleArn=other_role)
    assert wait(lambda: other.describe_backup_job(BackupJobId=other_job["BackupJobId"]), "State")[-1] == "COMPLETED"
    outside = _copy(other, other_vault, other_job["RecoveryPointArn"], destination, other_role)
    assert outside["State"] == "FAILED"
    assert "not in the same organization" in outside["StatusMessage"]
