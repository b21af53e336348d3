"""Continuous recovery points (S3, RDS, Aurora): a window of states, restorable to a second.

AWS Backup keeps one continuous recovery point per resource (and vault here) and records the
resource's changes continuously; a restore replays them "to a specific time that you choose,
within 1 second of precision (going back a maximum of 35 days)" ("Continuous backups and
point-in-time recovery (PITR)", AWS Backup developer guide). Locally the point keeps a history
of states instead: each plan run that refreshes it adds the resource's state at that moment,
with its time. So:

- the restorable window runs from the oldest state still retained (the point's lifecycle,
  at most 35 days) to the newest whose job has completed; both ends are reported rounded up
  to the second, the precision of `RestoreTime` ("2021-11-27T03:30:27Z");
- a restore to `RestoreTime` t gives the newest state taken at or before t; a t outside the
  window fails the restore job with a StatusMessage saying so;
- RDS and Aurora take `UseLatestRestorableTime` ("true": the newest state; "false" requires
  `RestoreTime`; both at once is refused) and, with neither key, the newest state; S3 requires
  `RestoreTime` for a continuous point (developer guide, "Restore S3 data using AWS Backup":
  "only valid for continuous recovery points where it is required"), and `RestoreTime` on a
  snapshot point of these three types fails the job ("only valid for continuous recovery
  points").

The newest state's native backing (an `awsbackup` snapshot for RDS and Aurora) stays visible in
its service, as before; older states' snapshots are detached from moto's RDS backend (AWS keeps
a continuous point's history in RDS's automated backups, not as snapshots) and attached again
only while a restore reads them. The window is also what RDS reports as a database's
`LatestRestorableTime` (rds_restorable.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.backup.models import Vault

from bulwark_local import concurrency

from . import kinds

if TYPE_CHECKING:
    from .models import BackupJob, RecoveryPoint, State, Timeline

DAY = 86400.0
MAX_DAYS = 35  # a continuous backup's retention is 1 to 35 days (AWS Backup developer guide)
FORMAT = "2021-11-27T03:30:27Z"  # the developer guide's example of RestoreTime
# Where an RDS-type kind's native backings live in moto's RDS backend.
_SNAPSHOTS = {"RDS": "database_snapshots", "Aurora": "cluster_snapshots"}


@dataclass
class PointState:
    """The resource as one refresh of a continuous point found it."""

    timeline: Timeline
    backing: dict[str, Any]

    @property
    def at(self) -> float:
        return self.timeline.created


# ---- refreshing ----------------------------------------------------------------------------


def lifecycle(rule_lifecycle: dict[str, Any] | None) -> dict[str, Any]:
    """A continuous point is kept 1 to 35 days and never moves to cold storage; a longer
    (or no) DeleteAfterDays is capped at 35."""
    days = (rule_lifecycle or {}).get("DeleteAfterDays") or MAX_DAYS
    return {"DeleteAfterDays": min(days, MAX_DAYS)}


def point_arn(kind: kinds.Kind, account: str, region: str, resource_arn: str, vault: Vault) -> str:
    """arn:aws:backup:<r>:<a>:recovery-point:continuous:<resource id>-<8 hex>, as AWS names them
    (<bucket>-..., db-<DbiResourceId>-..., cluster-<DbClusterResourceId>-...); the hash here is
    of the vault and the resource, so there is one per resource and vault."""
    digest = hashlib.sha256(f"{vault.backup_vault_arn}|{resource_arn}".encode()).hexdigest()[:8]
    resource_id = kind.continuous_id(account, region, resource_arn)
    return f"arn:aws:backup:{region}:{account}:recovery-point:continuous:{resource_id}-{digest}"


def refresh(st: State, job: BackupJob, kind: kinds.Kind, backing: dict[str, Any], region: str) -> RecoveryPoint:
    """Create the continuous point on the first job; later jobs add a state to its history and
    refresh it in place (lifecycle, role, creator), while its ARN and CreationDate stay."""
    from .models import RecoveryPoint

    arn = point_arn(kind, job.account, region, job.resource_arn, job.vault)
    rp = st.recovery_points.get(arn)
    if rp is None:
        rp = RecoveryPoint(
            arn, kind, backing, job.vault, job.resource_arn, job.resource_name, job.iam_role_arn,
            job.created_by, job.lifecycle, job.timeline, continuous=True,
        )
        st.recovery_points[arn] = rp
        st.continuous.setdefault(job.resource_arn, []).append(arn)
    else:
        _share_unchanged(rp.backing, backing)
        _detach(kind, rp.backing)
        rp.backing = backing
        rp.lifecycle = job.lifecycle
        rp.iam_role_arn = job.iam_role_arn
        rp.created_by = job.created_by
    rp.history.append(PointState(job.timeline, backing))
    _prune(rp)
    return rp


def _share_unchanged(previous: dict[str, Any], backing: dict[str, Any]) -> None:
    """An S3 state shares the bytes of every object unchanged since the previous state, so a
    history of many runs holds each version of an object once."""
    before = {o["key"]: o for o in previous.get("objects") or []}
    for obj in backing.get("objects") or []:
        old = before.get(obj["key"])
        if old is not None and old["value"] == obj["value"]:
            obj["value"] = old["value"]


def _horizon(rp: RecoveryPoint) -> float:
    """How far back the point reaches: its retention (DeleteAfterDays, at most 35 days)."""
    return time.time() - ((rp.lifecycle or {}).get("DeleteAfterDays") or MAX_DAYS) * DAY


def _prune(rp: RecoveryPoint) -> None:
    """Drop the states no time in the retention needs; the newest always stays."""
    horizon = _horizon(rp)
    while len(rp.history) > 1 and rp.history[0].at < horizon and rp.history[1].at <= horizon:
        rp.history.pop(0)


def forget(rp: RecoveryPoint, st: State) -> None:
    """The point is deleted: its states go with it."""
    rp.kind.forget(rp.backing)
    rp.history.clear()
    arns = st.continuous.get(rp.resource_arn, [])
    if rp.arn in arns:
        st.continuous[rp.resource_arn] = [a for a in arns if a != rp.arn]


# ---- the restorable window -----------------------------------------------------------------


def restorable(rp: RecoveryPoint) -> list[PointState]:
    """The states a restore can reach: retained, their jobs completed, oldest first."""
    return [s for s in list(rp.history) if s.timeline.completed() is not None]


def window(rp: RecoveryPoint) -> tuple[float, float] | None:
    """(earliest, latest) restorable time, each rounded up to the second; None before the
    first state completes."""
    states = restorable(rp)
    if not states:
        return None
    return float(math.ceil(max(states[0].at, _horizon(rp)))), float(math.ceil(states[-1].at))


def resource_window(st: State, resource_arn: str) -> tuple[float, float] | None:
    """The widest window of the resource's continuous points in one account and region (read
    without AWS Backup's lock: every read here is of a copy)."""
    windows = []
    for arn in list(st.continuous.get(resource_arn, ())):
        rp = st.recovery_points.get(arn)
        found = window(rp) if rp is not None else None
        if found is not None:
            windows.append(found)
    if not windows:
        return None
    return min(w[0] for w in windows), max(w[1] for w in windows)


