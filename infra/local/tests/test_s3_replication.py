"""S3 replication configurations refused as S3 refuses them (FIDELITY.md, "S3 replication"):
the destination bucket must exist and be versioned, a filtered rule states its delete-marker
replication, status and priority, and IDs and priorities are unique."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest
from conftest import ACCOUNT, unique

ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/replication"


def _bucket(s3: Any, region: str, versioned: bool = True) -> str:
    name = unique("replicated")
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **config)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _rule(destination: str, rule_id: str = "dr", priority: int = 1, **extra: Any) -> dict[str, Any]:
    rule = {
        "ID": rule_id,
        "Priority": priority,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": f"arn:aws:s3:::{destination}"},
    }
    rule.update(extra)
    return rule


def _refused(s3: Any, bucket: str, rules: list[dict[str, Any]]) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={"Role": ROLE, "Rules": rules})
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"
    return str(refused.value.response["Error"]["Message"])


def test_a_destination_must_exist_and_be_versioned(aws: Any) -> None:
    home, dr = aws("s3", "us-east-1"), aws("s3", "us-west-2")
    source = _bucket(home, "us-east-1")
    unversioned = _bucket(dr, "us-west-2", versioned=False)

    assert _refused(home, source, [_rule(unique("nowhere"))]) == "Destination bucket must exist."
    assert _refused(home, source, [_rule(unversioned)]) == "Destination bucket must have versioning enabled."
    with pytest.raises(botocore.exceptions.ClientError):
        home.get_bucket_replication(Bucket=source)

    dr.put_bucket_versioning(Bucket=unversioned, VersioningConfiguration={"Status": "Enabled"})
    home.put_bucket_replication(Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": [_rule(unversioned)]})
    stored = home.get_bucket_replication(Bucket=source)["ReplicationConfiguration"]
    assert stored["Role"] == ROLE
    assert [r["Destination"]["Bucket"] for r in stored["Rules"]] == [f"arn:aws:s3:::{unversioned}"]


def test_filtered_rules_state_their_priority_and_ids_and_priorities_are_unique(aws: Any) -> None:
    s3 = aws("s3", "us-east-1")
    source, destination = _bucket(s3, "us-east-1"), _bucket(s3, "us-east-1")
    without_priority = _rule(destination)
    del without_priority["Priority"]

    assert "Priority" in _refused(s3, source, [without_priority])
    assert "Priority 1" in _refused(s3, source, [_rule(destination, "a"), _rule(destination, "b")])
    assert "Rule ID a" in _refused(s3, source, [_rule(destination, "a", 1), _rule(destination, "a", 2)])
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={"Role": ROLE, "Rules": [_rule(destination, "a", 1), _rule(destination, "b", 2)]},
    )
    assert [r["ID"] for r in s3.get_bucket_replication(Bucket=source)["ReplicationConfiguration"]["Rules"]] == ["a", "b"]
