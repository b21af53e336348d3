"""RDS reports the restorable window of a database under AWS Backup's continuous backup.

DescribeDBInstances and DescribeDBClusters answer `LatestRestorableTime` ("The latest time to
which a database can be restored with point-in-time restore", RDS API reference), and a
cluster also `EarliestRestorableTime`. moto answers the current time for every database. A
database whose continuous backup AWS Backup manages is restorable over that backup's window,
so for one with a continuous recovery point (in any vault of its account and region) RDS here
reports the point's window (continuous.py): its newest state's time as LatestRestorableTime and
its oldest as a cluster's EarliestRestorableTime, rounded up to the second. A database without
one keeps moto's answers (AWS: "typically within 5 minutes of the current time").
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.rds.models import DBCluster, DBInstance

from . import continuous

_instance_latest = DBInstance.latest_restorable_time
_cluster_latest = DBCluster.latest_restorable_time


def _window(resource: Any) -> tuple[float, float] | None:
    from moto.backup.models import backup_backends

    try:
        backend = backup_backends[resource.account_id][resource.region]
    except KeyError:
        return None
    st = backend.__dict__.get("_bulwark")  # AWS Backup's state (models.state), never made here
    return continuous.resource_window(st, resource.arn) if st is not None else None


def _naive_utc(when: float) -> datetime:
    """moto's RDS times are naive UTC datetimes (moto.core.utils.utcnow)."""
    return datetime.fromtimestamp(when, timezone.utc).replace(tzinfo=None)


def _latest(original: property) -> property:
    def latest(self: Any) -> datetime:
        found = _window(self)
        return _naive_utc(found[1]) if found else original.fget(self)  # type: ignore[misc]

    return property(latest)


def _cluster_earliest() -> property:
    """moto sets a cluster's EarliestRestorableTime once, when it is created."""

    def get(self: Any) -> datetime:
        found = _window(self)
        return _naive_utc(found[0]) if found else self.__dict__.get("_earliest_restorable_time")

    def set_(self: Any, value: datetime) -> None:
        self.__dict__["_earliest_restorable_time"] = value

    return property(get, set_)


def install() -> None:
    if getattr(DBInstance, "_bulwark_window", False):
        return
    DBInstance.latest_restorable_time = _latest(_instance_latest)  # type: ignore[assignment,method-assign]
    DBCluster.latest_restorable_time = _latest(_cluster_latest)  # type: ignore[assignment,method-assign]
    DBCluster.earliest_restorable_time = _cluster_earliest()  # type: ignore[assignment,method-assign]
    DBInstance._bulwark_window = True  # type: ignore[attr-defined]
