"""S3's PutBucketReplication refusing what S3 refuses: moto 5.2 checks the source bucket's
versioning and stores any configuration, whatever its destination.

As the S3 API reference's PutBucketReplication and the user guide's *Requirements and
considerations for replication* say (rows in FIDELITY.md, "S3 replication"):
- the destination bucket must exist and have versioning enabled ("Destination bucket must
  have versioning enabled.", S3's words as quoted in hashicorp/terraform-provider-aws#23578);
- a rule with a `Filter` must also state `DeleteMarkerReplication`, `Status` and `Priority`;
- rule IDs and priorities are unique within a configuration (local wording).

Objects are not replicated: the local AWS keeps the configuration and copies nothing.
"""

from __future__ import annotations

from typing import Any

from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend, s3_backends

_moto_put_bucket_replication = S3Backend.put_bucket_replication


class _Invalid(S3ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequest", message)


def _destination(name: str) -> Any | None:
    """The destination bucket, in whichever account owns it."""
    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def check(replication: dict[str, Any]) -> None:
    rules = replication.get("Rule") or []
    if isinstance(rules, dict):
        rules = [rules]
    if not rules:
        raise _Invalid("A replication configuration must include at least one rule.")
    ids: set[str] = set()
    priorities: set[str] = set()
    for rule in rules:
        if "Filter" in rule:
            missing = [m for m in ("DeleteMarkerReplication", "Status", "Priority") if m not in rule]
            if missing:
                raise _Invalid(f"A rule with a Filter must also state {', '.join(missing)}.")
            if rule["Priority"] in priorities:
                raise _Invalid(f"Priority {rule['Priority']} is used by more than one rule.")
            priorities.add(rule["Priority"])
        if "ID" in rule:
            if rule["ID"] in ids:
                raise _Invalid(f"Rule ID {rule['ID']} is used by more than one rule.")
            ids.add(rule["ID"])
        arn = (rule.get("Destination") or {}).get("Bucket", "")
        bucket = _destination(arn.split(":::", 1)[-1])
        if bucket is None:
            raise _Invalid("Destination bucket must exist.")
        if not bucket.is_versioned:
            raise _Invalid("Destination bucket must have versioning enabled.")


def _put_bucket_replication(self: S3Backend, bucket_name: str, replication: dict[str, Any]) -> None:
    check(replication)
    _moto_put_bucket_replication(self, bucket_name, replication)


def install() -> None:
    S3Backend.put_bucket_replication = _put_bucket_replication  # type: ignore[method-assign]
