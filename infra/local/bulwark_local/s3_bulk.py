"""A local-only control path that writes many S3 objects at once, for benchmarks at 1M objects.

    POST /moto-api/bulwark/s3/bulk-put
        {"account": "<12 digits>", "region": "us-east-1", "bucket": "<name>", "count": 1000000,
         "prefix": "obj/", "size": 32, "start": 0}

writes `count` objects into an existing bucket of that account (in that region, which defaults
to the bucket's own), named `<prefix><n>` with n from `start` on, zero-padded to 9 digits (so key
order is number order), each `size` bytes of its own (its key repeated, so no two ETags are the
same). Each is written as a PutObject without optional headers writes it, through the same moto
calls S3's PutObject handler makes: a new version in a versioned bucket (the null version
otherwise), its ETag the MD5 of its bytes (s3_etags.py: an opaque one under the bucket's
default SSE-KMS), its size, LastModified now, STANDARD storage, no user metadata, the bucket's
ACL, no tags, and the bucket's event notifications. It holds the S3 backend's lock as an S3
request does. The answer is {"bucket", "count", "first_key", "last_key", "versioned"}.

1,000,000 PutObject calls over HTTP take hours in moto; this takes under a minute.
"""

from __future__ import annotations

import re
from typing import Any

from moto.s3.models import s3_backends

from bulwark_local import concurrency

PATH = "/moto-api/bulwark/s3/bulk-put"
MAX_COUNT = 10_000_000
MAX_SIZE = 1024 * 1024


class BulkPutError(Exception):
    pass


def object_name(prefix: str, n: int) -> str:
    return f"{prefix}{n:09d}"


def object_bytes(name: str, size: int) -> bytes:
    """`size` bytes of the object's own: its name and a newline, repeated."""
    unit = f"{name}\n".encode()
    return (unit * (size // len(unit) + 1))[:size]


def _request(body: dict[str, Any]) -> tuple[str, str | None, str, int, str, int, int]:
    account, region = str(body.get("account", "")), body.get("region")
    bucket, prefix = str(body.get("bucket", "")), str(body.get("prefix", ""))
    count, size, start = int(body.get("count", 0)), int(body.get("size", 0)), int(body.get("start", 0))
    if not re.fullmatch(r"\d{12}", account):
        raise BulkPutError(f"account must be 12 digits, not {account!r}")
    if not 1 <= count <= MAX_COUNT or not 0 <= size <= MAX_SIZE or not 0 <= start or start + count > 10**9:
        raise BulkPutError(f"count must be 1 to {MAX_COUNT}, size 0 to {MAX_SIZE}, start + count at most 10^9")
    return account, None if region is None else str(region), bucket, count, prefix, size, start


def bulk_put(body: dict[str, Any]) -> dict[str, Any]:
    account, region, name, count, prefix, size, start = _request(body)
    s3 = s3_backends[account]["aws"]
    bucket = s3.buckets.get(name)
    if bucket is None:
        raise BulkPutError(f"no bucket {name!r} in account {account}")
    if region is not None and bucket.region_name != region:
        raise BulkPutError(f"bucket {name!r} is in {bucket.region_name}, not {region}")
    with concurrency.backend("s3", account, bucket.region_name):
        for n in range(start, start + count):
            key_name = object_name(prefix, n)
            # what moto's S3Response.put_object does for a PutObject without optional headers
            key = s3.put_object(name, key_name, object_bytes(key_name, size), storage="STANDARD", request_method="PUT")
            key.set_metadata({})
            key.set_acl(bucket.acl)
            key.website_redirect_location = None
            s3.put_object_tagging(key, {})
    return {
        "bucket": name,
        "count": count,
        "first_key": object_name(prefix, start),
        "last_key": object_name(prefix, start + count - 1),
        "versioned": bool(bucket.is_versioned),
    }


def install() -> None:
    import moto.moto_api._internal.urls

    from bulwark_local.template import post_endpoint

    moto.moto_api._internal.urls.url_paths["{0}" + PATH] = post_endpoint(PATH, bulk_put, (BulkPutError,))
