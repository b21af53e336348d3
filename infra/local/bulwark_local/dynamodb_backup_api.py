"""DynamoDB's own backup APIs where AWS Backup's points meet them.

- DescribeBackup, DeleteBackup and RestoreTableFromBackup take a DynamoDB backup ARN,
  `arn:aws:dynamodb:<region>:<account>:table/<table>/backup/<id>`, and refuse any other before
  looking anything up, as DynamoDB does (observed against DynamoDB:
  aws-controllers-k8s/dynamodb-controller, docs/api-quirks/backup.md, DDB-BACKUP-012, and
  table-restore.md, DDB-TABLE-273): ValidationException 'BackupArn is not valid' for another
  partition, service or an unknown Region (so an AWS Backup recovery point,
  `arn:aws:backup:...:recovery-point:<id>`, made with advanced DynamoDB backup, is refused),
  'Invalid Backup ARN' for a DynamoDB ARN that names no backup (a table's) or a string that is no
  ARN, AccessDeniedException 'Access is denied' for another account's backup.
- ListBackups filters by BackupType as its API reference says: USER unless the request says
  otherwise ("The default setting if no other backup types are specified"; observed in
  DDB-BACKUP-014), SYSTEM, AWS_BACKUP ("On-demand backup created by you from AWS Backup
  service": what AWS Backup makes without advanced features, backup/dynamodb_points.py), ALL
  ("All types of on-demand backups (USER and SYSTEM)"). A point made with advanced features is no
  DynamoDB backup and is never listed: ListBackups does not return AWS Backup's backups whatever
  the BackupType (boto/boto3#3523; cloud-custodian/cloud-custodian#8030 moved to AWS Backup's
  ListRecoveryPointsByResource for them).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, MockValidationException
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.responses import DynamoHandler, DynamoResult

BACKUP_RESOURCE = re.compile(r"table/[a-zA-Z0-9_.-]{3,255}/backup/[0-9]{14}-[0-9a-f]{8}")
LISTED = {"USER": ("USER",), "SYSTEM": ("SYSTEM",), "AWS_BACKUP": ("AWS_BACKUP",), "ALL": ("USER", "SYSTEM")}


def check_backup_arn(arn: str, account: str) -> None:
    """Refuse what DynamoDB refuses as a BackupArn before it looks the backup up."""
    parts = str(arn).split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise MockValidationException("Invalid Backup ARN")
    _, partition, service, region, arn_account, resource = parts
    if partition != "aws" or service != "dynamodb" or region not in dynamodb_backends[account].regions:
        raise MockValidationException("BackupArn is not valid")
    if arn_account != account:
        raise JsonRESTError(ERROR_TYPE_PREFIX + "AccessDeniedException", "Access is denied")
    if not BACKUP_RESOURCE.fullmatch(resource):
        raise MockValidationException("Invalid Backup ARN")


def _checking_arn(original: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    @functools.wraps(original)
    def handler(self: DynamoHandler) -> Any:
        check_backup_arn(self.body.get("BackupArn", ""), self.current_account)
        return original(self)

    return handler


def list_backups(self: DynamoHandler) -> DynamoResult:
    types = LISTED[self.body.get("BackupType") or "USER"]  # the value was validated against the enum
    backups = [b for b in self.dynamodb_backend.list_backups(self.body.get("TableName")) if b.type in types]
    return DynamoResult({"BackupSummaries": [b.summary for b in backups]})


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    for operation in ("describe_backup", "delete_backup", "restore_table_from_backup"):
        setattr(DynamoHandler, operation, _checking_arn(getattr(DynamoHandler, operation)))
    DynamoHandler.list_backups = list_backups  # type: ignore[method-assign]
