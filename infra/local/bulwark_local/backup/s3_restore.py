"""How AWS Backup writes an S3 recovery point's objects back into a bucket.

A restore writes each object anew into the destination bucket ("Restore S3 data using AWS
Backup": it never overwrites an existing key), with the encryption the restore asks for:

    EncryptionType   original (the default): each object's own encryption and key, none for an
                     object that had none (the bucket's default encryption then applies);
                     SSE-S3; SSE-KMS with KMSKey (else the AWS managed key aws/s3)

A restored object is a new object, so S3 gives it the ETag of how it is written, not the
source's: one write of its bytes (as PutObject, or a CopyObject of up to 5 GB, writes one), so
an MD5 of the data when it is plaintext or SSE-S3 (a multipart source's `<md5>-<parts>` is not
kept) and an opaque ETag under SSE-KMS (a new one, unlike the source's; s3_etags.py). The
source's additional checksum (`x-amz-checksum-*`) is not kept either: AWS Backup's S3 pages
list what a restore brings back (the objects, their versions, ACLs, object tags, encryption)
and no checksum; AWS gives a new object its default CRC64NVME, which moto does not compute,
so a restored object here has none. FIDELITY.md has the sources.
"""

from __future__ import annotations

from typing import Any

from bulwark_local import concurrency

from .kinds import KindError, _meta

_TYPES = {"original": "original", "sse-s3": "AES256", "sse-kms": "aws:kms"}


def captured(key: Any) -> dict[str, Any]:
    """What a backup keeps of an object besides its bytes, metadata and storage class."""
    return {"encryption": key.encryption, "kms_key_id": key.kms_key_id, "bucket_key": key.bucket_key_enabled}


def restore_encryption(metadata: dict[str, str]) -> tuple[str, str | None]:
    """(encryption, KMS key) the restore asks for; encryption "original" keeps each object's."""
    asked = (_meta(metadata, "EncryptionType") or "original").strip()
    encryption = _TYPES.get(asked.lower())
    if encryption is None:
        raise KindError(f"EncryptionType must be original, SSE-S3 or SSE-KMS, not {asked!r}")
    key = _meta(metadata, "KMSKey") if encryption == "aws:kms" else None
    return encryption, key


def write(s3: Any, bucket: str, obj: dict[str, Any], asked: tuple[str, str | None]) -> None:
    """Write one object of the recovery point into the bucket, as a new object."""
    encryption, kms_key = asked
    bucket_key = None
    if encryption == "original":
        encryption, kms_key, bucket_key = obj.get("encryption"), obj.get("kms_key_id"), obj.get("bucket_key")
    key = s3.put_object(
        bucket, obj["key"], obj["value"], storage=obj["storage"], encryption=encryption,
        kms_key_id=kms_key, bucket_key_enabled=bucket_key, disable_notification=True,
    )
    key.set_metadata(dict(obj["metadata"]))


CHUNK = 1000  # objects written under one hold of the S3 lock


def write_all(s3: Any, bucket: Any, objects: list[dict[str, Any]], asked: tuple[str, str | None]) -> None:
    """Write the recovery point's objects into the bucket, a part at a time under the S3
    backend's lock (other S3 requests go on between parts); AWS Backup never overwrites an
    object that is already there."""
    for at in range(0, len(objects), CHUNK):
        with concurrency.backend("s3", s3.account_id, bucket.region_name):
            for obj in objects[at : at + CHUNK]:
                if obj["key"] not in bucket.keys:
                    write(s3, bucket.name, obj, asked)
