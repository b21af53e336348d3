"""Every AWS API request is validated against its service's model, as AWS validates it.

`validate(operation, params)` checks the parsed input (awsrequest.parse) against the input
shape, generically: required members, string and blob length, pattern, enum, numeric range,
list and map sizes, recursively through structures, lists and maps. Messages are AWS's
(Coral's):

    Value 'x' at 'backupSelection.selectionName' failed to satisfy constraint: Member must have length less than or equal to 50
    Value null at 'tableName' failed to satisfy constraint: Member must not be null

Paths are the members' names in lowerCamelCase joined by '.'; a list item is
'<list>.<n>.member' (n from 1), a map value '<map>.<key>'; a violation of a map key is
reported at the map ('Map keys must satisfy constraint: [...]').

`wrap(app)` refuses a violating request in the service's protocol before moto sees it
(README, "Request validation"). BULWARK_LOCAL_VALIDATE=0 turns it off (debugging only).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import traceback
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException

from . import awsrequest

log = logging.getLogger(__name__)

MISSING, INVALID, TYPE = "missing", "invalid", "type"


# ---- patterns -----------------------------------------------------------------------------
# Model patterns are Java regexes, and AWS (Coral) applies them with Java's matches(): the
# whole value must match ('[\w+=,.@-]*' refuses "my session"), so re.fullmatch is used.
# Java syntax Python's re lacks is translated; above all \p{...}, expanded into explicit ranges.

_NAMED = {  # Java's POSIX classes (ASCII-only) and a few Unicode properties
    "Lower": "a-z", "Upper": "A-Z", "ASCII": "\\x00-\\x7f", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "!-/:-@\\[-`{-~", "Graph": "!-~", "Print": " -~",
    "Blank": " \\t", "Cntrl": "\\x00-\\x1f\\x7f", "XDigit": "0-9a-fA-F", "Space": " \\t\\n\\x0b\\f\\r",
    "all": "\\x00-\\U0010ffff", "IsWhite_Space": " \\t-\\r\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000",
}
_NAMED["IsWhitespace"] = _NAMED["IsWhite_Space"]
_UNION = {"LD": ("L", "Nd"), "IsAlphabetic": ("L", "Nl", "M"), "IsLetter": ("L",), "IsDigit": ("Nd",)}


@functools.cache
def _unicode_spans() -> dict[str, list[list[int]]]:
    """The code point ranges of every general category, L and Lu alike."""
    runs, start, previous = [], 0, unicodedata.category("\0")
    for cp in range(1, 0x110000):  # one pass over Unicode, once: the runs of one category
        category = unicodedata.category(chr(cp))
        if category != previous:
            runs.append((start, cp - 1, previous))
            start, previous = cp, category
    runs.append((start, 0x10FFFF, previous))
    spans: dict[str, list[list[int]]] = {}
    for first, last, category in runs:
        for key in (category, category[0]):
            found = spans.setdefault(key, [])
            if found and found[-1][1] == first - 1:
                found[-1][1] = last
            else:
                found.append([first, last])
    return spans


@functools.cache
def _category(name: str, negated: bool = False) -> str | None:
    """The inside of a character class for Java's \\p{name} (\\P{name}), or None if unknown."""
    if name in _NAMED and not negated:
        return _NAMED[name]
    keys = _UNION.get(name) or ((name[2:] if name.startswith("Is") else name),)
    spans = sorted(span for key in keys for span in _unicode_spans().get(key, []))
    if not spans:
        return None
    if negated:
        edges, spans = [-1] + [e for a, b in spans for e in (a, b)] + [0x110000], []
        spans = [[edges[k] + 1, edges[k + 1] - 1] for k in range(0, len(edges), 2) if edges[k] + 1 < edges[k + 1]]
    return "".join(f"\\U{a:08x}" + (f"-\\U{b:08x}" if b > a else "") for a, b in spans)


