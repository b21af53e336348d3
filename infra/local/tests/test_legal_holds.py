"""AWS Backup's legal holds: a hold takes the matching recovery points that exist when it is
made, a held point cannot be deleted until every hold on it is cancelled, and a copy in
another region is not held (FIDELITY.md, "AWS Backup: legal holds")."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ROLE, unique, wait

REGION, DR = "me-south-1", "me-central-1"  # Regions no other test backs up in


def _table(aws: Any) -> str:
    name = unique("held")
    return aws("dynamodb", REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]


def _point(aws: Any, vault: str, resource: str) -> str:
    backup = aws("backup", REGION)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=resource, IamRoleArn=ROLE)
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
    return job["RecoveryPointArn"]


def test_a_held_point_cannot_be_deleted_until_its_hold_is_cancelled(aws: Any) -> None:
    backup = aws("backup", REGION)
    vault = unique("vault")
    backup.create_backup_vault(BackupVaultName=vault)
    dr_vault = unique("dr")
    dr_arn = aws("backup", DR).create_backup_vault(BackupVaultName=dr_vault)["BackupVaultArn"]
    held_table, other_table = _table(aws), _table(aws)
    held, other = _point(aws, vault, held_table), _point(aws, vault, other_table)
    copy = backup.start_copy_job(
        RecoveryPointArn=held, SourceBackupVaultName=vault, DestinationBackupVaultArn=dr_arn, IamRoleArn=ROLE
    )
    copied = wait(lambda: backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"], "State")
    assert copied[-1] == "COMPLETED"
    copy_arn = backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"]["DestinationRecoveryPointArn"]

    request = {
        "Title": "matter-1",
        "Description": "litigation",
        "IdempotencyToken": unique("token"),
        "RecoveryPointSelection": {"ResourceIdentifiers": [held_table]},
    }
    hold = backup.create_legal_hold(**request)
    assert hold["Status"] == "ACTIVE"
    assert backup.create_legal_hold(**request)["LegalHoldId"] == hold["LegalHoldId"]
    later = _point(aws, vault, held_table)

    listed = backup.list_recovery_points_by_legal_hold(LegalHoldId=hold["LegalHoldId"])["RecoveryPoints"]
    assert [(p["RecoveryPointArn"], p["ResourceArn"]) for p in listed] == [(held, held_table)]
    assert [h["LegalHoldId"] for h in backup.list_legal_holds()["LegalHolds"]] == [hold["LegalHoldId"]]

    with pytest.raises(backup.exceptions.InvalidRequestException, match="legal hold"):
        backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=held)
    # Not held: another store's point, a point made after the hold, the copy in another region.
    backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=other)
    backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=later)
    aws("backup", DR).delete_recovery_point(BackupVaultName=dr_vault, RecoveryPointArn=copy_arn)

    backup.cancel_legal_hold(LegalHoldId=hold["LegalHoldId"], CancelDescription="settled", RetainRecordInDays=30)
    got = backup.get_legal_hold(LegalHoldId=hold["LegalHoldId"])
    assert (got["Status"], got["CancelDescription"]) == ("CANCELED", "settled")
    assert got["RetainRecordUntil"] > got["CancellationDate"]
    with pytest.raises(backup.exceptions.InvalidResourceStateException):
        backup.cancel_legal_hold(LegalHoldId=hold["LegalHoldId"], CancelDescription="again")
    backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=held)


def test_an_unknown_hold_is_not_found(aws: Any) -> None:
    backup = aws("backup", REGION)
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        backup.get_legal_hold(LegalHoldId="no-such-hold")
