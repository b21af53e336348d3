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

RestoreTableToPointInTime (whose restore moto makes from the table as it is now) refuses a
source without PITR (`PointInTimeRecoveryUnavailableException`, moto's message) and a
`RestoreDateTime` outside the window (`InvalidRestoreTimeException`, with the API reference's
description of the error as its message), and takes the source by `SourceTableArn` too.
"""

from __future__ import annotations

import copy
import time
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, PointInTimeRecoveryUnavailable
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

DAY = 86400.0
LAG_SECONDS = 300.0  # "typically 5 minutes before the current time"
_ENABLED_AT = "_bulwark_enabled_at"


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
    now = time.time() if now is None else now
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
        return _described(backups)

    return update


def _timestamp(value: Any) -> float:
    """RestoreDateTime as moto's parser gives it (a datetime; naive is UTC) or as sent."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, str):
        return _timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return float(value)


def _restore_to_point_in_time(original: Any) -> Any:
    def restore(self: DynamoHandler) -> Any:
        body = self.body
        name = body.get("SourceTableName") or (body.get("SourceTableArn") or "").split("/")[-1]
        body["SourceTableName"] = name
        backend = self.dynamodb_backend
        if name in backend.tables:
            found = window(backend.tables[name].continuous_backups["PointInTimeRecoveryDescription"])
            if found is None:
                raise PointInTimeRecoveryUnavailable(name)
            wanted = body.get("RestoreDateTime")
            if wanted is not None and not body.get("UseLatestRestorableTime"):
                if not found[0] <= _timestamp(wanted) <= found[1]:
                    raise InvalidRestoreTime()
        return original(self)

    return restore


def install() -> None:
    if getattr(DynamoDBBackend, "_bulwark_pitr", False):
        return
    DynamoDBBackend.describe_continuous_backups = _describe(DynamoDBBackend.describe_continuous_backups)  # type: ignore[method-assign]
    DynamoDBBackend.update_continuous_backups = _update(DynamoDBBackend.update_continuous_backups)  # type: ignore[method-assign]
    DynamoHandler.restore_table_to_point_in_time = _restore_to_point_in_time(  # type: ignore[method-assign]
        DynamoHandler.restore_table_to_point_in_time
    )
    DynamoDBBackend._bulwark_pitr = True  # type: ignore[attr-defined]