def _translate(pattern: str) -> str:
    # Java writes characters beyond the BMP as UTF-16 surrogate pairs, and \x{h...} for any.
    pattern = re.sub(
        r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})",
        lambda m: "\\U%08x" % (0x10000 + ((int(m[1], 16) - 0xD800) << 10) + int(m[2], 16) - 0xDC00),
        pattern,
        flags=re.I,
    )
    pattern = re.sub(r"(?<!\\)((?:\\\\)*)\\x\{([0-9a-fA-F]+)\}", lambda m: m[1] + "\\U%08x" % int(m[2], 16), pattern)
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            kind = pattern[i + 1]
            if kind in "pP" and i + 2 < len(pattern):
                end = pattern.index("}", i) if pattern[i + 2] == "{" else i + 2
                name = pattern[i + 3 : end] if pattern[i + 2] == "{" else pattern[i + 2]
                body = _category(name, kind == "P" and in_class)
                if body is None:
                    raise re.error(f"unsupported class \\{kind}{{{name}}}")
                out.append(body if in_class else f"[{'^' if kind == 'P' else ''}{body}]")
                i = end + 1
            else:
                out.append({"z": "\\Z", "Z": "(?=\\n?\\Z)"}.get(kind, pattern[i : i + 2]))
                i += 2
            # In Java, a '-' after a class shorthand or property is a literal ('[\w-_]').
            if in_class and kind in "wdsWDSpP" and pattern.startswith("-", i) and not pattern.startswith("-]", i):
                out.append("\\-")
                i += 1
            continue
        if in_class and (c == "[" or pattern.startswith("&&", i)):
            raise re.error("Java's nested classes and intersections have no Python equivalent")
        if c == "[":
            in_class = True
            opening = "[^" if pattern.startswith("^", i + 1) else "["
            i += len(opening)
            out.append(opening)
            if pattern.startswith("]", i):  # a ']' first in a class is a literal
                out.append("\\]")
                i += 1
            continue
        if c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    translated = "".join(out)
    # Java allows (?i) anywhere (it applies from there on); Python only at the start.
    if "(?i)" in translated[1:]:
        translated = "(?i)" + translated.replace("(?i)", "")
    return translated


_compiled: dict[str, re.Pattern[str] | None] = {}


def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return _compiled[pattern]
    except KeyError:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like
            compiled: re.Pattern[str] | None = re.compile(_translate(pattern), re.ASCII)
    except (re.error, ValueError) as err:
        log.warning("pattern %r cannot be compiled (%s); values are not checked against it", pattern, err)
        compiled = None
    _compiled[pattern] = compiled
    return compiled


# ---- the checks ---------------------------------------------------------------------------


