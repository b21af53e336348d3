"""AWS Organizations backup policies (FIDELITY.md, "Organizations: backup policies"): made,
refused as AWS refuses them, attached once the type is enabled, and merged down the
organization into each account's effective policy."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import pytest
from conftest import administrator, organization, unique


def _plan(vault: str, regions: list[str]) -> dict[str, Any]:
    return {
        "plans": {
            "nightly": {
                "regions": {"@@assign": regions},
                "rules": {
                    "daily": {
                        "schedule_expression": {"@@assign": "cron(0 5 ? * * *)"},
                        "target_backup_vault_name": {"@@assign": vault},
                    }
                },
                "selections": {
                    "tags": {
                        "tiered": {
                            "iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/backup"},
                            "tag_key": {"@@assign": "bulwark:tier"},
                            "tag_value": {"@@assign": ["critical"]},
                        }
                    }
                },
            }
        }
    }


def _code(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call()
    return str(refused.value.response["Error"]["Code"])


def test_a_backup_policy_is_refused_as_aws_refuses_it_and_attaches_once_enabled(aws: Any) -> None:
    _, management, member = organization(aws)
    org = aws("organizations", credentials=administrator(aws, management))
    root = org.list_roots()["Roots"][0]["Id"]

    # Refused: not JSON, an unknown operator, over 10,000 characters
    create = lambda content: org.create_policy(  # noqa: E731
        Name=unique("backup"), Description="", Type="BACKUP_POLICY", Content=content
    )
    assert _code(lambda: create("{not json")) == "MalformedPolicyDocumentException"
    assert _code(lambda: create(json.dumps({"plans": {"p": {"regions": {"@@replace": ["us-east-1"]}}}}))) == (
        "MalformedPolicyDocumentException"
    )
    big = _plan("v" * 10_000, ["us-east-1"])
    assert _code(lambda: create(json.dumps(big))) == "ConstraintViolationException"

    policy = create(json.dumps(_plan("bulwark", ["us-east-1"])))["Policy"]["PolicySummary"]
    assert policy["Type"] == "BACKUP_POLICY"
    assert "/backup_policy/" in policy["Arn"]
    # Not attached before the type is enabled in the root
    assert _code(lambda: org.attach_policy(PolicyId=policy["Id"], TargetId=member)) == "PolicyTypeNotEnabledException"
    org.enable_policy_type(RootId=root, PolicyType="BACKUP_POLICY")
    org.attach_policy(PolicyId=policy["Id"], TargetId=member)
    assert [p["Id"] for p in org.list_policies_for_target(TargetId=member, Filter="BACKUP_POLICY")["Policies"]] == [
        policy["Id"]
    ]
    # An update is checked too
    assert _code(lambda: org.update_policy(PolicyId=policy["Id"], Content="[]")) == "MalformedPolicyDocumentException"


def test_the_effective_policy_merges_root_ou_and_account_without_operators(aws: Any) -> None:
    _, management, member = organization(aws)
    org = aws("organizations", credentials=administrator(aws, management))
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="BACKUP_POLICY")
    assert _code(lambda: org.describe_effective_policy(PolicyType="BACKUP_POLICY", TargetId=member)) == (
        "EffectivePolicyNotFoundException"
    )
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)
    at_root = org.create_policy(
        Name=unique("root"), Description="", Type="BACKUP_POLICY", Content=json.dumps(_plan("root-vault", ["us-east-1"]))
    )["Policy"]["PolicySummary"]["Id"]
    at_ou = org.create_policy(
        Name=unique("ou"),
        Description="",
        Type="BACKUP_POLICY",
        Content=json.dumps(
            {
                "plans": {
                    "nightly": {
                        "regions": {"@@append": ["us-west-2"]},
                        "rules": {"daily": {"target_backup_vault_name": {"@@assign": "ou-vault"}}},
                    }
                }
            }
        ),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=at_root, TargetId=root)
    org.attach_policy(PolicyId=at_ou, TargetId=ou)

    effective = org.describe_effective_policy(PolicyType="BACKUP_POLICY", TargetId=member)["EffectivePolicy"]
    content = json.loads(effective["PolicyContent"])
    plan = content["plans"]["nightly"]
    assert plan["regions"] == ["us-east-1", "us-west-2"]
    assert plan["rules"]["daily"] == {"schedule_expression": "cron(0 5 ? * * *)", "target_backup_vault_name": "ou-vault"}
    assert plan["selections"]["tags"]["tiered"]["tag_value"] == ["critical"]
    assert "@@" not in effective["PolicyContent"]
    assert effective["TargetId"] == member


def test_a_member_reads_its_own_effective_policy_and_no_other(aws: Any) -> None:
    _, management, member = organization(aws)
    org = aws("organizations", credentials=administrator(aws, management))
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="BACKUP_POLICY")
    policy = org.create_policy(
        Name=unique("member"), Description="", Type="BACKUP_POLICY", Content=json.dumps(_plan("bulwark", ["us-east-1"]))
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=root)

    own = aws("organizations", credentials=administrator(aws, member))
    effective = own.describe_effective_policy(PolicyType="BACKUP_POLICY")["EffectivePolicy"]
    assert effective["TargetId"] == member
    assert json.loads(effective["PolicyContent"])["plans"]["nightly"]["regions"] == ["us-east-1"]
    assert _code(lambda: own.describe_effective_policy(PolicyType="BACKUP_POLICY", TargetId=management)) == (
        "AccessDeniedException"
    )
