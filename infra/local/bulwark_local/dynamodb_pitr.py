"""DynamoDB's own point-in-time recovery: a restorable window that moves with the clock.

DescribeContinuousBackups answers `EarliestRestorableDateTime` and `LatestRestorableDateTime`;
"LatestRestorableDateTime is typically 5 minutes before the current time", and a table is
restorable "to any point in time during the last 35 days" or its `RecoveryPeriodInDays`
(DynamoDB API reference, UpdateContinuousBackups and PointInTimeRecoveryDescription);
"If you disable point-in-time recovery and later enable it on a table, you reset the start
time for which you can recover that table" (developer guide, "Restore a table in DynamoDB").
moto 5.2 freezes both times at the moment PITR was enabled. Here, for a table with PITR on:

    EarliestRestorableDateTime = max(when PITR was (last) enabled, now - RecoveryPeriodInDays)
    LatestRestorableDateTime   = max(EarliestRestorableDateTime, now - 5 minutes)

RestoreTableToPointInTime refuses a source without PITR (`PointInTimeRecoveryUnavailableException`,
moto's message) and a `RestoreDateTime` outside the window (`InvalidRestoreTimeException`, with the
API reference's description of the error as its message), and takes the source by `SourceTableArn`
too. It "restores your table data to the state based on the selected date and time
(day:hour:minute:second) to a new table" (API reference); moto copies the items as they are now.
Here every write to a table with PITR on (PutItem, UpdateItem, DeleteItem, and the batch,
transaction and PartiQL writes, which moto makes through the same methods) keeps the item as it
was before the write, with the time; a restore copies the items as they are now and puts back, newest
first, what every write after the restore time replaced. `UseLatestRestorableTime` (or no time at
all, which AWS does not document) restores to `LatestRestorableDateTime`. The restored table's
`RestoreSummary.RestoreDateTime` is the time restored to. Disabling PITR forgets the history,
as AWS resets the window.
"""

from __future__ import annotations

import copy
import time
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, PointInTimeRecoveryUnavailable
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult

DAY = 86400.0
LAG_SECONDS = 300.0  # "typically 5 minutes before the current time"
_ENABLED_AT = "_bulwark_enabled_at"
_HISTORY = "_bulwark_pitr_history"  # on a table: [(when, (hash, range), the item before the write or None)]

Key = tuple[DynamoType, "DynamoType | None"]


def _now() -> float:
    return time.time()


class InvalidRestoreTime(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "InvalidRestoreTimeException",
            "An invalid restore time was specified. RestoreDateTime must be between "
            "EarliestRestorableDateTime and LatestRestorableDateTime.",
        )


def window(description: dict[str, Any], now: float | None = None) -> tuple[float, float] | None:
    """(earliest, latest) restorable time of a PointInTimeRecoveryDescription; None when off."""
    if description.get("PointInTimeRecoveryStatus") != "ENABLED":
        return None
    now = _now() if now is None else now
    enabled_at = float(description.get(_ENABLED_AT) or description["EarliestRestorableDateTime"])
    days = float(description.get("RecoveryPeriodInDays") or 35)
    earliest = max(enabled_at, now - days * DAY)
    return earliest, max(earliest, now - LAG_SECONDS)


def _described(backups: dict[str, Any]) -> dict[str, Any]:
    """The table's ContinuousBackupsDescription with the window as of now."""
    out = copy.deepcopy(backups)
    pitr = out.get("PointInTimeRecoveryDescription", {})
    found = window(pitr)
    pitr.pop(_ENABLED_AT, None)
    if found is not None:
        pitr["EarliestRestorableDateTime"], pitr["LatestRestorableDateTime"] = found
    return out


def _describe(original: Any) -> Any:
    def describe(self: DynamoDBBackend, table_name: str) -> dict[str, Any]:
        return _described(original(self, table_name))

    return describe


def _update(original: Any) -> Any:
    def update(self: DynamoDBBackend, table_name: str, point_in_time_spec: dict[str, Any]) -> dict[str, Any]:
        backups = original(self, table_name, point_in_time_spec)
        pitr = backups["PointInTimeRecoveryDescription"]
        if pitr.get("PointInTimeRecoveryStatus") == "ENABLED" and _ENABLED_AT not in pitr:
            pitr[_ENABLED_AT] = pitr["EarliestRestorableDateTime"]  # moto sets it when enabling
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            self.get_table(table_name).__dict__.pop(_HISTORY, None)
        return _described(backups)

    return update


