"""S3 ETags as AWS computes them: an MD5 of the data only for plaintext and SSE-S3 objects.

The S3 API reference ("Object", ETag) says: objects created by PUT, POST or Copy "and are
encrypted by SSE-S3 or plaintext, have ETags that are an MD5 digest of their object data";
those "encrypted by SSE-C or SSE-KMS, have ETags that are not an MD5 digest of their object
data"; and an object created by a multipart upload has an ETag that "is not an MD5 digest,
regardless of the method of encryption" (the MD5 of its parts' MD5s and `-<parts>`, which
moto already gives). moto 5.2 answers the MD5 of the data for every single-part object.

Here a single-part object stored with SSE-KMS or DSSE-KMS (asked for on the request, or the
bucket's default encryption) gets an ETag of 32 hex digits drawn when it is written, kept for
the object's life and unrelated to its bytes: the same bytes written twice get two ETags (AWS
does not document how it makes them; they are not an MD5 of the plaintext). SSE-C is not
modelled (moto ignores its headers and stores the object unencrypted).
"""

from __future__ import annotations

from moto.moto_api._internal import mock_random
from moto.s3.models import FakeKey

KMS = ("aws:kms", "aws:kms:dsse")
_md5_etag = FakeKey.etag


def _etag(self: FakeKey) -> str:
    if self._etag is None and self.encryption in KMS:  # a multipart upload's ETag is set already
        self._etag = mock_random.uuid4().hex
    return _md5_etag.fget(self)  # type: ignore[attr-defined,no-any-return]


def install() -> None:
    if getattr(FakeKey, "_bulwark_etags", False):
        return
    FakeKey.etag = property(_etag)  # type: ignore[assignment,method-assign]
    FakeKey._bulwark_etags = True  # type: ignore[attr-defined]

