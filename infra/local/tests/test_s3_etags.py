"""S3 ETags are the MD5 of the data only for single-part plaintext and SSE-S3 objects, and an
object restored by AWS Backup is a new object with its own ETag and no source checksum."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from conftest import ROLE, unique, wait

REGION = "us-east-2"
PART = 5 * 1024 * 1024  # S3's smallest part but the last


def _md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def _bucket(s3: Any) -> str:
    name = unique("etags")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def _multipart(s3: Any, bucket: str, key: str, parts: list[bytes]) -> str:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n, Body=body)["ETag"]}
        for n, body in enumerate(parts, start=1)
    ]
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done})["ETag"]


def test_an_etag_is_the_md5_of_the_data_only_for_plaintext_and_sse_s3(aws: Any) -> None:
    s3 = aws("s3", REGION)
    key_id = aws("kms", REGION).create_key()["KeyMetadata"]["KeyId"]
    bucket = _bucket(s3)
    data = b"the same bytes"
    assert s3.put_object(Bucket=bucket, Key="plain", Body=data)["ETag"] == _md5(data)
    assert s3.put_object(Bucket=bucket, Key="sse-s3", Body=data, ServerSideEncryption="AES256")["ETag"] == _md5(data)
    kms = s3.put_object(Bucket=bucket, Key="kms", Body=data, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)["ETag"]
    again = s3.put_object(Bucket=bucket, Key="kms-again", Body=data, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', kms) and kms != _md5(data) and again != kms
    # the object keeps the ETag it was written with, whatever call reads it
    assert s3.head_object(Bucket=bucket, Key="kms")["ETag"] == kms
    assert s3.get_object(Bucket=bucket, Key="kms")["ETag"] == kms
    listed = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed["kms"] == kms and listed["plain"] == _md5(data)

    defaulted = _bucket(s3)  # the bucket's default encryption is SSE-KMS
    s3.put_bucket_encryption(
        Bucket=defaulted,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}]},
    )
    assert s3.put_object(Bucket=defaulted, Key="k", Body=data)["ETag"] != _md5(data)

    parts = [b"a" * PART, b"b" * 10]
    multipart = _multipart(s3, bucket, "multi", parts)
    part_md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert multipart == f'"{hashlib.md5(part_md5s).hexdigest()}-2"'


def test_objects_restored_by_aws_backup_have_new_etags_and_no_source_checksum(aws: Any) -> None:
    s3, backup = aws("s3", REGION), aws("backup", REGION)
    key_id = aws("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    bucket = _bucket(s3)
    plain, kms_body, parts = b"plain bytes", b"secret bytes", [b"x" * PART, b"y" * 3]
    s3.put_object(Bucket=bucket, Key="plain", Body=plain, ChecksumAlgorithm="SHA256")
    kms = s3.put_object(Bucket=bucket, Key="kms", Body=kms_body, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)["ETag"]
    multipart = _multipart(s3, bucket, "multi", parts)
    assert "ChecksumSHA256" in s3.head_object(Bucket=bucket, Key="plain", ChecksumMode="ENABLED")

    vault = unique("etags")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=f"arn:aws:s3:::{bucket}", IamRoleArn=ROLE)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")

    def restore(**metadata: str) -> dict[str, Any]:
        target = unique("etags-rst")
        restore_job = backup.start_restore_job(
            RecoveryPointArn=job["RecoveryPointArn"], IamRoleArn=ROLE,
            Metadata={"DestinationBucketName": target, "NewBucket": "true", **metadata},
        )
        wait(lambda: backup.describe_restore_job(RestoreJobId=restore_job["RestoreJobId"]), "Status")
        described = backup.describe_restore_job(RestoreJobId=restore_job["RestoreJobId"])
        return {"job": described, "bucket": target}

    original = restore()  # EncryptionType original: each object's own encryption
    target = original["bucket"]
    heads = {k: s3.head_object(Bucket=target, Key=k, ChecksumMode="ENABLED") for k in ("plain", "kms", "multi")}
    assert heads["plain"]["ETag"] == _md5(plain)  # the same as the source's
    assert "ChecksumSHA256" not in heads["plain"]  # the source's checksum is not kept
    assert heads["multi"]["ETag"] == _md5(b"".join(parts)) != multipart  # written in one part
    assert heads["kms"]["ServerSideEncryption"] == "aws:kms" and heads["kms"]["SSEKMSKeyId"] == key_id
    assert heads["kms"]["ETag"] not in (kms, _md5(kms_body))  # a new opaque ETag
    assert s3.get_object(Bucket=target, Key="kms")["Body"].read() == kms_body

    sse_s3 = restore(EncryptionType="SSE-S3")["bucket"]
    head = s3.head_object(Bucket=sse_s3, Key="kms")
    assert head["ServerSideEncryption"] == "AES256" and head["ETag"] == _md5(kms_body)
    as_kms = restore(EncryptionType="SSE-KMS", KMSKey=key_id)["bucket"]
    assert s3.head_object(Bucket=as_kms, Key="plain")["ETag"] != _md5(plain)

    refused = restore(EncryptionType="SSE-C")["job"]
    assert refused["Status"] == "FAILED" and "EncryptionType must be original, SSE-S3 or SSE-KMS" in refused["StatusMessage"]
