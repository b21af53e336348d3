"""Lambda invocations forwarded to a local Lambda runtime.

A function deployed from the template with a local binary (deploy.py) runs that binary
through the Runtime API (runtime_api.py). Otherwise, when BULWARK_LOCAL_LAMBDA_URL is set (for `cargo lambda watch`, http://127.0.0.1:9000),
every invocation of a moto Lambda function (Invoke, a Step Functions Lambda task, an
EventBridge target) is POSTed to

    $BULWARK_LOCAL_LAMBDA_URL/2015-03-31/functions/<function name>/invocations

and the runtime's answer is returned as the function's. The function name is the moto
function's name, so name functions after their binaries. Without the variable, moto's own
invocation (docker) is used.

A function may call back into the local AWS (Lambda itself included), so an invocation runs
with none of the request's backend locks held (concurrency.released).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from typing import Any

from moto.awslambda.models import LambdaFunction

from bulwark_local import concurrency, runtime_api

_moto_invoke = LambdaFunction.invoke


def runtime_url() -> str | None:
    return os.environ.get("BULWARK_LOCAL_LAMBDA_URL") or None


def post(url: str, payload: bytes, timeout: float = 900.0) -> tuple[bytes, str | None]:
    """POST a payload to a Lambda invoke URL; (response body, function error type or None)."""
    request = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(), response.headers.get("X-Amz-Function-Error")
    except urllib.error.HTTPError as err:
        return err.read(), err.headers.get("X-Amz-Function-Error") or "Unhandled"
    except OSError as err:
        body = {"errorType": "Runtime.Unavailable", "errorMessage": f"local Lambda runtime at {url}: {err}"}
        return json.dumps(body).encode(), "Unhandled"


def _invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
    with concurrency.released():
        return _invoke_unlocked(self, body, request_headers, response_headers)


def _invoke_unlocked(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
    payload = body.encode() if isinstance(body, str) else (body or b"{}")
    asynchronous = (request_headers.get("x-amz-invocation-type") or "RequestResponse") == "Event"
    if runtime_api.registered(self.function_arn):
        if asynchronous:
            threading.Thread(target=runtime_api.invoke, args=(self.function_arn, payload), daemon=True).start()
            return b""
        answer, error = runtime_api.invoke(self.function_arn, payload)
        if error:
            response_headers["x-amz-function-error"] = error
        return answer
    base = runtime_url()
    if base is None:
        return _moto_invoke(self, body, request_headers, response_headers)
    url = f"{base.rstrip('/')}/2015-03-31/functions/{self.function_name}/invocations"
    if asynchronous:
        threading.Thread(target=post, args=(url, payload), daemon=True).start()
        return b""
    answer, error = post(url, payload)
    if error:
        response_headers["x-amz-function-error"] = error
    return answer


def install() -> None:
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
