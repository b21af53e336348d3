"""DynamoDB global tables, version 2019.11.21 (multi-Region eventual consistency), for the
local AWS. moto has no replicas at all.

What AWS documents, and what is modelled here (infra/local/FIDELITY.md has each source):

- `UpdateTable` with `ReplicaUpdates: [{"Create": {"RegionName": r}}]` adds a replica in region
  `r` of the same account: a table of the same name, key schema, attribute definitions, local
  and global secondary indexes, capacity mode (and provisioned throughput), SSE type, stream
  and TTL settings, with the table's items ("You create a MREC global table by adding a
  replica to an existing DynamoDB table"; "Settings synchronization"). Tags, deletion
  protection and point-in-time recovery are never synchronized, so the replica has none.
  `{"Delete": {"RegionName": r}}` removes the replica in `r` and its table. The replica is
  ACTIVE at once (AWS takes minutes, CREATING then ACTIVE).
- Refused as AWS refuses (ValidationException): a replica in the table's own region (AWS's
  words: "Cannot add, delete, or update the local region through ReplicaUpdates. Use
  CreateTable, DeleteTable, or UpdateTable as required."), a region that is already a
  replica, a region where a table of that name exists, a region that is not one, a
  provisioned table without write auto scaling ("Table write capacity should either be
  Pay-Per-Request or AutoScaled."), a table encrypted with a customer managed key without
  the replica's `KMSMasterKeyId` ("One or more parameter values were invalid: KMSMasterKeyId
  must be specified for each replica."), deleting a region that is no replica, and deleting
  (by ReplicaUpdates or DeleteTable) a replica that was the source of a new replica in the
  last 24 hours. Disabling the stream of a replica is refused ("One or more parameter values
  were invalid: Disabling Stream is not allowed for a Global Table replica."): MREC
  replication reads it. `Update` and `Disassociate` replica updates are refused as not
  emulated.
- Streams: a table without a stream gets one with NEW_AND_OLD_IMAGES when it gets its first
  replica; a table whose stream has another view type keeps it ("Streams are therefore
  enabled by default on all replicas in an MREC global table, and cannot be disabled").
  Removing the last replica leaves the stream on.
- DescribeTable (and UpdateTable's, DeleteTable's answers) in every replica's region report
  `GlobalTableVersion: "2019.11.21"` and `Replicas: [{"RegionName", "ReplicaStatus":
  "ACTIVE"}, ...]`, every replica's region, its own included, in the order they joined.
  Once a single region remains the table is a regional table again: neither member.
- DeleteTable of a replica removes that replica only ("You can delete a global table's
  replica table the same as a regular table. This will stop replication to that Region").
- Replication: every successful write to a replica (PutItem, UpdateItem, DeleteItem,
  BatchWriteItem, TransactWriteItems, ExecuteStatement, BatchExecuteStatement,
  ExecuteTransaction) is captured as the item's state right after the write, with a write
  timestamp, and applied to every other replica after the replication lag, only where that
  key's last write in the other region is older: last writer wins per item. Condition
  expressions are evaluated against the local replica ("Conditional writes evaluate the
  condition expression against the version of the item in the Region"), so the same
  conditional put in two regions can succeed in both before replication; the later one
  then wins everywhere. A transaction's items replicate one by one, not as a unit. A
  replicated write appears in the replica's stream.

The lag is `BULWARK_LOCAL_REPLICATION_LAG_SECONDS` (default 0.5; AWS: "typically within a
second or less"), and at run time:

    GET  /moto-api/bulwark/dynamodb/replication        -> {"lag_seconds": 0.5, "pending": 0}
    POST /moto-api/bulwark/dynamodb/replication        {"lag_seconds": 2.0} -> the same shape
    POST /moto-api/bulwark/dynamodb/replication/flush  -> {"applied": n, "lag_seconds": x, "pending": 0}

Fault injection does not stop replication (faults are what callers see). moto's reset
(`POST /moto-api/reset`) forgets replicas, pending writes and timestamps.

Thread safety: one lock (`_lock`) guards the replica groups, the timestamps and the queue;
while any global table exists, every DynamoDB write holds it from the write to its capture,
and the single replication thread holds it while it applies a write.
"""

