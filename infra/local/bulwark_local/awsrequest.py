"""A WSGI request as the AWS API request it is: service, caller, operation and input.

Built from moto's own maintained machinery, so it reads requests exactly as moto does:
the service's botocore model (with moto's extras), `moto.core.routing` to find the
operation (JSON target, query Action, REST path and method, S3 virtual hosts) and
`moto.core.parse` to parse the input into the operation's input shape.

    parsed = parse(environ)   # ParsedRequest | None; cached in environ["bulwark.parsed"]

The service comes from the SigV4 credential scope (Authorization header, or X-Amz-Credential
of a presigned URL): its signing name is mapped to botocore service names through the
models' metadata (signingName, else endpointPrefix), e.g. tagging -> resourcegroupstaggingapi;
when several services share a signing name (rds: rds, docdb, neptune) the one named like it
is tried first, then the others, and the first whose router matches the request wins.

Reading the body leaves it readable: environ["wsgi.input"] becomes a BytesIO of it and
CONTENT_LENGTH its length.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.core.model import OperationModel, ServiceModel
from moto.core.parse import PROTOCOL_PARSERS, RequestParserError
from moto.core.request import Request, determine_request_protocol
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model
from moto.iam.models import get_account_id_from
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

log = logging.getLogger(__name__)

CACHE_KEY = "bulwark.parsed"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_PROTOCOLS = ("json", "rest-json", "query", "ec2", "rest-xml")


@dataclass
class ParsedRequest:
    service: str  # botocore service name, e.g. "dynamodb", "resourcegroupstaggingapi"
    signing_name: str  # from the credential scope, e.g. "tagging"
    region: str
    access_key: str
    account: str
    operation: OperationModel
    protocol: str  # json | rest-json | query | ec2 | rest-xml
    params: dict[str, Any]


class UnknownOperation(Exception):
    """A signed request to a known service that names none of its operations."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class MalformedRequest(Exception):
    """The body (or a value) cannot be read as the protocol and the model say it is."""

    def __init__(self, service: str, protocol: str, detail: str, xml: bool = False) -> None:
        super().__init__(detail)
        self.service = service
        self.protocol = protocol
        self.detail = detail
        self.xml = xml  # the XML body itself is malformed


# ---- signing name -> botocore service names ---------------------------------------------

_METADATA = re.compile(rb'"metadata"\s*:\s*(\{(?:[^{}]|\{[^{}]*\})*\})')
_index_lock = threading.Lock()
_index: dict[str, list[str]] | None = None


def _signing_index() -> dict[str, list[str]]:
    """signing name -> service names, from each model's metadata block.

    Loading all ~450 models takes seconds; their metadata is at the top of each file, so
    only the first few KB are read (a full load is the fallback).
    """
    global _index
    with _index_lock:
        if _index is not None:
            return _index
        from moto.core.loaders import create_loader

        loader = create_loader()
        index: dict[str, list[str]] = {}
        for name in loader.list_available_services("service-2"):
            metadata = _metadata(loader, name)
            signing = metadata.get("signingName") or metadata.get("endpointPrefix") or name
            index.setdefault(signing, []).append(name)
        for names in index.values():
            names.sort()
        _index = index
        return index


def _metadata(loader: Any, name: str) -> dict[str, Any]:
    version = loader.determine_latest_version(name, "service-2")
    for root in loader.search_paths:
        path = os.path.join(root, name, version, "service-2.json")
        for candidate, opener in ((path, open), (path + ".gz", gzip.open)):
            if os.path.exists(candidate):
                with opener(candidate, "rb") as f:
                    found = _METADATA.search(f.read(8192))
                if found:
                    return json.loads(found.group(1))
    return dict(loader.load_service_model(name, "service-2").get("metadata", {}))


@functools.lru_cache(maxsize=None)
def services_for(signing_name: str) -> tuple[str, ...]:
    """The botocore services signed as `signing_name`, the one named like it first."""
    names = _signing_index().get(signing_name, [])
    return tuple(sorted(names, key=lambda n: n != signing_name))


