"""How long a restore job takes, by the kind of resource it restores (and its size).

AWS documents no figure, only what a restore's time depends on: for DynamoDB, "95 percent of
customers' table restores complete in less than one hour. However, restore times are directly
related to the configuration of your tables (such as the size of your tables and the number
of underlying partitions)"; an Aurora cluster's restore provisions and loads its whole volume
before it is available, and "Aurora restores are non-linear"; a DB instance's point-in-time
restore replays transaction logs onto a snapshot (FIDELITY.md names the pages). So a restore
job here takes

    seconds[kind] + per_gib[kind] * (the recovery point's BackupSizeInBytes / 2**30)

By default `seconds` is a multiple of the job delay (BULWARK_LOCAL_JOB_DELAY_SECONDS), the
databases' longer than the rest, and `per_gib` is 0, so ordinary tests stay fast. Tests that
exercise a client's polling, deadlines or Step Functions history limits set realistic ones:

    POST /moto-api/bulwark/backup/restore-durations
         {"seconds": {"RDS": 1800, "Aurora": 2700}, "per_gib": {"DynamoDB": 2}}
    POST /moto-api/bulwark/backup/restore-durations   {"RDS": 30, "Aurora": 45}   (seconds)
    GET  /moto-api/bulwark/backup/restore-durations   the durations in force
    DELETE /moto-api/bulwark/backup/restore-durations the defaults again

With `"account": "<id>"` in the body, the durations apply to that account's restore jobs only
(and override the others there), so that tests in accounts of their own do not slow each
other: `{"account": "123456789012", "seconds": {"DynamoDB": 120}}`. A kind left out keeps what it had; moto's reset (POST /moto-api/reset) restores every default.
The duration is fixed when the job starts; backup and copy jobs keep the job delay.
"""

from __future__ import annotations

import json
import math
import os
import threading
from typing import Any

KINDS = ("DynamoDB", "RDS", "Aurora", "EBS", "S3", "EFS")
# Restores of databases take longer than the others' (instances are created, volumes loaded).
DEFAULT_MULTIPLE = {"DynamoDB": 1.0, "RDS": 2.0, "Aurora": 3.0, "EBS": 1.0, "S3": 1.0, "EFS": 1.0}
GIB = 1024**3
PATH = "/moto-api/bulwark/backup/restore-durations"
JSON = {"Content-Type": "application/json"}

_lock = threading.Lock()
_seconds: dict[str, float] = {}
_per_gib: dict[str, float] = {}
# An account's own durations, over the ones above: account -> (seconds, per_gib).
_accounts: dict[str, tuple[dict[str, float], dict[str, float]]] = {}


def job_delay() -> float:
    return float(os.environ.get("BULWARK_LOCAL_JOB_DELAY_SECONDS", "0.5"))


def restore_seconds(resource_type: str, size_bytes: int, account: str | None = None) -> float:
    """How long a restore of a recovery point of this type and size takes, in this account."""
    with _lock:
        own_seconds, own_per_gib = _accounts.get(account or "", ({}, {}))
        base = own_seconds.get(resource_type, _seconds.get(resource_type))
        per_gib = own_per_gib.get(resource_type, _per_gib.get(resource_type, 0.0))
    if base is None:
        base = job_delay() * DEFAULT_MULTIPLE.get(resource_type, 1.0)
    return base + per_gib * size_bytes / GIB


def expected_minutes(seconds: float) -> int:
    """ExpectedCompletionTimeMinutes: the duration in whole minutes, at least one."""
    return max(1, math.ceil(seconds / 60))


def current() -> dict[str, Any]:
    with _lock:
        seconds = {k: _seconds.get(k, job_delay() * DEFAULT_MULTIPLE[k]) for k in KINDS}
        return {"seconds": seconds, "per_gib": {k: _per_gib.get(k, 0.0) for k in KINDS}}


def _numbers(value: Any, what: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object of resource type -> seconds")
    out = {}
    for kind, number in value.items():
        if kind not in KINDS:
            raise ValueError(f"{what}: unknown resource type {kind!r} (one of {', '.join(KINDS)})")
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
            raise ValueError(f"{what}[{kind}] must be a number of seconds, 0 or more")
        out[kind] = float(number)
    return out


def configure(body: Any) -> dict[str, Any]:
    """Set durations from {"seconds": {...}, "per_gib": {...}} or {"<type>": seconds, ...}."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    body = dict(body)
    account = body.pop("account", None)
    if account is not None and (not isinstance(account, str) or not account.isdigit() or len(account) != 12):
        raise ValueError("account must be a 12-digit account id")
    if "seconds" in body or "per_gib" in body:
        seconds = _numbers(body.get("seconds", {}), "seconds")
        per_gib = _numbers(body.get("per_gib", {}), "per_gib")
    else:
        seconds, per_gib = _numbers(body, "durations"), {}
    with _lock:
        if account is None:
            _seconds.update(seconds)
            _per_gib.update(per_gib)
        else:
            own_seconds, own_per_gib = _accounts.setdefault(account, ({}, {}))
            own_seconds.update(seconds)
            own_per_gib.update(per_gib)
            return {"account": account, "seconds": dict(own_seconds), "per_gib": dict(own_per_gib)}
    return current()


def reset() -> None:
    with _lock:
        _seconds.clear()
        _per_gib.clear()
        _accounts.clear()


def control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    if request.method == "GET":
        return 200, JSON, json.dumps(current())
    if request.method == "DELETE":
        reset()
        return 200, JSON, json.dumps(current())
    if request.method != "POST":
        return 405, JSON, json.dumps({"Error": f"GET, POST or DELETE {PATH}"})
    raw = request.data
    if not raw and len(request.form) == 1:  # a JSON body sent as a form (curl -d)
        raw = next(iter(request.form)).encode()
    try:
        return 200, JSON, json.dumps(configure(json.loads(raw or b"{}")))
    except ValueError as err:
        return 400, JSON, json.dumps({"Error": str(err)})


def install() -> None:
    import moto.moto_api._internal.urls
    from moto.moto_api._internal.models import MotoAPIBackend

    original_reset = MotoAPIBackend.reset
    if not getattr(original_reset, "resets_restore_durations", False):

        def reset_all(self: MotoAPIBackend) -> None:
            original_reset(self)
            reset()

        reset_all.resets_restore_durations = True  # type: ignore[attr-defined]
        MotoAPIBackend.reset = reset_all  # type: ignore[method-assign]
    moto.moto_api._internal.urls.url_paths["{0}" + PATH] = control