def _render(value: Any) -> str:
    """A value as Coral (Java) prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


Violation = tuple[str, str]  # (kind, message)


def _fail(shape: Any, value: Any, path: str, constraint: str, kind: str = INVALID) -> Violation:
    shown = "null" if value is None else f"'{_render(value)}'"
    if value is not None and shape.metadata.get("sensitive"):
        shown = "'***'"
    return kind, f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "blob": (bytes, bytearray, str), "boolean": (bool,),
    "integer": (int,), "long": (int,), "short": (int,), "byte": (int,),
    "float": (int, float), "double": (int, float), "list": (list,), "map": (dict,), "structure": (dict,),
}


def _check(shape: Any, value: Any, path: str, out: list[Violation], meta: dict[str, Any] | None = None) -> None:
    kind = shape.type_name
    expected = _TYPES.get(kind)
    if expected is not None and (not isinstance(value, expected) or (isinstance(value, bool) and kind != "boolean")):
        if shape.metadata.get("document") or shape.serialization.get("jsonvalue"):
            return  # any JSON value
        out.append((TYPE, f"Unexpected value type at '{path}': expected {kind}, got {type(value).__name__}"))
        return
    meta = meta or shape.metadata
    if kind == "structure":
        if meta.get("document"):
            return
        _structure(shape, value, path + ".", out)
        return
    if kind in ("string", "blob", "list", "map"):
        size = len(value.encode() if kind == "blob" and isinstance(value, str) else value)
        if "min" in meta and size < meta["min"]:
            out.append(_fail(shape, value, path, f"Member must have length greater than or equal to {meta['min']}"))
        if "max" in meta and size > meta["max"]:
            out.append(_fail(shape, value, path, f"Member must have length less than or equal to {meta['max']}"))
    elif kind in ("integer", "long", "short", "byte", "float", "double"):
        if "min" in meta and value < meta["min"]:
            out.append(_fail(shape, value, path, f"Member must have value greater than or equal to {meta['min']}"))
        if "max" in meta and value > meta["max"]:
            out.append(_fail(shape, value, path, f"Member must have value less than or equal to {meta['max']}"))
    if kind == "string":
        enum = meta.get("enum")
        if enum and value not in enum:
            out.append(_fail(shape, value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
        pattern = meta.get("pattern")
        if pattern:
            compiled = _pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                out.append(_fail(shape, value, path, f"Member must satisfy regular expression pattern: {pattern}"))
    elif kind == "list":
        for i, item in enumerate(value, 1):
            if item is not None:
                _check(shape.member, item, f"{path}.{i}.member", out)
    elif kind == "map":
        for key, item in value.items():
            keyed: list[Violation] = []
            _check(shape.key, key, path, keyed)
            for _, message in keyed:
                constraint = message.split("failed to satisfy constraint: ", 1)[-1]
                out.append(_fail(shape.key, key, path, f"Map keys must satisfy constraint: [{constraint}]"))
            if item is not None:
                _check(shape.value, item, f"{path}.{key}", out)


def _structure(
    shape: Any, value: dict[str, Any], prefix: str, out: list[Violation], documented: dict[str, Any] | None = None
) -> None:
    required = shape.required_members
    for name, member in shape.members.items():
        item = value.get(name)
        path = prefix + _camel(name)
        if item is None:
            if name in required and not _filled_elsewhere(member):
                out.append(_fail(member, None, path, "Member must not be null", MISSING))
            continue
        extra = documented.get(name) if documented else None
        _check(member, item, path, out, {**member.metadata, **extra} if extra else None)


def _filled_elsewhere(member: Any) -> bool:
    """Required members an SDK fills on its own (idempotency tokens), or that travel in the
    host, which a local endpoint (an IP address) cannot carry (host labels)."""
    return bool(member.metadata.get("idempotencyToken") or member.serialization.get("hostLabel"))


# Constraints AWS documents, and the product relies on, that the public models lack:
# (service, operation or None for all, top-level input member) -> constraints added to the model's.
DOCUMENTED: dict[tuple[str, str | None, str], dict[str, Any]] = {
    # AWS Backup API reference (CreateBackupVault, CreateBackupPlan, CreateBackupSelection):
    # "If used, this parameter must contain 1 to 50 alphanumeric or '-_.' characters."
    ("backup", None, "CreatorRequestId"): {"min": 1, "max": 50, "pattern": r"[a-zA-Z0-9\-_.]+"},
    # DynamoDB naming rules: a table name is 3 to 255 of [a-zA-Z0-9_.-] (the model allows 1024,
    # as TableName may be a table ARN in operations other than CreateTable).
    ("dynamodb", "CreateTable", "TableName"): {"min": 3, "max": 255, "pattern": r"[a-zA-Z0-9_.-]+"},
    # STS API reference (AssumeRole and the other operations that take session policies):
    # "The plaintext that you use for both inline and managed session policies can't exceed
    # 2,048 characters"; "You can provide up to 10 managed policy ARNs" (the model has no
    # maximum for either; the separate packed-size limit is not modelled).
    ("sts", None, "Policy"): {"max": 2048},
    ("sts", None, "PolicyArns"): {"max": 10},
}


@functools.lru_cache(maxsize=None)
def _documented(operation: Any) -> dict[str, Any]:
    service = operation.service_model.service_name
    return {
        member: constraints
        for (svc, op, member), constraints in DOCUMENTED.items()
        if svc == service and op in (None, operation.name)
    }


def violations(operation: Any, params: dict[str, Any]) -> list[Violation]:
    shape = operation.input_shape
    out: list[Violation] = []
    if shape is not None:
        _structure(shape, params or {}, "", out, _documented(operation))
    return out


def validate(operation: Any, params: dict[str, Any]) -> list[str]:
    """AWS's messages for every constraint of the operation's input that `params` breaks."""
    return [message for _, message in violations(operation, params)]


# ---- the middleware -----------------------------------------------------------------------

# protocol -> (code when a required member is missing, code for any other violation); HTTP 400
_CODES = {
    "json": ("ValidationException", "ValidationException"),
    "rest-json": ("ValidationException", "ValidationException"),
    "query": ("ValidationError", "ValidationError"),
    "ec2": ("MissingParameter", "InvalidParameterValue"),
    "rest-xml": ("MissingRequestBodyError", "InvalidArgument"),  # S3: a required member is the body
}
_MALFORMED = {
    "json": "SerializationException",
    "rest-json": "SerializationException",
    "query": "ValidationError",
    "ec2": "InvalidParameterValue",
    "rest-xml": "InvalidArgument",
}
_UNKNOWN = {  # protocol -> (code, status)
    "json": ("UnknownOperationException", 400),
    "rest-json": ("UnknownOperationException", 400),
    "query": ("InvalidAction", 400),
    "ec2": ("InvalidAction", 400),
    "rest-xml": ("NotImplemented", 501),
}
MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"


def _refusal(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
    try:
        parsed = awsrequest.parse(environ)
    except awsrequest.UnknownOperation as err:
        log.warning("refused, unknown operation: %s", err)
        code, status = _UNKNOWN[awsrequest.protocol_of(err.service)]
        return awsrequest.error_response(err.service, status, code, f"Unknown operation: {err.detail}")
    except awsrequest.MalformedRequest as err:
        log.warning("refused, malformed request: %s: %s", err.service, err.detail)
        if err.protocol == "rest-xml" and err.xml:
            return awsrequest.error_response(err.service, 400, "MalformedXML", MALFORMED_XML)
        return awsrequest.error_response(err.service, 400, _MALFORMED[err.protocol], err.detail)
    if parsed is None:
        return None
    found = violations(parsed.operation, parsed.params)
    if not found:
        return None
    kinds = {kind for kind, _ in found}
    messages = [message for _, message in found]
    if TYPE in kinds:
        code = _MALFORMED[parsed.protocol]
        text = "; ".join(m for k, m in found if k == TYPE)
    else:
        missing, invalid = _CODES[parsed.protocol]
        code = missing if MISSING in kinds else invalid
        count = len(messages)
        text = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(messages)
    log.warning("refused %s.%s: %s", parsed.service, parsed.operation.name, text)
    return awsrequest.error_response(parsed, 400, code, text)


def enabled() -> bool:
    return os.environ.get("BULWARK_LOCAL_VALIDATE", "1") != "0"


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app behind request validation (unless BULWARK_LOCAL_VALIDATE=0)."""
    if not enabled():
        log.warning("BULWARK_LOCAL_VALIDATE=0: requests are not validated")
        return app
    awsrequest.services_for("s3")  # index the models' signing names now, not on the first request

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            refusal = _refusal(environ)
        except HTTPException as err:  # werkzeug's own refusals (a form too large...), as moto gives them
            return err(environ, start_response)
        except Exception as err:  # a bug here must surface, not let the request through
            log.error("request validation failed:\n%s", traceback.format_exc())
            refusal = _internal_failure(environ, err)
        if refusal is None:
            return app(environ, start_response)
        status, headers, body = refusal
        start_response(status, headers)
        return [body]

    return middleware


def _internal_failure(environ: dict[str, Any], err: Exception) -> tuple[str, list[tuple[str, str]], bytes]:
    parsed = environ.get(awsrequest.CACHE_KEY)
    target: Any = parsed if isinstance(parsed, awsrequest.ParsedRequest) else None
    if target is None:
        try:
            credential = awsrequest._credential(environ)
            target = awsrequest.services_for(credential[2])[0] if credential else None
        except Exception:
            target = None
    message = f"request validation failed: {type(err).__name__}: {err}"
    return awsrequest.error_response(target or "dynamodb", 500, "InternalFailure", message)
