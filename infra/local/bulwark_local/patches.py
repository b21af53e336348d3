"""Where moto falls behind AWS in ways Bulwark depends on, bring it level.

Each patch names the AWS behaviour it restores. They are applied once, in process, before
the server starts.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Backup
from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend
from moto.s3.models import S3Backend
from moto.s3.responses import S3Response


_original_all_buckets = S3Response.all_buckets


def _list_buckets_paged(self: S3Response) -> Any:
    """ListBuckets as AWS has served it since 2024.

    AWS returns BucketRegion for each bucket, honours MaxBuckets with a ContinuationToken,
    and filters by Prefix and BucketRegion. moto 5.2 truncates at MaxBuckets without a token
    and omits BucketRegion.
    """
    from bulwark_local import faults

    if faults.legacy_s3_for(self.current_account):
        return _original_all_buckets(self)
    self.data["Action"] = "ListAllMyBuckets"
    self._authenticate_and_authorize_s3_action()
    prefix = self._get_param("prefix")
    bucket_region = self._get_param("bucket-region")
    max_buckets = int(self._get_param("max-buckets") or 10000)
    token = self._get_param("continuation-token")
    after = base64.urlsafe_b64decode(token.encode()).decode() if token else None

    buckets = sorted(
        self.backend.list_buckets(prefix=prefix, bucket_region=bucket_region, max_buckets=None),
        key=lambda b: b.name,
    )
    if after is not None:
        buckets = [b for b in buckets if b.name > after]
    page, rest = buckets[:max_buckets], buckets[max_buckets:]
    result: dict[str, Any] = {
        "Owner": {"ID": "bcaf1ffd86f41161ca5fb16fd081034f", "DisplayName": "webfile"},
        "Buckets": [
            {
                "Name": b.name,
                "CreationDate": b.creation_date_ISO8601,
                "BucketRegion": b.region_name,
            }
            for b in page
        ],
    }
    if prefix:
        result["Prefix"] = prefix
    if rest:
        result["ContinuationToken"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
    self.data["Action"] = "ListBuckets"
    return self.serialized(ActionResult(result))


def _get_bucket_versioning(self: S3Response) -> Any:
    """GetBucketVersioning with AWS's root element, VersioningConfiguration.

    moto 5.2 answers with another root, which the Rust SDK's strict deserializer refuses.
    """
    status = self.backend.get_bucket_versioning(self.bucket_name)
    mfa = self.backend.get_bucket(self.bucket_name).mfa_delete if hasattr(
        self.backend.get_bucket(self.bucket_name), "mfa_delete"
    ) else None
    inner = f"<Status>{status}</Status>" if status else ""
    if mfa:
        inner += f"<MfaDelete>{mfa}</MfaDelete>"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{inner}</VersioningConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


_original_s3_iter_tagged = S3Backend.iter_tagged_resources


def _s3_iter_tagged_with_region(self: S3Backend) -> Any:
    for resource in _original_s3_iter_tagged(self):
        bucket = self.buckets.get(resource.arn.split(":")[-1])
        if bucket is not None:
            resource.extra["region"] = bucket.region_name
        yield resource


_original_get_resources_generator = ResourceGroupsTaggingAPIBackend._get_resources_generator


def _get_resources_in_own_region(self: ResourceGroupsTaggingAPIBackend, *args: Any, **kwargs: Any) -> Any:
    """GetResources returns a region's own S3 buckets, as AWS does, not every region's."""
    for resource in _original_get_resources_generator(self, *args, **kwargs):
        region = resource.extra.get("region") if resource.resource_type == "s3:bucket" else None
        if region is not None and region != self.region_name:
            continue
        yield resource


class _CheapTableSnapshots:
    """Stands in for the `copy` module inside moto's DynamoDB backend during a transaction.

    moto 5.2 deep-copies the whole table once per item of TransactWriteItems, so that it can
    roll back: a 100-item transaction on a 5,000-item table copies 500,000 items, and two
    transactions at once fail with "dictionary changed size during iteration". AWS runs them
    in milliseconds, concurrently. A transaction of Puts, Deletes and ConditionChecks replaces
    items rather than changing them, so a copy of the table's item maps is a faithful rollback
    point; a transaction with an Update (which changes items in place) keeps moto's deep copy.
    """

    def __init__(self, deep: bool) -> None:
        self.deep = deep
        self.snapshots: dict[int, Any] = {}

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        import copy

        from moto.dynamodb.models.table import Table

        if self.deep or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in self.snapshots:
            snapshot = copy.copy(value)
            items = type(value.items)(dict) if hasattr(value.items, "default_factory") else {}
            for key, entry in value.items.items():
                items[key] = dict(entry) if isinstance(entry, dict) else entry
            snapshot.items = items
            self.snapshots[id(value)] = snapshot
        return self.snapshots[id(value)]

    def __getattr__(self, name: str) -> Any:
        import copy

        return getattr(copy, name)


_transaction_lock = threading.Lock()


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
    import moto.dynamodb.models as dynamodb_models

    has_update = any("Update" in item for item in transact_items)
    with _transaction_lock:
        real_copy = dynamodb_models.copy
        dynamodb_models.copy = _CheapTableSnapshots(deep=has_update)
        try:
            return _original_transact_write_items(self, transact_items)
        finally:
            dynamodb_models.copy = real_copy


_original_transact_write_items = DynamoDBBackend.transact_write_items


def _backup_description(self: Backup) -> dict[str, Any]:
    """DescribeBackup with SourceTableFeatureDetails, where AWS reports the backed-up table's
    secondary indexes (API reference, SourceTableFeatureDetails); moto leaves it out."""
    description = _original_backup_description.fget(self)  # type: ignore[attr-defined]
    source = description["SourceTableDetails"]
    features: dict[str, Any] = {}
    for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = source.get(member)
        if indexes:
            features[member] = [
                {k: i[k] for k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput") if k in i} for i in indexes
            ]
    if features:
        description["SourceTableFeatureDetails"] = features
    return description


_original_backup_description = Backup.description


def apply() -> None:
    Backup.description = property(_backup_description)  # type: ignore[assignment,method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    S3Response.all_buckets = _list_buckets_paged  # type: ignore[method-assign]
    S3Response.get_bucket_versioning = _get_bucket_versioning  # type: ignore[method-assign]
    S3Backend.iter_tagged_resources = _s3_iter_tagged_with_region  # type: ignore[method-assign]
    ResourceGroupsTaggingAPIBackend._get_resources_generator = _get_resources_in_own_region  # type: ignore[method-assign]

