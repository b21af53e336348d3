"""AWS Organizations backup policies (`BACKUP_POLICY`), which moto 5.2 refuses to create
("The BACKUP_POLICY policy type has not been implemented"), and the effective policy of an
account, which moto does not serve.

As AWS Organizations documents them (rows in FIDELITY.md, "Organizations: backup policies"):
- a backup policy is JSON whose keys starting with `@@` are inheritance operators; another
  `@@` key, or a document that is not a JSON object, is `MalformedPolicyDocumentException`;
- a backup policy is at most 10,000 characters (`ConstraintViolationException`, reason
  `POLICY_CONTENT_LIMIT_EXCEEDED`);
- a backup policy attaches only once the type is enabled in the root
  (`PolicyTypeNotEnabledException`);
- DescribeEffectivePolicy merges the policies attached to the root, each OU down to the
  account, and the account, in that order: `@@assign` replaces, `@@append` adds to a list,
  `@@remove` takes from it; the operators are gone from the result. An account without any
  gets `EffectivePolicyNotFoundException`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.organizations import utils
from moto.organizations.exceptions import ConstraintViolationException, PolicyTypeNotEnabledException
from moto.organizations.models import FakePolicy, OrganizationsBackend
from moto.organizations.responses import OrganizationsResponse

BACKUP_POLICY = "BACKUP_POLICY"
BACKUP_POLICY_ARN_FORMAT = "arn:{0}:organizations::{1}:policy/{2}/backup_policy/{3}"
# AWS Organizations quotas: "Maximum size of a policy document", backup policies.
MAX_CHARACTERS = 10_000
OPERATORS = {"@@assign", "@@append", "@@remove", "@@operators_allowed_for_child_policies"}

_moto_policy_init = FakePolicy.__init__
_moto_create_policy = OrganizationsBackend.create_policy
_moto_update_policy = OrganizationsBackend.update_policy
_moto_attach_policy = OrganizationsBackend.attach_policy


class _Malformed(JsonRESTError):
    def __init__(self, why: str) -> None:
        super().__init__(
            "MalformedPolicyDocumentException",
            f"The provided policy document does not meet the requirements of the specified policy type: {why}",
        )


def _operators(node: Any, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("@@") and key not in OPERATORS:
                raise _Malformed(f"{path}{key} is not an inheritance operator")
            _operators(value, f"{path}{key}.")
    elif isinstance(node, list):
        for item in node:
            _operators(item, path)


def check(content: str) -> None:
    if len(content) > MAX_CHARACTERS:
        raise ConstraintViolationException(
            f"The policy is {len(content)} characters: a backup policy may have at most {MAX_CHARACTERS}."
        )
    try:
        document = json.loads(content)
    except ValueError as err:
        raise _Malformed(f"not JSON ({err})") from err
    if not isinstance(document, dict):
        raise _Malformed("not a JSON object")
    _operators(document, "")


def _policy_init(self: FakePolicy, organization: Any, **kwargs: Any) -> None:
    if kwargs.get("Type") != BACKUP_POLICY:
        _moto_policy_init(self, organization, **kwargs)
        return
    _moto_policy_init(self, organization, **{**kwargs, "Type": "TAG_POLICY"})
    self.type = BACKUP_POLICY
    self._arn_format = BACKUP_POLICY_ARN_FORMAT


def _create_policy(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
    if kwargs.get("Type") == BACKUP_POLICY:
        check(kwargs.get("Content", ""))
    return _moto_create_policy(self, **kwargs)


def _update_policy(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
    if "Content" in kwargs and self.get_policy_by_id(kwargs["PolicyId"]).type == BACKUP_POLICY:
        check(kwargs["Content"])
    return _moto_update_policy(self, **kwargs)


def _enabled(backend: OrganizationsBackend, policy_type: str) -> bool:
    root = next(ou for ou in backend.ou if ou.type == "ROOT")
    return any(t["Type"] == policy_type and t["Status"] == "ENABLED" for t in root.policy_types)


def _attach_policy(self: OrganizationsBackend, **kwargs: Any) -> None:
    policy = self.get_policy_by_id(kwargs["PolicyId"])
    if policy.type == BACKUP_POLICY and not _enabled(self, BACKUP_POLICY):
        raise PolicyTypeNotEnabledException()
    _moto_attach_policy(self, **kwargs)


def _merge(effective: dict[str, Any], policy: dict[str, Any]) -> None:
    for key, value in policy.items():
        if key.startswith("@@"):
            continue
        if isinstance(value, dict) and "@@assign" in value:
            effective[key] = value["@@assign"]
        elif isinstance(value, dict) and "@@append" in value:
            current = effective.get(key) or []
            effective[key] = current + [v for v in value["@@append"] if v not in current]
        elif isinstance(value, dict) and "@@remove" in value:
            effective[key] = [v for v in effective.get(key) or [] if v not in value["@@remove"]]
        elif isinstance(value, dict):
            child = effective.get(key)
            if not isinstance(child, dict):
                child = effective[key] = {}
            _merge(child, value)
        else:
            effective[key] = value


def effective_policy(backend: OrganizationsBackend, policy_type: str, account_id: str) -> dict[str, Any] | None:
    account = next((a for a in backend.accounts if a.id == account_id), None)
    if account is None:
        return None
    chain: list[Any] = [account]
    parent = account.parent_id
    while parent:
        node = next((ou for ou in backend.ou if ou.id == parent), None)
        if node is None:
            break
        chain.append(node)
        parent = node.parent_id
    effective: dict[str, Any] = {}
    found = False
    for node in reversed(chain):
        for policy in node.attached_policies:
            if policy.type == policy_type:
                found = True
                _merge(effective, json.loads(policy.content))
    return effective if found else None


def _describe_effective_policy(self: OrganizationsResponse) -> str:
    from moto.organizations.models import organizations_backends

    # A member account's own backend holds no organization: its management account's does,
    # and a member may ask for its own effective policy only.
    owner = organizations_backends.master_accounts.get(self.current_account)
    backend = organizations_backends[owner[0]][owner[1]] if owner else self.organizations_backend
    policy_type = self._get_param("PolicyType")
    target = self._get_param("TargetId") or self.current_account
    if not re.fullmatch(utils.ACCOUNT_ID_REGEX, target):
        raise JsonRESTError("InvalidInputException", "You specified an invalid value.")
    if owner and target != self.current_account:
        raise JsonRESTError("AccessDeniedException", "A member account may describe only its own effective policy.")
    content = effective_policy(backend, policy_type, target)
    if content is None:
        raise JsonRESTError(
            "EffectivePolicyNotFoundException",
            "We can't find an effective policy of that type for the target.",
        )
    return json.dumps(
        {
            "EffectivePolicy": {
                "PolicyContent": json.dumps(content),
                "LastUpdatedTimestamp": datetime.now(timezone.utc).timestamp(),
                "TargetId": target,
                "PolicyType": policy_type,
            }
        }
    )


def install() -> None:
    FakePolicy.__init__ = _policy_init  # type: ignore[method-assign]
    OrganizationsBackend.create_policy = _create_policy  # type: ignore[method-assign]
    OrganizationsBackend.update_policy = _update_policy  # type: ignore[method-assign]
    OrganizationsBackend.attach_policy = _attach_policy  # type: ignore[method-assign]
    OrganizationsResponse.describe_effective_policy = _describe_effective_policy  # type: ignore[attr-defined]
