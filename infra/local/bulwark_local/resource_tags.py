"""Condition keys that describe the resource a request acts on, read from moto's stores:
`aws:ResourceTag/<key>` (the tags the resource carries before the request) for the six data
store kinds, and `s3:ResourceAccount` (the account that owns a bucket).

A resource that does not exist, or a kind not listed here, has no tags: a condition that
requires one then fails, as it would in AWS for a resource without that tag.
"""

from __future__ import annotations

from typing import Any


def _pairs(tags: Any) -> dict[str, str]:
    """{Key, Value} lists and plain maps alike."""
    if isinstance(tags, dict):
        inner = tags.get("TagSet", tags.get("Tags"))
        if inner is None:
            return {str(k): str(v) for k, v in tags.items()}
        tags = inner
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags or [] if isinstance(t, dict) and "Key" in t}


def _rds(account: str, region: str, arn: str) -> dict[str, str]:
    from moto.rds.models import rds_backends

    return _pairs(rds_backends[account][region].list_tags_for_resource(arn))


def _dynamodb(account: str, region: str, arn: str) -> dict[str, str]:
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[account][region]
    table = next((t for t in backend.tables.values() if t.table_arn == arn), None)
    return _pairs(table.tags) if table is not None else {}


def _ec2(account: str, region: str, arn: str) -> dict[str, str]:
    from moto.ec2.models import ec2_backends

    resource_id = arn.rsplit("/", 1)[-1]
    return dict(ec2_backends[account][region].tags.get(resource_id, {}))


def _efs(account: str, region: str, arn: str) -> dict[str, str]:
    from moto.efs.models import efs_backends

    backend = efs_backends[account][region]
    file_system_id = arn.rsplit("/", 1)[-1]
    if file_system_id not in backend.file_systems_by_id:
        return {}
    return _pairs(backend.list_tags_for_resource(file_system_id))


def _s3_owner(bucket: str) -> str | None:
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    return owner[1] if owner else None


def _s3(bucket: str) -> dict[str, str]:
    from moto.s3.models import s3_backends

    account = _s3_owner(bucket)
    if account is None:
        return {}
    backend = s3_backends[account]["global"]
    bucket_model = backend.buckets.get(bucket)
    return _pairs(backend.tagger.list_tags_for_resource(bucket_model.arn)) if bucket_model else {}


def tags_of(arn: str) -> dict[str, str]:
    """The tags of the resource an ARN names, or {} when it is not one of the kinds read here."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return {}
    _, _, service, region, account, resource = parts
    if service == "s3" and "/" not in resource:
        return _s3(resource)
    if service == "rds" and resource.split(":", 1)[0] in ("db", "cluster"):
        return _rds(account, region, arn)
    if service == "dynamodb" and resource.startswith("table/") and resource.count("/") == 1:
        return _dynamodb(account, region, arn)
    if service == "ec2" and resource.startswith(("volume/", "snapshot/")):
        return _ec2(account, region, arn)
    if service == "elasticfilesystem" and resource.startswith("file-system/"):
        return _efs(account, region, arn)
    return {}


def context_of(arn: str, wants_tags: bool) -> dict[str, Any]:
    """`s3:ResourceAccount` for a bucket, and, when a policy asks (`wants_tags`), one
    `aws:ResourceTag/<key>` per tag of the resource."""
    context: dict[str, Any] = {}
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "s3" and parts[5] and "/" not in parts[5]:
        owner = _s3_owner(parts[5])
        if owner is not None:
            context["s3:ResourceAccount"] = owner
    if wants_tags:
        context.update({f"aws:ResourceTag/{k}": v for k, v in tags_of(arn).items()})
    return context
