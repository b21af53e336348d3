"""S3's GetObjectRetention, which moto 5.2 does not route (a GET of `?retention` fell through
to GetObject and answered the object's bytes with status 500).

As the S3 API reference's GetObjectRetention says: the object version's retention (`Mode`,
`RetainUntilDate`), and for an object without one the error `NoSuchObjectLockConfiguration`,
404 ("The specified object does not have a ObjectLock configuration").
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.s3.responses import S3Response

_moto_key_response_get = S3Response._key_response_get

# Not an error shape of S3's service model, whose status moto would take from it.
_NO_RETENTION = (
    404,
    {"Content-Type": "application/xml"},
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchObjectLockConfiguration</Code>'
    "<Message>The specified object does not have a ObjectLock configuration</Message></Error>",
)


def _get_object_retention(self: S3Response) -> Any:
    key, _ = self._get_key()
    if not key.lock_mode or not key.lock_until:
        return _NO_RETENTION
    self.data["Action"] = "GetObjectRetention"
    return self.serialized(ActionResult({"Retention": {"Mode": key.lock_mode, "RetainUntilDate": key.lock_until}}))


def _key_response_get(self: S3Response, query: dict[str, Any], key_name: str) -> Any:
    if "retention" in query and not query.get("uploadId"):
        self._set_action("KEY", "GET", query)
        self._authenticate_and_authorize_s3_action(bucket_name=self.bucket_name, key_name=key_name)
        return _get_object_retention(self)
    return _moto_key_response_get(self, query, key_name)


def install() -> None:
    S3Response._key_response_get = _key_response_get  # type: ignore[method-assign]
