"""DynamoDB recovery points, as AWS Backup makes them with its advanced DynamoDB backup
features on or off (the account and Region's `ResourceTypeManagementPreference`,
region_settings.py; on by default). The mode is read when the backup is taken.

Advanced features on ("full AWS Backup management", developer guide "Advanced DynamoDB
backup"; "Encryption for backups in AWS Backup"):
    arn:aws:backup:<r>:<a>:recovery-point:<UUID>, not a DynamoDB backup: DynamoDB's own
    backup APIs do not know it (dynamodb_backup_api.py). The extension holds a copy of the
    table (settings and items). Encrypted with the vault's key. Cold storage applies, copies go
    to any Region or account, and the point inherits the table's tags.
Advanced features off:
    a DynamoDB backup of BackupType AWS_BACKUP in the table's Region,
    arn:aws:dynamodb:<r>:<a>:table/<t>/backup/<id>, encrypted as the table is (its AWS owned,
    AWS managed or customer managed key), without cold storage; it is copied within its
    account and Region only: a cross-Region or cross-account copy job fails.

Either restores as a new table from what the point holds, with the restore metadata keys of
a DynamoDB restore: targetTableName (required), encryptionType (Default: an AWS owned key;
KMS: kmsMasterKeyArn, else the AWS managed key) and deletionProtection.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

from moto.backup.models import backup_backends
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Backup as DynamoBackup
from moto.dynamodb.models.table import RestoredTable, Table
from moto.kms.models import kms_backends

from bulwark_local import item_counts

from . import kinds, region_settings

AWS_BACKUP = "AWS_BACKUP"  # DynamoDB's BackupType of the backups AWS Backup makes
AWS_MANAGED_ALIAS = "alias/aws/dynamodb"
COPY_REFUSED = (
    "Recovery point {arn} is a DynamoDB backup taken without AWS Backup's advanced DynamoDB backup "
    "features: it cannot be copied to another Region or account ({destination}). Enable advanced "
    "DynamoDB backup (UpdateRegionSettings ResourceTypeManagementPreference DynamoDB=true) and back up again."
)


# ---- backup --------------------------------------------------------------------------------


def backup(account: str, region: str, name: str, job_id: str) -> dict[str, Any]:
    table = dynamodb_backends[account][region].tables.get(name)
    if table is None:
        raise kinds.KindError(f"Resource arn:aws:dynamodb:{region}:{account}:table/{name} not found")
    if region_settings.advanced_dynamodb(account, region):
        return _advanced_backup(table, account, region)
    return _native_backup(table, account, region, job_id)


def _restore_metadata(table: Table) -> dict[str, str]:
    return {"targetTableName": table.name, "encryptionType": "Default", "deletionProtection": "false"}


def _advanced_backup(table: Table, account: str, region: str) -> dict[str, Any]:
    held = copy.deepcopy(table)  # the table's settings and items as they are now
    arn = kinds._backup_rp_arn(account, region)
    tags = {t["Key"]: t["Value"] for t in (table.tags or [])}
    if tags:  # "Backups inherit tags from their source DynamoDB tables"
        backup_backends[account][region].tag_resource(arn, tags)
    return {
        "arn": arn,
        "account": account,
        "region": region,
        "size": sum(item.size() for item in held.all_items()),
        "table": held,
        "restore_metadata": _restore_metadata(table),
    }


def _native_backup(table: Table, account: str, region: str, job_id: str) -> dict[str, Any]:
    made = dynamodb_backends[account][region].create_backup(table.name, f"awsbackup-job-{job_id}")
    made.type = AWS_BACKUP
    return {
        "arn": made.arn,
        "account": account,
        "region": region,
        "size": item_counts.reported(table).size_bytes,  # DynamoDB's backup size lags as its table's does
        "native": True,
        "cold_storage": False,  # the Lifecycle API: cold storage is ignored for types that lack it
        "encryption": table_encryption(table),
        "restore_metadata": _restore_metadata(table),
    }


# ---- encryption ----------------------------------------------------------------------------


def _key_arn(account: str, region: str, key: str | None) -> str | None:
    if not key:
        return None
    try:
        return kms_backends[account][region].describe_key(key).arn
    except Exception:  # a key KMS does not know: as the table names it
        return key


def _aws_managed_key(account: str, region: str) -> str | None:
    kms = kms_backends[account][region]
    return kms.describe_key(AWS_MANAGED_ALIAS).arn if kms.alias_exists(AWS_MANAGED_ALIAS) else None


def table_encryption(table: Table) -> dict[str, Any]:
    """How a backup DynamoDB makes is encrypted: as its table ("Backups of resource types that
    are not fully managed by AWS Backup typically inherit the encryption settings from their
    source resource"). AWS Backup's EncryptionKeyType has no value for an AWS managed key."""
    sse = table.sse_specification or {}
    if not sse.get("Enabled"):
        return {"IsEncrypted": True, "EncryptionKeyType": "AWS_OWNED_KMS_KEY"}
    key = _key_arn(table.account_id, table.region_name, sse.get("KMSMasterKeyId"))
    if key is None or key == _aws_managed_key(table.account_id, table.region_name):
        return {"IsEncrypted": True, "EncryptionKeyArn": key or _aws_managed_key(table.account_id, table.region_name)}
    return {"IsEncrypted": True, "EncryptionKeyArn": key, "EncryptionKeyType": "CUSTOMER_MANAGED_KMS_KEY"}


# ---- copy ----------------------------------------------------------------------------------


def copy_point(backing: dict[str, Any], account: str, region: str, job_id: str) -> dict[str, Any]:
    if not backing.get("native"):
        # The held table is never changed (a restore copies its items), so copies share it.
        return {**backing, "arn": kinds._backup_rp_arn(account, region), "account": account, "region": region}
    if (account, region) != (backing["account"], backing["region"]):
        raise kinds.KindError(COPY_REFUSED.format(arn=backing["arn"], destination=f"account {account}, {region}"))
    ddb = dynamodb_backends[account][region]
    source = ddb.get_backup(backing["arn"])
    made = DynamoBackup(account, region, f"awsbackup-copy-{job_id}", source.table, type_=AWS_BACKUP)
    ddb.backups[made.arn] = made
    return {**backing, "arn": made.arn}


def forget(backing: dict[str, Any]) -> None:
    if backing.get("native"):
        dynamodb_backends[backing["account"]][backing["region"]].backups.pop(backing["arn"], None)


# ---- restore -------------------------------------------------------------------------------


def _held_table(backing: dict[str, Any]) -> Table:
    if backing.get("native"):
        return dynamodb_backends[backing["account"]][backing["region"]].get_backup(backing["arn"]).table
    return backing["table"]


def _restored_encryption(metadata: dict[str, str], account: str, region: str) -> dict[str, Any] | None:
    """The restored table's SSE: `encryptionType` Default (or none) is an AWS owned key, KMS the
    key `kmsMasterKeyArn` names in the restore's Region, else the AWS managed key. A key KMS
    does not have fails the restore, as DynamoDB refuses it."""
    encryption = (kinds._meta(metadata, "encryptionType") or "Default").strip()
    if encryption.lower() == "default":
        return None
    if encryption.upper() != "KMS":
        raise kinds.KindError(f"Restore metadata encryptionType must be Default or KMS, not {encryption!r}")
    key = kinds._meta(metadata, "kmsMasterKeyArn")
    if not key:
        default = Table._get_default_encryption_key(None, account, region)  # type: ignore[arg-type]
        return {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": default}
    try:
        found = kms_backends[account][region].describe_key(key)
    except Exception:
        raise kinds.KindError(f"ValidationException: KMS validation error: NotFoundException: Key '{key}' does not exist in {region}")
    return {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": found.arn}


def restore(backing: dict[str, Any], metadata: dict[str, str], job_id: str) -> str:
    target = kinds._meta(metadata, "targetTableName")
    if not target:
        raise kinds.KindError("Restore metadata targetTableName is required")
    account, region = backing["account"], backing["region"]
    ddb = dynamodb_backends[account][region]
    if target in ddb.tables:
        raise kinds.KindError(f"Table already exists: {target}")
    sse = _restored_encryption(metadata, account, region)
    source = _held_table(backing)
    table = RestoredTable(target, account_id=account, region=region, backup=SimpleNamespace(arn=backing["arn"], table=source))
    table.billing_mode = source.billing_mode  # a restore keeps the capacity mode
    table.sse_specification = sse
    table.deletion_protection_enabled = kinds._true(kinds._meta(metadata, "deletionProtection", "false"))
    ddb.tables[target] = table
    for _ in range(kinds._dropped(account, region)):
        item = next(iter(table.all_items()), None)
        if item is not None:
            table.delete_item(item.hash_key, item.range_key)
    return table.table_arn