from __future__ import annotations

import copy
import functools
import heapq
import itertools
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from bulwark_local import dynamodb_pitr

log = logging.getLogger(__name__)

VERSION = "2019.11.21"
CONTROL = "/moto-api/bulwark/dynamodb/replication"
FLUSH = CONTROL + "/flush"
SOURCE_HOLD_SECONDS = 24 * 3600
REPLICATION_ROLE = "AWSServiceRoleForDynamoDBReplication"
REPLICATION_SERVICE = "replication.dynamodb.amazonaws.com"

LOCAL_REGION = (
    "Cannot add, delete, or update the local region through ReplicaUpdates. "
    "Use CreateTable, DeleteTable, or UpdateTable as required."
)
NOT_AUTOSCALED = "Table write capacity should either be Pay-Per-Request or AutoScaled."
KMS_PER_REPLICA = "One or more parameter values were invalid: KMSMasterKeyId must be specified for each replica."
STREAM_REQUIRED = "One or more parameter values were invalid: Disabling Stream is not allowed for a Global Table replica."
SOURCE_HELD = (
    "Replica cannot be deleted because it has acted as a source Region for new replica(s) "
    "being added to the table in the last 24 hours."
)

Key = tuple[DynamoType, "DynamoType | None"]


@dataclass(eq=False)
class Group:
    """The replicas of one global table: its account, name and regions (in the order they
    joined), and when each region last was the source of a new replica."""

    account: str
    name: str
    regions: list[str]
    sourced: dict[str, float] = field(default_factory=dict)


@dataclass(eq=False)
class Pending:
    """One captured write on its way to one other replica."""

    group: Group
    source: str
    target: str
    key: Key
    state: Item | None  # None: the item was deleted
    stamp: float


_lock = threading.RLock()
_wake = threading.Condition(_lock)
_local = threading.local()
# (account, region, table name) -> its group, for each region of each global table
_groups: dict[tuple[str, str, str], Group] = {}
# (account, region, table name) -> key -> timestamp of the key's last write there
_stamps: dict[tuple[str, str, str], dict[Key, float]] = {}
_pending: list[tuple[float, int, Pending]] = []
_sequence = itertools.count()
_last_stamp = 0.0
_lag = float(os.environ.get("BULWARK_LOCAL_REPLICATION_LAG_SECONDS", "0.5"))
_worker: threading.Thread | None = None


def group_of(account: str, region: str, name: str) -> Group | None:
    return _groups.get((account, region, name))


def _table_name(name: str) -> str:
    """TableName may be the table's ARN."""
    return name.rsplit("/", 1)[-1] if name.startswith("arn:") else name


def _stamp() -> float:
    """A write's timestamp: the clock, strictly increasing across the server."""
    global _last_stamp
    _last_stamp = max(time.time(), _last_stamp + 1e-6)
    return _last_stamp


# ---- capturing writes ----------------------------------------------------------------


