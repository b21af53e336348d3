"""AWS Backup's work in other services' backends, under those backends' locks.

A backup, copy or restore job does its work in the backend of the service it protects (a DB
snapshot in RDS, a table in DynamoDB, objects in S3...). The AWS Backup request holds AWS
Backup's lock (concurrency.py); each kind's operation also holds the lock of every backend
it touches, for as long as it touches it, so that an RDS request never sees a snapshot half
made by a backup job. A copy holds the source's and the destination's at once (taken in the
global order, so two copies in opposite directions cannot deadlock).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from bulwark_local import concurrency

from . import kinds

# The moto service (its lock) behind each kind's resources.
SERVICE = {"DynamoDB": "dynamodb", "RDS": "rds", "Aurora": "rds", "EBS": "ec2", "S3": "s3", "EFS": "efs"}

Where = Callable[..., list[tuple[str, str]]]  # the call's arguments -> [(account, region), ...]


def _of_backing(backing: dict[str, Any], *_: Any, **__: Any) -> list[tuple[str, str]]:
    return [(backing["account"], backing["region"])]


def _of_account_region(account: str, region: str, *_: Any, **__: Any) -> list[tuple[str, str]]:
    return [(account, region)]


def _of_copy(backing: dict[str, Any], account: str, region: str, *_: Any, **__: Any) -> list[tuple[str, str]]:
    return [(backing["account"], backing["region"]), (account, region)]


WHERE: dict[str, Where] = {
    "resources": _of_account_region,
    "find": _of_account_region,
    "backup": _of_account_region,
    "continuous_id": _of_account_region,
    "copy": _of_copy,
    "restore": _of_backing,
    "forget": _of_backing,
}


def _guarded(service: str, method: Callable[..., Any], where: Where) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        keys = [concurrency.key(service, account, region) for account, region in where(*args, **kwargs)]
        with concurrency.holding(*keys):
            result = method(*args, **kwargs)
            # resources() is a generator: read it whole while the backend is held
            return iter(list(result)) if inspect.isgenerator(result) else result

    return run


def install() -> None:
    for kind in kinds.KINDS:
        service = SERVICE[kind.resource_type]
        for name, where in WHERE.items():
            method = getattr(kind, name)
            if getattr(method, "guarded", False):
                continue
            guarded = _guarded(service, method, where)
            guarded.guarded = True  # type: ignore[attr-defined]
            setattr(kind, name, guarded)
