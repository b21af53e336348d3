"""Fault injection: make one account's calls to one service (and region, and operation) fail.

Real AWS throttles and refuses; moto never does. Tests use this to prove that a throttled or
failing region leaves the rest of a sweep intact, and that the SDK's retries absorb a few
throttled calls. It also serves the "unpatched" mode: a fault with mode "legacy-s3" makes
ListBuckets answer as moto does without Bulwark's patch (no BucketRegion), so the product's
GetBucketLocation fallback is exercised.

    POST   /moto-api/bulwark/faults   {"account": "...", "service": "rds", "region": "eu-west-1",
                                        "operation": "DescribeDBInstances", "status": 400,
                                        "code": "Throttling", "message": "Rate exceeded",
                                        "count": 2, "probability": 0.4,
                                        "mode": "error" | "reset" | "legacy-s3",
                                        "except_services": ["iam", ...]}
    DELETE /moto-api/bulwark/faults[?account=...[&name=...]]   forget every fault (of that
                                        account, or that account's fault of that `name`)
    GET    /moto-api/bulwark/faults?account=...     the account's faults, each with `hung`


Only `account` and `service` are required. `count` limits how many requests fail (default:
all); `probability` makes each matching request fail with that chance (default: always).
Mode "reset" drops the connection mid-answer (headers sent, body cut short) instead of
answering an error. Faults are keyed by account so that tests in accounts of their own do
not disturb one another.

A fault with `"contains": "..."` matches only requests whose body holds that text (a state
table write of one item, by its key). A fault may have a `name`, to delete it alone.

A fault with `"after": {"service": "route53", "operation": "ChangeResourceRecordSets"}` lies
dormant until the account makes a request matching it (that request is answered as usual).
Mode "hang" holds each request it matches without an answer until the fault is deleted (then
answers 503) or `hang_seconds` (default 300) pass, counting them in `hung`: with `after`, a
test holds a client's next state-table write after a record change, then kills the client
there, between a write and its record.

Region outages. `"service": "*"` matches every signing name, and `"except_services": [...]`
spares the signing names it lists. With a `region`, that is a whole region answering the
fault:

    {"account": "...", "service": "*", "region": "us-east-1", "status": 503,
     "code": "ServiceUnavailable", "message": "Service unavailable",
     "except_services": ["iam", "route53", "sts", "organizations"]}

is every regional endpoint of us-east-1 down and the global control planes up: IAM, Route
53, Organizations and STS's global endpoint are signed for us-east-1 (their global
endpoints' signing region), so without `except_services` the same fault takes them down
too, as an outage of us-east-1 including the global control planes would. A fault is seen
by the callers only: what the local AWS does on its own (DynamoDB global tables'
replication, AWS Backup's jobs, Step Functions' executions) goes on.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
from urllib.parse import parse_qs
from typing import Any, Callable, Iterable

from moto.iam.models import get_account_id_from

from bulwark_local import awsrequest

PATH = "/moto-api/bulwark/faults"
_lock = threading.Lock()
_random = random.Random()
_faults: list[dict[str, Any]] = []



def legacy_s3_for(account: str) -> bool:
    with _lock:
        return any(f["account"] == account and f.get("mode") == "legacy-s3" for f in _faults)


def _operation(environ: dict[str, Any]) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    params = environ.get("QUERY_STRING", "")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        # Query-protocol services (RDS, EC2, STS) name the action in the body: read it and
        # put it back for moto.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        params += "&" + body.decode("utf-8", "replace")
    match = re.search(r"(?:^|&)Action=([A-Za-z]+)", params)
    return match.group(1) if match else ""


def _body(environ: dict[str, Any]) -> str:
    """The request's body, read and put back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body.decode("utf-8", "replace")


def _matches_service(fault: dict[str, Any], service: str) -> bool:
    """The fault's `service` is the signing name, or "*" for every one but `except_services`."""
    if fault["service"] == "*":
        return service not in (fault.get("except_services") or ())
    return bool(fault["service"] == service)