# ---- the request --------------------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, put back as a BytesIO so that moto reads it after us."""
    length = str(environ.get("CONTENT_LENGTH") or "")
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):  # chunked transfer, de-chunked by the server
        body = stream.read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _dechunk(body: bytes) -> bytes:
    """The payload of an aws-chunked body (hex size[;chunk-signature=...] CRLF data CRLF ...)."""
    out, pos = bytearray(), 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def _credential(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if found:
        return found.group(1), found.group(2), found.group(3)
    query = environ.get("QUERY_STRING", "")
    if "X-Amz-Credential" in query:
        value = parse_qs(query).get("X-Amz-Credential", [""])[0]
        found = _CREDENTIAL.search("Credential=" + value)
        if found:
            return found.group(1), found.group(2), found.group(3)
    return None


_logged: set[str] = set()


def _log_once(message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        log.warning("%s", message)


def parse(environ: dict[str, Any]) -> ParsedRequest | None:
    """The request as an AWS API request; None when it is not a SigV4-signed AWS API request
    (moto's /moto-api/ paths, unsigned requests) or cannot be read with a protocol moto parses.
    Raises UnknownOperation, or MalformedRequest for a body the protocol cannot read.
    The answer (or the exception) is cached on the environ."""
    if CACHE_KEY in environ:
        cached = environ[CACHE_KEY]
        if isinstance(cached, Exception):
            raise cached
        return cached
    try:
        parsed = _parse(environ)
    except (UnknownOperation, MalformedRequest) as err:
        environ[CACHE_KEY] = err
        raise
    environ[CACHE_KEY] = parsed
    return parsed


def parse_or_none(environ: dict[str, Any]) -> ParsedRequest | None:
    """The request as parse() reads it, or None also when it names no operation or cannot be
    read: for the middlewares behind validation, which has answered those already."""
    try:
        return parse(environ)
    except (UnknownOperation, MalformedRequest):
        return None


def _parse(environ: dict[str, Any]) -> ParsedRequest | None:
    if environ.get("PATH_INFO", "").startswith("/moto-api/"):
        return None
    credential = _credential(environ)
    if credential is None:
        return None
    access_key, region, signing_name = credential
    services = services_for(signing_name)
    if not services:
        _log_once(f"no botocore model is signed as {signing_name!r}; its requests are not validated")
        return None

    body = _read_body(environ)
    # The router and the parser read a request of their own, over a copy of the environ,
    # so that the form parsing and stream reading they do never touch moto's.
    own = dict(environ, **{"wsgi.input": io.BytesIO(body)})
    request = Request(own, populate_request=False)

    unparsable = False
    for service in services:
        try:
            operation, uri_params = get_service_router(service).match(request)
        except NotImplementedError:  # a protocol moto neither routes nor parses (e.g. CBOR)
            unparsable = True
            continue
        except (NotFound, MethodNotAllowed, RequestRedirect):  # no operation of this service
            continue
        model = operation.service_model
        protocol = determine_request_protocol(model, request.content_type)
        params = _parse_input(service, protocol, operation, request, uri_params, body)
        return ParsedRequest(
            service=service,
            signing_name=signing_name,
            region=region,
            access_key=access_key,
            account=get_account_id_from(access_key),
            operation=operation,
            protocol=protocol,
            params=params,
        )
    if unparsable:
        _log_once(f"requests to {signing_name!r} in content type {request.content_type!r} are not parsed; not validated")
        return None
    what = request.headers.get("X-Amz-Target") or request.values.get("Action") or f"{request.method} {request.path}"
    raise UnknownOperation(services[0], f"no operation of {services[0]} matches {what}")


def _parse_input(
    service: str, protocol: str, operation: OperationModel, request: Request, uri_params: dict[str, Any], body: bytes
) -> dict[str, Any]:
    encoding = request.headers.get("Content-Encoding", "")
    payload = _payload_shape(operation)
    streaming = payload is not None and payload.type_name in ("blob", "string")
    try:
        if "aws-chunked" in encoding and not streaming:
            body = _dechunk(body)
        if "gzip" in encoding and operation.request_compression:  # (moto decompresses too)
            body = gzip.decompress(body)
    except (ValueError, OSError, EOFError) as err:
        raise MalformedRequest(service, protocol, f"the body cannot be decoded: {err}") from err

    # moto's JSON parsers read a body that is not JSON as {"message": <body>}: refuse it here.
    if body and not streaming and protocol in ("json", "rest-json"):
        try:
            document = json.loads(body)
        except ValueError as err:
            raise MalformedRequest(service, protocol, f"the body is not valid JSON: {err}") from err
        if not isinstance(document, dict):
            raise MalformedRequest(service, protocol, "the body is not a JSON object")

    parser = PROTOCOL_PARSERS[protocol](operation)
    try:
        params = parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": body,
                "url_path": request.path,
                "url_params": uri_params,
            }
        )
    except RequestParserError as err:  # malformed XML
        raise MalformedRequest(service, protocol, str(err).split("\n", 1)[0], xml=True) from err
    except Exception as err:  # a value of the wrong type, bad base64...
        raise MalformedRequest(service, protocol, f"{type(err).__name__}: {err}") from err
    # moto's REST parsers give a query list that was not sent as [] and header maps as {}.
    for name, member in operation.input_shape.members.items() if operation.input_shape else ():
        if member.serialization.get("location") in ("querystring", "headers") and params.get(name) in ([], {}):
            del params[name]
    return params


def _payload_shape(operation: OperationModel) -> Any:
    shape = operation.input_shape
    if shape is None or "payload" not in shape.serialization:
        return None
    return shape.members[shape.serialization["payload"]]


# ---- errors in the service's protocol ---------------------------------------------------


def protocol_of(service: str) -> str:
    model = _model(service)
    protocol = str(model.protocol)
    if protocol in _PROTOCOLS:
        return protocol
    return next((p for p in model.metadata.get("protocols", []) if p in _PROTOCOLS), "json")


def _model(service: str) -> ServiceModel:
    try:
        return get_service_model(service)
    except Exception:  # a signing name rather than a service name (faults speak those)
        names = services_for(service)
        if not names:
            raise
        return get_service_model(names[0])


def error_response(
    service_or_parsed: str | ParsedRequest, status: int, code: str, message: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error in the service's protocol."""
    if isinstance(service_or_parsed, ParsedRequest):
        service, protocol = service_or_parsed.service, service_or_parsed.protocol
    else:
        service, protocol = service_or_parsed, protocol_of(service_or_parsed)
    request_id = str(uuid.uuid4())
    text = escape(message)
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        if protocol == "json":
            content_type = f"application/x-amz-json-{_model(service).metadata.get('jsonVersion', '1.0')}"
        else:
            content_type = "application/json"
        headers = [("Content-Type", content_type), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)]
    elif protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{text}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{text}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:  # rest-xml
        body = f"<Error><Code>{code}</Code><Message>{text}</Message><RequestId>{request_id}</RequestId></Error>".encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    headers.append(("Content-Length", str(len(body))))
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return f"{status} {reason}", headers, body
