"""Trust policies: who may assume a role (its `AssumeRolePolicyDocument`).

A role is assumed only when its trust policy has an Allow statement for `sts:AssumeRole` whose
`Principal` names the caller and whose conditions hold, and no Deny statement applies ("a role
trust policy ... is a resource-based policy ... you must specify a principal", IAM User Guide,
*Roles terms and concepts*, https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html;
*AWS JSON policy elements: Principal*,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
The principal test is the caller's: a service (AWS Backup, backup/restore_role.py) or an IAM
role's session (iam.py). Conditions are evaluated by policy_eval; one it cannot read is not
taken to hold.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from bulwark_local import policy_eval


def _names_assume_role(statement: Mapping[str, Any]) -> bool:
    actions = statement.get("Action", [])
    return any(policy_eval.glob(a, "sts:AssumeRole", ignore_case=True) for a in (actions if isinstance(actions, list) else [actions]))


def _applies(statement: Mapping[str, Any], names_caller: Callable[[Any], bool], context: Mapping[str, Any]) -> bool:
    if not _names_assume_role(statement) or not names_caller(statement.get("Principal")):
        return False
    try:
        return policy_eval.conditions_hold(statement.get("Condition"), {k.lower(): v for k, v in context.items()})
    except policy_eval.Unsupported:
        return False


def allows(document: Any, names_caller: Callable[[Any], bool], context: Mapping[str, Any]) -> bool:
    """The trust policy lets the caller assume the role, and no Deny stops it."""
    policy = json.loads(document) if isinstance(document, str) else document
    allowed = False
    for _, statement in policy_eval.statements([policy]):
        if _applies(statement, names_caller, context):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def names_service(service: str) -> Callable[[Any], bool]:
    """A Principal that names the service (or everyone)."""

    def names(principal: Any) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        return principal.get("AWS") == "*" or service in _listed(principal.get("Service", []))

    return names


def names_role_session(partition: str, account: str, role_arn: str, session_arn: str) -> Callable[[Any], bool]:
    """A Principal that names a role's session: everyone, its account (by id or as the root
    user's ARN, which delegates to the account's identity policies), its role or the session."""
    accepted = {"*", account, f"arn:{partition}:iam::{account}:root", role_arn, session_arn}

    def names(principal: Any) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        return any(isinstance(p, str) and p in accepted for p in _listed(principal.get("AWS", [])))

    return names