def _match(environ: dict[str, Any]) -> dict[str, Any] | None:
    with _lock:
        if not _faults:
            return None
    # The credential scope of the Authorization header, or of a presigned URL's query.
    found = awsrequest._credential(environ)
    if not found:
        return None
    access_key, region, service = found
    account = get_account_id_from(access_key)
    operation: str | None = None
    body = _body(environ) if any(f.get("contains") for f in list(_faults)) else ""
    with _lock:
        for fault in _faults:
            if fault.get("mode", "error") not in ("error", "reset", "hang"):
                continue
            if fault["account"] != account:
                continue
            after = fault.get("after")
            if after is not None and not fault.get("_armed"):
                if after.get("service") == service and after.get("operation") in (None, _operation_of(environ)):
                    fault["_armed"] = True
                continue
            if not _matches_service(fault, service):
                continue
            if fault.get("region") not in (None, region):
                continue
            if fault.get("operation") is not None:
                operation = operation if operation is not None else _operation_of(environ)
                if fault["operation"] != operation:
                    continue
            if fault.get("contains") and fault["contains"] not in body:
                continue
            if fault.get("probability") is not None and _random.random() >= float(fault["probability"]):
                continue
            if fault.get("count") is not None:
                if fault["count"] <= 0:
                    continue
                fault["count"] -= 1
            if fault.get("mode") == "hang":
                fault["hung"] = fault.get("hung", 0) + 1
                fault.setdefault("_released", threading.Event())
                return fault
            return dict(fault, service=service)
    return None


def _operation_of(environ: dict[str, Any]) -> str:
    """The request's operation: its target header or its query or form action; Route 53's
    record calls, which are REST, by their path and method ("" for any other REST call)."""
    operation = _operation(environ)
    if not operation and environ.get("PATH_INFO", "").rstrip("/").endswith("/rrset"):
        return "ChangeResourceRecordSets" if environ.get("REQUEST_METHOD") == "POST" else "ListResourceRecordSets"
    return operation


def _hold(fault: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A request held without an answer until its fault is deleted or its time passes."""
    fault["_released"].wait(float(fault.get("hang_seconds", 300)))
    answer = dict(fault, status=503, code="ServiceUnavailable", message="fault injection: held, then released")
    status, headers, body = _error_response(answer)
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]


def _public(fault: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fault.items() if not k.startswith("_")}


def _reset(start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A connection that drops mid-answer: the headers promise a body that never comes, as
    a connection reset leaves a client."""
    start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", "4096")])
    yield b'{"'
    raise ConnectionResetError("fault injection: connection reset")


def _error_response(fault: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """The fault's error, shaped by its service's protocol as the service's own errors are."""
    services = awsrequest.services_for(fault["service"])
    # A signing name no model knows (a region outage sees every request) answers in JSON.
    return awsrequest.error_response(
        services[0] if services else "dynamodb",
        int(fault.get("status", 400)),
        fault.get("code", "Throttling"),
        fault.get("message", "Rate exceeded"),
    )


def _control(environ: dict[str, Any]) -> tuple[str, bytes]:
    method = environ["REQUEST_METHOD"]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    account = query.get("account", [None])[0]
    name = query.get("name", [None])[0]
    if method == "GET":
        with _lock:
            listed = [_public(f) for f in _faults if f["account"] == account]
        return "200 OK", json.dumps({"faults": listed}).encode()
    if method == "DELETE":
        def chosen(fault: dict[str, Any]) -> bool:
            return (account is None or fault["account"] == account) and name in (None, fault.get("name"))

        with _lock:
            gone = [f for f in _faults if chosen(f)]
            _faults[:] = [f for f in _faults if not chosen(f)]
            count = len(_faults)
        for fault in gone:
            if "_released" in fault:
                fault["_released"].set()
        return "200 OK", json.dumps({"faults": count}).encode()
    if method != "POST":
        return "405 Method Not Allowed", b'{"error": "POST or DELETE"}'
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        fault = json.loads(environ["wsgi.input"].read(length) or b"{}")
        if not re.fullmatch(r"\d{12}", str(fault.get("account", ""))) or not fault.get("service"):
            raise ValueError("account (12 digits) and service are required")
        spared = fault.get("except_services")
        if spared is not None and (not isinstance(spared, list) or not all(isinstance(s, str) for s in spared)):
            raise ValueError("except_services is a list of signing names")
    except (ValueError, json.JSONDecodeError) as err:
        return "400 Bad Request", json.dumps({"error": str(err)}).encode()
    with _lock:
        _faults.append(fault)
        count = len(_faults)
    return "200 OK", json.dumps({"faults": count}).encode()


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app with fault injection and its control path in front."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
            status, body = _control(environ)
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        fault = _match(environ)
        if fault is not None and fault.get("mode") == "hang":
            return _hold(fault, start_response)
        if fault is not None and fault.get("mode") == "reset":
            return _reset(start_response)
        if fault is not None:
            status, headers, body = _error_response(fault)
            start_response(status, headers + [("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return middleware


def reset() -> None:
    with _lock:
        for fault in _faults:
            if "_released" in fault:
                fault["_released"].set()
        _faults.clear()
