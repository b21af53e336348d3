"""S3 Object Lock reads that moto does not route: GetObjectRetention."""

from __future__ import annotations

import datetime
from typing import Any

import botocore.exceptions
import pytest
from conftest import unique


def test_an_objects_retention_reads_back_and_an_object_without_one_says_so(aws: Any) -> None:
    """GetObjectRetention (which moto does not route): the version's mode and date, or
    NoSuchObjectLockConfiguration (404) for an object without retention."""
    s3 = aws("s3", "us-east-1")
    bucket = unique("locked")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    until = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    s3.put_object(Bucket=bucket, Key="evidence.json", Body=b"{}", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    s3.put_object(Bucket=bucket, Key="free.json", Body=b"{}")

    retention = s3.get_object_retention(Bucket=bucket, Key="evidence.json")["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert retention["RetainUntilDate"] == until
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.get_object_retention(Bucket=bucket, Key="free.json")
    assert refused.value.response["Error"]["Code"] == "NoSuchObjectLockConfiguration"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert s3.get_object(Bucket=bucket, Key="evidence.json")["Body"].read() == b"{}"