def iso(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- restoring -----------------------------------------------------------------------------


def backing_to_restore(rp: RecoveryPoint, metadata: dict[str, str]) -> dict[str, Any]:
    """The backing a restore with this metadata reads; kinds.KindError (the job's StatusMessage)
    when the metadata asks for a time the point cannot give."""
    restore_time = kinds._meta(metadata, "RestoreTime")
    if not rp.continuous:
        if restore_time is not None and rp.kind.supports_continuous:
            raise kinds.KindError(
                f"RestoreTime is only valid for continuous recovery points; {rp.arn} is a snapshot "
                "recovery point, restored to the time it was created"
            )
        return rp.backing
    states = restorable(rp)
    if not states:
        raise kinds.KindError(f"Continuous recovery point {rp.arn} has no restorable state yet")
    wanted = _wanted_time(rp, restore_time, kinds._meta(metadata, "UseLatestRestorableTime"))
    if wanted is None:
        return states[-1].backing
    earliest, latest = window(rp)  # type: ignore[misc]
    if not earliest <= wanted <= latest:
        raise kinds.KindError(
            f"RestoreTime {restore_time} is outside the restorable window of {rp.arn}: "
            f"from {iso(earliest)} to {iso(latest)}"
        )
    return [s for s in states if s.at <= wanted][-1].backing


def _wanted_time(rp: RecoveryPoint, restore_time: str | None, use_latest: str | None) -> float | None:
    """The time the metadata asks for; None for the latest restorable time."""
    if rp.kind.resource_type == "S3":
        if restore_time is None:
            raise kinds.KindError(
                f"RestoreTime is required to restore the continuous recovery point {rp.arn} "
                f"(a time in its restorable window, in the format {FORMAT})"
            )
        return _parse(restore_time)
    if use_latest is not None and use_latest.strip().lower() not in ("true", "false"):
        raise kinds.KindError(f"UseLatestRestorableTime must be true or false, not {use_latest!r}")
    latest = use_latest is not None and use_latest.strip().lower() == "true"
    if latest and restore_time is not None:
        raise kinds.KindError("RestoreTime can't be specified when UseLatestRestorableTime is true")
    if use_latest is not None and not latest and restore_time is None:
        raise kinds.KindError("RestoreTime is required when UseLatestRestorableTime is false")
    return None if restore_time is None else _parse(restore_time)


def _parse(value: str) -> float:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise kinds.KindError(f"RestoreTime {value!r} is not a date and time in the format {FORMAT}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


# ---- older states' native backings ---------------------------------------------------------


def _store(kind: kinds.Kind, backing: dict[str, Any]) -> dict[str, Any] | None:
    attribute = _SNAPSHOTS.get(kind.resource_type)
    if attribute is None:
        return None
    from moto.rds.models import rds_backends

    return getattr(rds_backends[backing["account"]][backing["region"]], attribute)


def _detach(kind: kinds.Kind, backing: dict[str, Any]) -> None:
    """Take an older state's snapshot out of its service (kept on the backing itself)."""
    if kind.resource_type not in _SNAPSHOTS:
        return
    with concurrency.backend("rds", backing["account"], backing["region"]):
        snapshot = _store(kind, backing).pop(backing["snapshot_id"], None)  # type: ignore[union-attr]
    if snapshot is not None:
        backing["detached"] = snapshot


@contextlib.contextmanager
def attached(kind: kinds.Kind, backing: dict[str, Any]) -> Iterator[None]:
    """Put a detached snapshot back in its service while a restore reads it."""
    snapshot = backing.get("detached")
    if snapshot is None:
        yield
        return
    with concurrency.backend("rds", backing["account"], backing["region"]):
        store = _store(kind, backing)
        store[backing["snapshot_id"]] = snapshot  # type: ignore[index]
        try:
            yield
        finally:
            store.pop(backing["snapshot_id"], None)  # type: ignore[union-attr]
