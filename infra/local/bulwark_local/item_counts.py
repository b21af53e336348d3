"""DynamoDB's table statistics, as stale as AWS documents them.

ItemCount: "The number of items in the specified table. DynamoDB updates this value
approximately every six hours. Recent changes might not be reflected in this value."
TableSizeBytes likewise (DynamoDB API reference, TableDescription). moto answers the exact
count at every DescribeTable (and a size of 0). Here DescribeTable (and every TableDescription:
CreateTable's, UpdateTable's, DeleteTable's answers, DescribeBackup's SourceTableDetails) reports
the values as of the table's last refresh:

- a table is refreshed at every six hours of its age (6 h, 12 h, ...), so a table just created,
  restored or made a replica reports 0 and 0 bytes until its first refresh; the refresh is
  applied at the first read after it is due, with the values of that moment;
- `POST /moto-api/bulwark/dynamodb/refresh-item-counts {"account", "region", "table"?}`
  refreshes now (one table, or every table of the account and Region);
- a DynamoDB backup keeps its table's statistics as of the backup (DescribeBackup's
  SourceTableDetails, BackupSizeBytes): observed against DynamoDB, a 1-item table's backup
  reports 0 items and 0 bytes (aws-controllers-k8s/dynamodb-controller, docs/api-quirks/backup.md,
  DDB-BACKUP-008).

Scan and Query (Select=COUNT included) read the items, so their counts stay exact.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable

from moto.core.utils import utcnow
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Backup, Table

REFRESH_SECONDS = 6 * 3600
PATH = "/moto-api/bulwark/dynamodb/refresh-item-counts"
_KEY = "_bulwark_statistics"


@dataclass(frozen=True)
class Statistics:
    item_count: int
    size_bytes: int
    refreshes: int  # how many six-hour refreshes of the table's age these values stand for


def refreshes_due(age_seconds: float) -> int:
    """How many refreshes a table of this age has had: one at every six hours of its age."""
    return int(max(age_seconds, 0.0) // REFRESH_SECONDS)


def _measured(table: Table, refreshes: int) -> Statistics:
    items = list(table.all_items())
    return Statistics(len(items), sum(item.size() for item in items), refreshes)


def _live(table: Table) -> bool:
    """A table of a DynamoDB backend, not a backup's frozen copy of one."""
    backend = dynamodb_backends[table.account_id][table.region_name]
    return backend.tables.get(table.name) is table


def _age(table: Table) -> float:
    return (utcnow() - table.created_at).total_seconds()


def reported(table: Table) -> Statistics:
    """The statistics DynamoDB reports for the table now."""
    stats = table.__dict__.get(_KEY) or Statistics(0, 0, 0)
    if _live(table):
        due = refreshes_due(_age(table))
        if due > stats.refreshes:
            stats = _measured(table, due)
        table.__dict__[_KEY] = stats
    return stats


def refresh(table: Table) -> Statistics:
    """Refresh now (the control path); the next refresh is still at the next six hours of age."""
    stats = _measured(table, max(refreshes_due(_age(table)), reported(table).refreshes))
    table.__dict__[_KEY] = stats
    return stats


def _describe(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        result: dict[str, Any] = original(self, base_key)
        stats = reported(self)
        result[base_key]["ItemCount"] = stats.item_count
        result[base_key]["TableSizeBytes"] = stats.size_bytes
        return result

    return describe


def _backup_init(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def init(self: Backup, account_id: str, region_name: str, name: str, table: Table, *args: Any, **kwargs: Any) -> None:
        reported(table)  # a refresh that is due is applied before the backup copies the table
        original(self, account_id, region_name, name, table, *args, **kwargs)

    return init


def _backup_size(original: property) -> property:
    """BackupSizeBytes: the backed-up table's size as DynamoDB last measured it (moto: 123)."""

    def get(self: Backup) -> dict[str, Any]:
        value: dict[str, Any] = original.fget(self)  # type: ignore[misc]
        value["BackupSizeBytes"] = reported(self.table).size_bytes
        return value

    return property(get)


# ---- the control path ------------------------------------------------------------------


def _refresh_request(body: dict[str, Any]) -> dict[str, Any]:
    account, region = str(body.get("account", "")), str(body.get("region", "us-east-1"))
    if not re.fullmatch(r"\d{12}", account):
        raise ValueError(f"account must be 12 digits, not {account!r}")
    tables = dynamodb_backends[account][region].tables
    names = [str(body["table"])] if body.get("table") else sorted(tables)
    missing = [n for n in names if n not in tables]
    if missing:
        raise ValueError(f"no table {missing[0]!r} in account {account}, {region}")
    refreshed = {n: refresh(tables[n]) for n in names}
    return {
        "account": account,
        "region": region,
        "tables": [{"TableName": n, "ItemCount": s.item_count, "TableSizeBytes": s.size_bytes} for n, s in refreshed.items()],
    }


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    import moto.moto_api._internal.urls

    from bulwark_local.template import post_endpoint

    Table.describe = _describe(Table.describe)  # type: ignore[method-assign]
    Backup.__init__ = _backup_init(Backup.__init__)  # type: ignore[method-assign]
    Backup.details = _backup_size(Backup.details)  # type: ignore[assignment,method-assign]
    Backup.summary = _backup_size(Backup.summary)  # type: ignore[assignment,method-assign]
    moto.moto_api._internal.urls.url_paths["{0}" + PATH] = post_endpoint(PATH, _refresh_request, ())
