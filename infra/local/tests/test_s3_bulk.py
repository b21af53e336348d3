"""The local-only bulk-put control path writes objects as PutObject does (versions, ETags, sizes,
LastModified), S3's listings page through them in order, and AWS Backup restores a large
bucket while its restore job runs, not inside StartRestoreJob."""

from __future__ import annotations

import datetime
import time
import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from bulwark_local.s3_bulk import object_bytes, object_name
from conftest import ACCOUNT, ROLE, unique, wait

REGION = "us-west-2"
COUNT = 5000


def _bulk_put(endpoint: str, **body: Any) -> dict[str, Any]:
    request = urllib.request.Request(f"{endpoint}/moto-api/bulwark/s3/bulk-put", data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)  # type: ignore[no-any-return]
    except urllib.error.HTTPError as err:
        err.msg = err.read().decode()  # the control path's reason
        raise


def _bucket(s3: Any, versioned: bool) -> str:
    name = unique("bulk")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _versions(s3: Any, bucket: str) -> list[dict[str, Any]]:
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1000})
    return [v for page in pages for v in page.get("Versions", [])]


def test_bulk_put_writes_what_put_object_writes_and_lists_in_pages(aws: Any, endpoint: str) -> None:
    s3 = aws("s3", REGION)
    bucket = _bucket(s3, versioned=True)
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    answer = _bulk_put(endpoint, account=ACCOUNT, region=REGION, bucket=bucket, count=COUNT, prefix="obj/", size=40)
    assert answer == {"bucket": bucket, "count": COUNT, "first_key": "obj/000000000", "last_key": f"obj/{COUNT - 1:09d}", "versioned": True}

    versions = _versions(s3, bucket)
    assert [v["Key"] for v in versions] == [object_name("obj/", n) for n in range(COUNT)]
    for v in versions[::499]:
        data = object_bytes(v["Key"], 40)
        assert v["ETag"] == f'"{hashlib.md5(data).hexdigest()}"' and v["Size"] == 40 and v["IsLatest"]
        assert v["VersionId"] != "null" and v["StorageClass"] == "STANDARD" and v["LastModified"] >= before
        assert s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read() == data
    assert len({v["ETag"] for v in versions}) == COUNT  # each object has bytes of its own

    # the same object by PutObject: every field HeadObject shows is the same but its time and version
    key = versions[7]["Key"]
    bulk = s3.head_object(Bucket=bucket, Key=key)
    s3.put_object(Bucket=bucket, Key=key, Body=object_bytes(key, 40))
    put = s3.head_object(Bucket=bucket, Key=key)
    ignore = {"LastModified", "VersionId", "ResponseMetadata"}
    assert {k: v for k, v in bulk.items() if k not in ignore} == {k: v for k, v in put.items() if k not in ignore}

    listed = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="obj/", PaginationConfig={"PageSize": 1000})
    pages = list(listed)
    assert len(pages) == COUNT // 1000 and sum(p["KeyCount"] for p in pages) == COUNT


def test_bulk_put_again_adds_versions_and_an_unversioned_bucket_gets_null_ones(aws: Any, endpoint: str) -> None:
    s3 = aws("s3", REGION)
    versioned, plain = _bucket(s3, versioned=True), _bucket(s3, versioned=False)
    for _ in range(2):
        _bulk_put(endpoint, account=ACCOUNT, bucket=versioned, count=10, prefix="k", start=5)
        _bulk_put(endpoint, account=ACCOUNT, bucket=plain, count=10, prefix="k")
    versions = _versions(s3, versioned)
    assert len(versions) == 20 and [v["Key"] for v in versions[:2]] == ["k000000005"] * 2
    assert [v["IsLatest"] for v in versions[:2]] == [True, False] and versions[0]["Size"] == 0
    assert {v["VersionId"] for v in _versions(s3, plain)} == {"null"} and len(_versions(s3, plain)) == 10


@pytest.mark.parametrize(
    "body",
    [
        {"bucket": "no-such-bucket-here", "count": 1},
        {"count": 1, "region": "eu-west-1"},
        {"count": 0},
        {"count": 1, "account": "12"},
    ],
)
def test_bulk_put_refuses_what_it_cannot_write(aws: Any, endpoint: str, body: dict[str, Any]) -> None:
    bucket = _bucket(aws("s3", REGION), versioned=False)
    with pytest.raises(urllib.error.HTTPError) as refused:
        _bulk_put(endpoint, **{"account": ACCOUNT, "bucket": bucket, **body})
    assert refused.value.code == 400


def test_a_restore_job_writes_its_objects_after_start_restore_job_answers(aws: Any, endpoint: str) -> None:
    s3, backup = aws("s3", REGION), aws("backup", REGION)
    bucket = _bucket(s3, versioned=True)
    count = 20_000
    _bulk_put(endpoint, account=ACCOUNT, bucket=bucket, count=count, prefix="r/", size=8)
    vault = unique("bulk-vault")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=f"arn:aws:s3:::{bucket}", IamRoleArn=ROLE)
    assert wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")[-1] == "COMPLETED"
    point = backup.describe_backup_job(BackupJobId=job["BackupJobId"])["RecoveryPointArn"]

    restored = unique("bulk-restored")
    started = time.monotonic()
    restore = backup.start_restore_job(
        RecoveryPointArn=point, Metadata={"DestinationBucketName": restored, "NewBucket": "true"}, IamRoleArn=ROLE
    )
    answered = time.monotonic() - started
    states = wait(lambda: backup.describe_restore_job(RestoreJobId=restore["RestoreJobId"]), "Status", timeout=60)
    assert states[-1] == "COMPLETED" and "RUNNING" in states
    assert answered < 1.0, f"StartRestoreJob took {answered:.2f} s: the objects were written inside it"
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=restored))
    assert sum(p["KeyCount"] for p in pages) == count