def _touch(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    """A write to one key of a table; captured when the outermost write operation ends."""
    if getattr(_local, "applying", False):
        return
    if group_of(table.account_id, table.region_name, table.name) is None:
        return
    key = (table.account_id, table.region_name, table.name, hash_key, range_key)
    touched = getattr(_local, "touched", None)
    if touched is not None:
        touched[key] = None
        return
    with _lock:
        _capture([key])


def _capture(keys: Any) -> None:
    """Each key's state as it is now, stamped, queued for every other replica. Holds _lock."""
    due = time.time() + _lag
    for account, region, name, hash_key, range_key in keys:
        group = group_of(account, region, name)
        table = dynamodb_backends[account][region].tables.get(name)
        if group is None or table is None:
            continue
        item = table.get_item(hash_key, range_key)
        state = copy.deepcopy(item) if item is not None else None
        stamp = _stamp()
        _stamps.setdefault((account, region, name), {})[(hash_key, range_key)] = stamp
        for target in group.regions:
            if target != region:
                pending = Pending(group, region, target, (hash_key, range_key), state, stamp)
                heapq.heappush(_pending, (due, next(_sequence), pending))
    _wake.notify()


def _write_operation(original: Callable[..., Any]) -> Callable[..., Any]:
    """A backend write operation: the keys it writes are captured once it succeeds (a failed
    or cancelled transaction replicates nothing), under the lock while global tables exist."""

    @functools.wraps(original)
    def write(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        if not _groups or getattr(_local, "applying", False) or getattr(_local, "touched", None) is not None:
            return original(self, *args, **kwargs)
        with _lock:
            _local.touched = {}
            try:
                result = original(self, *args, **kwargs)
                touched = list(_local.touched)
            finally:
                _local.touched = None
            _capture(touched)
            return result

    return write


def _put_item(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put(self: Table, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        _touch(self, item.hash_key, item.range_key)
        return item

    return put


def _delete_item(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Any:
        item = original(self, hash_key, range_key)
        if item is not None:
            _touch(self, hash_key, range_key)
        return item

    return delete


def _update_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """UpdateItem changes the item in place: its key is touched once the update is done."""

    @functools.wraps(original)
    def update(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original(self, table_name, *args, **kwargs)
        _touch(self.get_table(table_name), item.hash_key, item.range_key)
        return item

    return update


# ---- applying them -------------------------------------------------------------------


def _store(table: Table, key: Key, item: Item, old: Item | None) -> None:
    """An item put as Table.put_item puts it, without its checks (the source checked)."""
    hash_key, range_key = key
    dynamodb_pitr.replaced(table, key, old)
    if range_key is not None:
        table.items[hash_key][range_key] = item
    else:
        table.items[hash_key] = item
    if table.stream_shard is not None:
        table.stream_shard.add(old, item)


def _apply(pending: Pending) -> None:
    """One replicated write, where the key's last write is older (last writer wins). Holds _lock."""
    account, name = pending.group.account, pending.group.name
    if group_of(account, pending.target, name) is not pending.group:
        return  # the replica is gone
    table = dynamodb_backends[account][pending.target].tables.get(name)
    if table is None:
        return
    stamps = _stamps.setdefault((account, pending.target, name), {})
    if stamps.get(pending.key, -1.0) >= pending.stamp:
        return  # a later write there wins
    old = table.get_item(*pending.key)
    _local.applying = True
    try:
        if pending.state is None:
            if old is not None:
                table.delete_item(*pending.key)
        else:
            _store(table, pending.key, copy.deepcopy(pending.state), old)
    finally:
        _local.applying = False
    stamps[pending.key] = pending.stamp


def _due(until: float | None) -> int:
    """Apply what is due by `until` (everything when None). Holds _lock."""
    applied = 0
    while _pending and (until is None or _pending[0][0] <= until):
        _, _, pending = heapq.heappop(_pending)
        try:
            _apply(pending)
        except Exception:  # one bad write must not stop replication
            log.exception("replicating %s to %s failed", pending.group.name, pending.target)
        applied += 1
    return applied


def _replicate_forever() -> None:
    with _wake:
        while True:
            _due(time.time())
            _wake.wait(max(0.0, _pending[0][0] - time.time()) if _pending else None)


def _ensure_worker() -> None:
    global _worker
    if _worker is None or not _worker.is_alive():
        _worker = threading.Thread(target=_replicate_forever, name="dynamodb-replication", daemon=True)
        _worker.start()


# ---- replica updates -------------------------------------------------------------------


def _refuse(message: str) -> None:
    raise MockValidationException(message)


def _autoscaled(account: str, region: str, name: str) -> bool:
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    targets = applicationautoscaling_backends[account][region].targets
    return f"table/{name}" in targets.get("dynamodb:table:WriteCapacityUnits", {})


def _customer_managed_key(table: Table) -> str | None:
    """The table's customer managed KMS key, or None (AWS owned or AWS managed key)."""
    sse = table.sse_specification or {}
    key = sse.get("KMSMasterKeyId")
    if not sse.get("Enabled") or not key or key == "alias/aws/dynamodb":
        return None
    from moto.kms.models import kms_backends

    kms = kms_backends[table.account_id][table.region_name]
    if kms.alias_exists("alias/aws/dynamodb") and kms.describe_key("alias/aws/dynamodb").arn == key:
        return None
    return str(key)


def _check_create(table: Table, region: str, create: dict[str, Any]) -> None:
    account, name, target = table.account_id, table.name, create["RegionName"]
    group = group_of(account, region, name)
    if target == region:
        _refuse(LOCAL_REGION)
    if target not in dynamodb_backends[account].regions:
        _refuse(f"One or more parameter values were invalid: {target} is not a valid region")
    if group is not None and target in group.regions:
        _refuse(f"One or more parameter values were invalid: table {name} already has a replica in {target}")
    if name in dynamodb_backends[account][target].tables:
        _refuse(f"One or more parameter values were invalid: a table named {name} already exists in {target}")
    if table.billing_mode != "PAY_PER_REQUEST" and not _autoscaled(account, region, name):
        _refuse(NOT_AUTOSCALED)
    if _customer_managed_key(table) is not None and not create.get("KMSMasterKeyId"):
        _refuse(KMS_PER_REPLICA)


def _check_delete(table: Table, region: str, delete: dict[str, Any]) -> None:
    target = delete["RegionName"]
    group = group_of(table.account_id, region, table.name)
    if target == region:
        _refuse(LOCAL_REGION)
    if group is None or target not in group.regions:
        _refuse(f"One or more parameter values were invalid: table {table.name} has no replica in {target}")
    _check_not_held(group, target)


def _check_not_held(group: Group, region: str) -> None:
    """AWS: "You can't delete a table used to add a new global table replica until 24 hours
    have elapsed since the new replica was created." """
    if time.time() - group.sourced.get(region, -SOURCE_HOLD_SECONDS) < SOURCE_HOLD_SECONDS:
        _refuse(SOURCE_HELD)


def _index_spec(index: Any) -> dict[str, Any]:
    described = index.describe()
    spec = {k: described[k] for k in ("IndexName", "KeySchema", "Projection") if k in described}
    throughput = getattr(index, "throughput", None)
    if throughput and throughput.get("ReadCapacityUnits"):
        spec["ProvisionedThroughput"] = {k: throughput[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")}
    return spec


def _create_replica(table: Table, region: str, create: dict[str, Any]) -> None:
    """The replica in create["RegionName"], its items those of `table`. Holds _lock."""
    account, name, target = table.account_id, table.name, create["RegionName"]
    if not (table.stream_specification or {}).get("StreamEnabled"):
        table.set_stream_specification({"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    sse = None
    if (table.sse_specification or {}).get("Enabled"):
        sse = {"Enabled": True, "SSEType": "KMS"}
        if _customer_managed_key(table) is not None:
            sse["KMSMasterKeyId"] = create["KMSMasterKeyId"]
        elif create.get("KMSMasterKeyId"):
            sse["KMSMasterKeyId"] = create["KMSMasterKeyId"]
    provisioned = table.billing_mode != "PAY_PER_REQUEST"
    replica = dynamodb_backends[account][target].create_table(
        name=name,
        schema=copy.deepcopy(table.schema),
        throughput={k: table.throughput[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")} if provisioned else None,
        attr=copy.deepcopy(table.attr),
        global_indexes=[_index_spec(i) for i in table.global_indexes],
        indexes=[_index_spec(i) for i in table.indexes],
        streams={"StreamEnabled": True, "StreamViewType": table.stream_specification["StreamViewType"]},
        billing_mode=table.billing_mode,
        sse_specification=sse,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    replica.ttl = copy.deepcopy(table.ttl)
    group = group_of(account, region, name)
    if group is None:
        group = Group(account, name, [region])
        _groups[(account, region, name)] = group
    group.regions.append(target)
    group.sourced[region] = time.time()
    _groups[(account, target, name)] = group
    # The items as they are (their timestamps with them), and the writes already on their
    # way to the source, which the new replica must see too.
    source_stamps = _stamps.get((account, region, name), {})
    target_stamps = _stamps.setdefault((account, target, name), {})
    for item in table.all_items():
        key = (item.hash_key, item.range_key)
        _backfill(replica, key, item)
        target_stamps[key] = source_stamps.get(key, 0.0)
    for due, _, pending in list(_pending):
        if pending.group is group and pending.target == region:
            copied = Pending(group, pending.source, target, pending.key, pending.state, pending.stamp)
            heapq.heappush(_pending, (due, next(_sequence), copied))
    _ensure_replication_role(account)


def _backfill(replica: Table, key: Key, item: Item) -> None:
    """An item copied into a new replica, without a stream record."""
    hash_key, range_key = key
    if range_key is not None:
        replica.items[hash_key][range_key] = copy.deepcopy(item)
    else:
        replica.items[hash_key] = copy.deepcopy(item)


def _ensure_replication_role(account: str) -> None:
    """AWSServiceRoleForDynamoDBReplication, which DynamoDB creates with the first global table."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    if any(role.name == REPLICATION_ROLE for role in backend.roles.values()):
        return
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": [REPLICATION_SERVICE]}, "Action": ["sts:AssumeRole"]}]}
    backend.create_role(
        REPLICATION_ROLE, json.dumps(trust), f"/aws-service-role/{REPLICATION_SERVICE}/", permissions_boundary=None,
        description="DynamoDB global tables' replication", tags=[], max_session_duration="3600", linked_service=REPLICATION_SERVICE,
    )


def replication_role_exists(account: str) -> bool:
    from moto.iam.models import iam_backends

    return any(role.name == REPLICATION_ROLE for role in iam_backends[account]["aws"].roles.values())


def _leave(group: Group, region: str) -> None:
    """`region` is no longer a replica; a group of one region is a regional table again. Holds _lock."""
    if region in group.regions:
        group.regions.remove(region)
    _groups.pop((group.account, region, group.name), None)
    group.sourced.pop(region, None)
    if len(group.regions) == 1:
        _groups.pop((group.account, group.regions[0], group.name), None)
        group.regions.clear()


def replica_updates(handler: Any, original: Callable[..., Any]) -> Any:
    """UpdateTable with ReplicaUpdates (and whatever else it updates)."""
    body = handler.body
    account, region = handler.current_account, handler.region
    with _lock:
        table = dynamodb_backends[account][region].get_table(body["TableName"])
        _check_stream(table, region, body)
        updates = body.get("ReplicaUpdates") or []
        for update in updates:
            for kind in update:
                if kind not in ("Create", "Delete"):
                    _refuse(f"local AWS: ReplicaUpdates {kind} is not emulated")
        # Every update is checked against the state before any is applied, as one request.
        for update in updates:
            if "Create" in update:
                _check_create(table, region, update["Create"])
            if "Delete" in update:
                _check_delete(table, region, update["Delete"])
        targets = [next(iter(u.values()))["RegionName"] for u in updates]
        if len(set(targets)) != len(targets):
            _refuse("One or more parameter values were invalid: a region appears in more than one replica update")
        for update in updates:
            if "Create" in update:
                _create_replica(table, region, update["Create"])
            if "Delete" in update:
                dynamodb_backends[account][update["Delete"]["RegionName"]].delete_table(table.name)
        _ensure_worker()
        return original(handler)


def _check_stream(table: Table, region: str, body: dict[str, Any]) -> None:
    spec = body.get("StreamSpecification")
    if spec is not None and spec.get("StreamEnabled") is False:
        if group_of(table.account_id, region, table.name) is not None or any("Create" in u for u in body.get("ReplicaUpdates") or []):
            _refuse(STREAM_REQUIRED)


# ---- moto's operations, patched --------------------------------------------------------


def _update_table(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_table(self: Any) -> Any:
        if self.body.get("ReplicaUpdates") or self.body.get("StreamSpecification") is not None:
            return replica_updates(self, original)
        return original(self)

    return update_table


def _delete_table(original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteTable of a replica removes that replica, unless it sourced a new one in the last
    24 hours."""

    @functools.wraps(original)
    def delete_table(self: DynamoDBBackend, name: str) -> Any:
        with _lock:
            table_name = _table_name(name)
            group = group_of(self.account_id, self.region_name, table_name)
            if group is not None:
                _check_not_held(group, self.region_name)
            deleted = original(self, name)
            if group is not None:
                _leave(group, self.region_name)
            _stamps.pop((self.account_id, self.region_name, deleted.name), None)
            return deleted

    return delete_table


def _describe(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        result: dict[str, Any] = original(self, base_key)
        group = group_of(self.account_id, self.region_name, self.name)
        if group is not None:
            result[base_key]["GlobalTableVersion"] = VERSION
            result[base_key]["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in group.regions]
        return result

    return describe


def reset() -> None:
    with _lock:
        _groups.clear()
        _stamps.clear()
        _pending.clear()


# ---- the control path ------------------------------------------------------------------

JSON = {"Content-Type": "application/json"}


def _status() -> dict[str, Any]:
    return {"lag_seconds": _lag, "pending": len(_pending)}


def _body(request: Any) -> Any:
    """The JSON body; also when sent as a form (`curl -d`), which werkzeug parses into a key."""
    raw = request.data
    if not raw and len(request.form) == 1:
        raw = next(iter(request.form)).encode()
    return json.loads(raw or b"{}")


def control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """GET the lag and how many writes are on their way; POST {"lag_seconds": x} to set it."""
    global _lag
    if request.method == "GET":
        with _lock:
            return 200, JSON, json.dumps(_status())
    if request.method != "POST":
        return 405, JSON, json.dumps({"Error": "GET or POST"})
    try:
        lag = _body(request)["lag_seconds"]
        if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag < 0:
            raise ValueError("lag_seconds is a number of seconds, 0 or more")
    except (ValueError, KeyError, TypeError) as err:
        return 400, JSON, json.dumps({"Error": f"{type(err).__name__}: {err}"})
    with _lock:
        _lag = float(lag)
        _wake.notify()
        return 200, JSON, json.dumps(_status())


def flush(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """POST: apply every write on its way now."""
    if request.method != "POST":
        return 405, JSON, json.dumps({"Error": "POST"})
    with _lock:
        applied = _due(None)
        return 200, JSON, json.dumps({"applied": applied, **_status()})


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    import moto.moto_api._internal.urls
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_api._internal.models import MotoAPIBackend

    DynamoDBBackend.update_item = _update_item(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    for operation in (
        "put_item", "update_item", "delete_item", "transact_write_items",
        "execute_statement", "execute_transaction", "batch_execute_statement",
    ):
        setattr(DynamoDBBackend, operation, _write_operation(getattr(DynamoDBBackend, operation)))
    DynamoDBBackend.delete_table = _delete_table(DynamoDBBackend.delete_table)  # type: ignore[method-assign]
    Table.put_item = _put_item(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _delete_item(Table.delete_item)  # type: ignore[method-assign]
    Table.describe = _describe(Table.describe)  # type: ignore[method-assign]
    DynamoHandler.update_table = _update_table(DynamoHandler.update_table)  # type: ignore[method-assign]

    original_reset = MotoAPIBackend.reset

    def reset_all(self: MotoAPIBackend) -> None:
        with _lock:
            original_reset(self)
            reset()

    MotoAPIBackend.reset = reset_all  # type: ignore[method-assign]
    moto.moto_api._internal.urls.url_paths["{0}" + CONTROL] = control
    moto.moto_api._internal.urls.url_paths["{0}" + FLUSH] = flush
    _ensure_worker()
