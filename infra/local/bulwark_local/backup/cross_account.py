"""A copy into another account's vault, as AWS Backup allows it.

AWS Backup developer guide, "Creating backup copies across AWS accounts": the two accounts
"belong to the same organization in AWS Organizations", and the destination vault has "a
resource-based access policy to allow AWS Backup to access the resources you would like to
copy" (`backup:CopyIntoBackupVault`). A copy without that access fails with "Access Denied
trying to call AWS Backup service" (AWS re:Post Knowledge Center, "How can I resolve the
'Access Denied trying to call AWS Backup service' error when trying to create a cross-account
copy in AWS Backup?"), whose examples allow the source account's root or the organization
(`aws:PrincipalOrgID`). Not modelled: the management account's cross-account backup setting
and the sharing of the source resources' customer managed keys.
"""

from __future__ import annotations

import json
from typing import Any

from bulwark_local import policy_eval

ACTION = "backup:CopyIntoBackupVault"
DENIED = "Access Denied trying to call AWS Backup service"


def organization_of(account: str) -> str | None:
    """The id of the organization `account` belongs to, if any."""
    from moto.organizations.models import organizations_backends

    for by_partition in list(organizations_backends.values()):
        for backend in list(by_partition.values()):
            org = getattr(backend, "org", None)
            if org is None:
                continue
            if account == org.master_account_id or any(a.id == account for a in backend.accounts):
                return org.id
    return None


def _principal_matches(principal: Any, names: set[str]) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    listed = principal.get("AWS")
    listed = listed if isinstance(listed, list) else [listed]
    return any(p == "*" or p in names for p in listed if isinstance(p, str))


def _decision(document: str | None, vault_arn: str, source_account: str, role_arn: str, org: str | None) -> bool:
    """Whether the destination vault's policy allows the source's copy in (an explicit Deny wins)."""
    if not document:
        return False
    names = {f"arn:aws:iam::{source_account}:root", source_account, role_arn}
    context = {"aws:principalaccount": source_account, "aws:principalarn": role_arn}
    if org is not None:
        context["aws:principalorgid"] = org
    allowed = False
    for _, statement in policy_eval.statements([json.loads(document)]):
        if not _principal_matches(statement.get("Principal"), names):
            continue
        if not policy_eval.statement_applies(statement, ACTION, vault_arn, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def refusal(source_account: str, role_arn: str, target_account: str, vault_arn: str, policy: str | None) -> str | None:
    """Why a copy from `source_account` into another account's vault fails; None if it may."""
    org = organization_of(source_account)
    if org is None or org != organization_of(target_account):
        return f"{DENIED}: accounts {source_account} and {target_account} are not in the same organization"
    if not _decision(policy, vault_arn, source_account, role_arn, org):
        return f"{DENIED}: the access policy of {vault_arn} does not allow {ACTION} from {source_account}"
    return None