def _timestamp(value: Any) -> float:
    """RestoreDateTime as moto's parser gives it (a datetime; naive is UTC) or as sent."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, str):
        return _timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return float(value)


def _pitr_on(table: Table) -> bool:
    return table.continuous_backups["PointInTimeRecoveryDescription"].get("PointInTimeRecoveryStatus") == "ENABLED"


def _key(table: Table, attributes: dict[str, Any]) -> Key | None:
    """The item's key, or None when the request lacks part of it (moto then refuses the write)."""
    if table.hash_key_attr not in attributes:
        return None
    if table.range_key_attr is None:
        return DynamoType(attributes[table.hash_key_attr]), None
    if table.range_key_attr not in attributes:
        return None
    return DynamoType(attributes[table.hash_key_attr]), DynamoType(attributes[table.range_key_attr])


def _before(table: Table, attributes: dict[str, Any]) -> tuple[Key, Item | None] | None:
    """What a write keyed by these attributes may replace, copied, while PITR is on."""
    key = _key(table, attributes) if _pitr_on(table) else None
    if key is None:
        return None
    return key, copy.deepcopy(table.get_item(*key))


def _remember(table: Table, before: tuple[Key, Item | None] | None) -> None:
    if before is not None:
        table.__dict__.setdefault(_HISTORY, []).append((_now(), *before))


def replaced(table: Table, key: Key, old: Item | None) -> None:
    """A write made around Table.put_item (a global table's replication) replaced `old`."""
    if _pitr_on(table):
        _remember(table, (key, old))


def _put_item(original: Any) -> Any:
    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        before = _before(self, item_attrs)
        item = original(self, item_attrs, *args, **kwargs)
        _remember(self, before)
        return item

    return put_item


def _delete_item(original: Any) -> Any:
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        item = original(self, hash_key, range_key)
        if item is not None and _pitr_on(self):
            _remember(self, ((hash_key, range_key), item))  # popped: nothing else holds it
        return item

    return delete_item


def _update_item(original: Any) -> Any:
    def update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        table = self.get_table(table_name)
        before = _before(table, key)  # an update changes the item in place: copied first
        item = original(self, table_name, key, *args, **kwargs)
        _remember(table, before)
        return item

    return update_item


def rewind(source: Table, target: Table, to: float) -> None:
    """Put back in `target` (a copy of `source`'s items) what every write after `to` replaced."""
    for when, (hash_key, range_key), before in reversed(source.__dict__.get(_HISTORY, [])):
        if when <= to:
            break
        if range_key is None:
            if before is None:
                target.items.pop(hash_key, None)
            else:
                target.items[hash_key] = copy.deepcopy(before)
        elif before is None:
            target.items[hash_key].pop(range_key, None)
            if not target.items[hash_key]:
                del target.items[hash_key]
        else:
            target.items[hash_key][range_key] = copy.deepcopy(before)


def _restore_to_point_in_time(_original: Any) -> Any:
    def restore(self: DynamoHandler) -> Any:
        body = self.body
        name = body.get("SourceTableName") or (body.get("SourceTableArn") or "").split("/")[-1]
        backend = self.dynamodb_backend
        to = _now()
        if name in backend.tables:
            found = window(backend.tables[name].continuous_backups["PointInTimeRecoveryDescription"])
            if found is None:
                raise PointInTimeRecoveryUnavailable(name)
            wanted = body.get("RestoreDateTime")
            if wanted is None or body.get("UseLatestRestorableTime"):
                to = found[1]
            else:
                to = _timestamp(wanted)
                if not found[0] <= to <= found[1]:
                    raise InvalidRestoreTime()
        restored = backend.restore_table_to_point_in_time(body.get("TargetTableName"), name)
        rewind(backend.tables[name], restored, to)
        restored.restore_date_time = to
        return DynamoResult(restored.describe())

    return restore


def install() -> None:
    if getattr(DynamoDBBackend, "_bulwark_pitr", False):
        return
    DynamoDBBackend.describe_continuous_backups = _describe(DynamoDBBackend.describe_continuous_backups)  # type: ignore[method-assign]
    DynamoDBBackend.update_continuous_backups = _update(DynamoDBBackend.update_continuous_backups)  # type: ignore[method-assign]
    Table.put_item = _put_item(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _delete_item(Table.delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _update_item(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    DynamoHandler.restore_table_to_point_in_time = _restore_to_point_in_time(  # type: ignore[method-assign]
        DynamoHandler.restore_table_to_point_in_time
    )
    DynamoDBBackend._bulwark_pitr = True  # type: ignore[attr-defined]
