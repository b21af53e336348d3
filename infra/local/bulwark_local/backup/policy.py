"""Backup vault access policies: who the caller is, and the Deny statements that stop an
action on a vault or its recovery points.

A faithful small subset of resource-policy evaluation: only Deny statements are read (Allow
statements grant nothing here; identity policies do, see iam.py). A statement applies when its
Effect is Deny, its Principal is "*" or {"AWS": "*"}, its Action (a string or a list, wildcards
allowed, case-insensitive) covers the action, its Resource (absent or ARN patterns) covers the
vault or recovery point, and every condition of its Condition block (if any) holds. Conditions
are understood on aws:PrincipalArn only, with the Arn and String operators (Equals, NotEquals,
Like, NotLike); a statement with any other element (NotAction, NotPrincipal, NotResource,
another principal, key or operator) is not evaluated, so it never denies. iam.py applies it to
every AWS Backup request that names a vault, whoever signs it (an explicit deny in a resource
policy binds the account's root user too).
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.backup.exceptions import InvalidParameterValueException
from moto.core.exceptions import JsonRESTError
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

KNOWN_ELEMENTS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}


class AccessDeniedException(JsonRESTError):
    code = 403

    def __init__(self, msg: str):
        super().__init__("AccessDeniedException", msg)


class MissingParameterValueException(JsonRESTError):
    code = 400

    def __init__(self, msg: str):
        super().__init__("MissingParameterValueException", msg)


def parse(document: Any) -> dict[str, Any]:
    """The policy document of a PutBackupVaultAccessPolicy body, refused unless it is a JSON
    object whose Statement is an object or a list of objects."""
    if document is None or document == "":
        raise MissingParameterValueException("Policy is required")
    try:
        policy = json.loads(document) if isinstance(document, str) else None
    except ValueError:
        policy = None
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise InvalidParameterValueException(msg="Policy must be a JSON policy document with a Statement")
    return policy


def principal_arn(access_key: str, account: str, region: str) -> str:
    """The caller's aws:PrincipalArn as moto knows the caller. For assumed-role credentials
    moto's caller is arn:aws:sts::<account>:assumed-role/<role>/<session>; AWS compares the
    role's ARN instead, arn:aws:iam::<account>:role/<path><role>, which is the ARN the
    credentials were obtained for with AssumeRole. An IAM user's keys give the user's ARN;
    any other credentials moto's default identity, arn:aws:sts::<account>:user/moto."""
    sts = sts_backends[account][get_partition(region)]
    assumed = sts.get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        return assumed.role_arn
    _, arn, _ = sts.get_caller_identity(access_key, region)
    return arn


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts is matched on its own."""
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(_glob(w, a) for w, a in zip(wanted, actual))


MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringLike": _glob,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict[str, Any], principal: str) -> bool | None:
    """Whether every condition holds; None when one is outside the subset understood."""
    for operator, tests in condition.items():
        negated = "NotEquals" in operator or "NotLike" in operator
        matcher = MATCHERS.get(operator.replace("Not", "", 1) if negated else operator)
        if matcher is None or not isinstance(tests, dict):
            return None
        for key, patterns in tests.items():
            if key.lower() != "aws:principalarn":
                return None
            matched = any(isinstance(p, str) and matcher(p, principal) for p in _listed(patterns))
            if matched == negated:
                return False
    return True


def _applies(statement: dict[str, Any], action: str, resource_arn: str, principal: str) -> bool:
    if statement.get("Effect") != "Deny" or set(statement) - KNOWN_ELEMENTS:
        return False
    if statement.get("Principal") not in ("*", {"AWS": "*"}, {"AWS": ["*"]}):
        return False
    actions = _listed(statement.get("Action"))
    if not any(isinstance(a, str) and _glob(a, action, ignore_case=True) for a in actions):
        return False
    resources = _listed(statement.get("Resource", "*"))
    if not any(isinstance(r, str) and (r == "*" or _arn_like(r, resource_arn)) for r in resources):
        return False
    condition = statement.get("Condition") or {}
    return isinstance(condition, dict) and _condition_holds(condition, principal) is True


def check_denied(policy: dict[str, Any] | None, action: str, resource_arn: str, principal: str) -> None:
    """Refuse `action` when a Deny statement of the vault's policy applies to the caller."""
    if policy is None:
        return
    for statement in _listed(policy["Statement"]):
        if _applies(statement, action, resource_arn, principal):
            raise AccessDeniedException(
                f"User: {principal} is not authorized to perform: {action} on resource: "
                f"{resource_arn} with an explicit deny in a resource-based policy"
            )
