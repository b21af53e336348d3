"""Requests served one at a time per service backend, so none sees another's half-made change.

moto's backends are plain dicts and lists that a request mutates in place, and its response
serializers iterate them in Python: under concurrent clients a DescribeDBClusters serializing
a region's clusters while a CreateDBCluster adds one failed with "OrderedDict mutated during
iteration" (HTTP 500). AWS serves concurrent requests consistently; here each signed request
holds the lock of the backend it works on for as long as moto dispatches it:

    (service, account, region)   a regional service (RDS, EC2, Lambda, ...)
    (service, account, "*")      a service whose moto backend is global (S3, IAM, STS, Route 53)
                                 and DynamoDB, whose global tables write other regions' tables
    (service, "*", "*")          AWS Backup (copy jobs write other accounts' and regions' vaults)
                                 and Organizations (one organization spans accounts)

A request that reads other services' backends holds theirs too (the tagging API lists the
stores' resources); AWS Backup's jobs, which create snapshots and restore resources in other
services' backends, hold those backends' locks while they touch them (backup/locking.py).

No lock is held across an outbound call that can come back into the server: a Lambda
invocation (a local runtime, a Runtime API process) runs inside `released()`, which lets go of
every lock the thread holds and takes them back afterwards. Step Functions executions and
EventBridge deliveries run on threads of their own, which hold no request lock.

Deadlocks are avoided by order: every thread takes its locks in one global order (AWS Backup's
first, then the services' by name, account and region, IAM's last), and a lock is never
awaited while a later one in that order is held.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Key = tuple[str, str, str]
ANY = "*"

# Services whose one operation works across regions ("account") or accounts ("all").
_SPAN = {"backup": "all", "organizations": "all", "dynamodb": "account"}
# Signing names served by another service's backend.
_ALIASES = {"s3control": "s3"}
# Services whose operations read (or tag) the stores' resources in other backends.
_COMPANIONS = {"resourcegroupstaggingapi": ("dynamodb", "ec2", "efs", "rds", "s3")}


@functools.lru_cache(maxsize=None)
def _regional(service: str) -> bool:
    """Whether moto keeps the service's state per region (its BackendDict uses the regions)."""
    try:
        from moto.backends import get_backend

        return bool(getattr(get_backend(service), "_use_boto3_regions", True))  # type: ignore[arg-type]
    except Exception:  # not a moto backend (ARC's, answered by recovery_control.py): per region
        return True


def key(service: str, account: str, region: str) -> Key:
    service = _ALIASES.get(service, service)
    span = _SPAN.get(service)
    if span == "all":
        return (service, ANY, ANY)
    if span == "account" or not _regional(service):
        return (service, account, ANY)
    return (service, account, region)


def keys_for(service: str, account: str, region: str) -> list[Key]:
    """The locks a request to `service` holds: its own backend's and its companions'."""
    companions = _COMPANIONS.get(_ALIASES.get(service, service), ())
    return [key(service, account, region)] + [key(c, account, region) for c in companions]


def _rank(k: Key) -> tuple[int, Key]:
    """The global order locks are taken in: AWS Backup's first, IAM's last."""
    return (0 if k[0] == "backup" else 2 if k[0] == "iam" else 1, k)


class _Lock:
    """A reentrant lock that can be let go of entirely and taken back (`released`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.owner: int | None = None
        self.depth = 0

    def acquire(self) -> bool:
        """Take the lock; False when this thread already held it (one level deeper)."""
        me = threading.get_ident()
        if self.owner == me:
            self.depth += 1
            return False
        self._lock.acquire()
        self.owner, self.depth = me, 1
        return True

    def release(self) -> bool:
        """One level less; True when the lock is free again."""
        self.depth -= 1
        if self.depth:
            return False
        self.owner = None
        self._lock.release()
        return True

    def release_all(self) -> int:
        depth, self.depth, self.owner = self.depth, 0, None
        self._lock.release()
        return depth

    def restore(self, depth: int) -> None:
        self._lock.acquire()
        self.owner, self.depth = threading.get_ident(), depth


_registry_lock = threading.Lock()
_locks: dict[Key, _Lock] = {}
_local = threading.local()


def _lock_for(k: Key) -> _Lock:
    with _registry_lock:
        lock = _locks.get(k)
        if lock is None:
            lock = _locks[k] = _Lock()
        return lock


def _held() -> list[_Lock]:
    held = getattr(_local, "held", None)
    if held is None:
        held = _local.held = []
    return held


@contextlib.contextmanager
def holding(*keys: Key) -> Iterator[None]:
    """Hold the locks of these backends (in the global order) for the block."""
    taken: list[_Lock] = []
    try:
        for k in sorted(set(keys), key=_rank):
            lock = _lock_for(k)
            if lock.acquire():
                _held().append(lock)
            taken.append(lock)
        yield
    finally:
        for lock in reversed(taken):
            if lock.release():
                _held().remove(lock)


def backend(service: str, account: str, region: str) -> contextlib.AbstractContextManager[None]:
    """Hold one service backend's lock: `with backend("rds", account, region): ...`."""
    return holding(key(service, account, region))


@contextlib.contextmanager
def released() -> Iterator[None]:
    """Let go of every lock this thread holds for the block (an outbound call that may come
    back into the server), then take them back in the order they were taken."""
    held = list(_held())
    depths = [(lock, lock.release_all()) for lock in reversed(held)]
    _held().clear()
    try:
        yield
    finally:
        for lock, depth in reversed(depths):
            lock.restore(depth)
        _held().extend(held)


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app with each signed request holding its backends' locks while moto answers it.
    The body is produced inside the lock (moto serializes there) and sent after it."""
    from bulwark_local import awsrequest

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = awsrequest.parse_or_none(environ)
        if request is None:  # the control paths and anything unsigned
            return app(environ, start_response)
        with holding(*keys_for(request.service, request.account, request.region)):
            result = app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return middleware
