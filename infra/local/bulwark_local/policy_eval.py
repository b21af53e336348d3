"""IAM policy evaluation: does a set of identity policies allow an action on a resource?

The logic of the IAM User Guide's "Policy evaluation logic" for identity-based policies in
one account: an explicit Deny wins, else an Allow allows, else the request is implicitly
denied. A statement applies when its Action (or NotAction), its Resource (or NotResource)
and every condition of its Condition block hold.

- Actions match case-insensitively, with `*` and `?` wildcards.
- Resources match case-sensitively, with `*` and `?` wildcards within the whole ARN; a
  request with no resource (an action that takes none) is the resource `*`, which only a
  statement whose Resource matches the string `*` covers (in practice `"*"`).
- Conditions: the String, Arn, Bool and Null operators, with `IfExists` and the
  `ForAnyValue:` / `ForAllValues:` set qualifiers; a list of values is an OR; several
  operators or keys are an AND. A key absent from the request's context fails every
  operator but `...IfExists`, `Null` and `ForAllValues:` (as in AWS). Operators outside this
  set (Numeric, Date, IpAddress, Binary) raise `Unsupported`, so a policy that relies on
  them fails loudly instead of being half-evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

ALLOW = "Allow"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"


class Unsupported(Exception):
    """A policy element the evaluator does not understand."""


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts is matched on its own."""
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(glob(w, a) for w, a in zip(wanted, actual))


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_STRING_MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": glob,
    "ArnEquals": arn_like,
    "ArnLike": arn_like,
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _operator_holds(operator: str, key: str, wanted: list[Any], context: Mapping[str, Any]) -> bool:
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise Unsupported(f"condition qualifier {qualifier}")
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    present = key.lower() in context
    actual = _listed(context.get(key.lower()))
    if operator == "Null":
        is_null = not present
        return any(str(w).lower() == ("true" if is_null else "false") for w in wanted)
    if not present:
        return if_exists or qualifier == "ForAllValues"
    negated = operator in _NEGATED
    matcher = _STRING_MATCHERS.get(_NEGATED.get(operator, operator))
    if matcher is None:
        raise Unsupported(f"condition operator {operator}")
    wanted = [str(w) for w in wanted]

    def one(value: str) -> bool:
        matched = any(matcher(w, str(value)) for w in wanted)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    return any(one(v) for v in actual)


def conditions_hold(condition: Mapping[str, Any] | None, context: Mapping[str, Any]) -> bool:
    for operator, tests in (condition or {}).items():
        if not isinstance(tests, dict):
            raise Unsupported(f"condition block {operator} is not an object")
        for key, wanted in tests.items():
            if not _operator_holds(operator, key, _listed(wanted), context):
                return False
    return True


def _element_matches(patterns: Any, value: str, ignore_case: bool) -> bool:
    return any(isinstance(p, str) and glob(p, value, ignore_case) for p in _listed(patterns))


def statement_applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        if not _element_matches(statement["Action"], action, ignore_case=True):
            return False
    elif "NotAction" in statement:
        if _element_matches(statement["NotAction"], action, ignore_case=True):
            return False
    else:
        return False
    if "Resource" in statement:
        if not _element_matches(statement["Resource"], resource, ignore_case=False):
            return False
    elif "NotResource" in statement:
        if _element_matches(statement["NotResource"], resource, ignore_case=False):
            return False
    else:
        return False
    return conditions_hold(statement.get("Condition"), context)


@dataclass(frozen=True)
class Decision:
    effect: str
    statement: str | None = None  # the Sid (or index) of the statement that decided


def statements(documents: Iterable[Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The statements of policy documents (JSON strings or objects), each with a label."""
    found = []
    for document in documents:
        policy = json.loads(document) if isinstance(document, str) else document
        for index, statement in enumerate(_listed(policy.get("Statement"))):
            found.append((str(statement.get("Sid") or index), statement))
    return found


def evaluate(documents: Iterable[Any], action: str, resource: str, context: Mapping[str, Any]) -> Decision:
    """Allow, ExplicitDeny or ImplicitDeny for one action on one resource."""
    allowed: str | None = None
    context = {k.lower(): v for k, v in context.items()}
    for label, statement in statements(documents):
        if not statement_applies(statement, action, resource, context):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(EXPLICIT_DENY, label)
        if statement.get("Effect") == "Allow" and allowed is None:
            allowed = label
    return Decision(ALLOW, allowed) if allowed is not None else Decision(IMPLICIT_DENY)
