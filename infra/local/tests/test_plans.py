"""Backup plans with versions, and backup selections."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROLE, unique


def _plan(name: str, vault: str, hours: int = 4) -> dict[str, Any]:
    return {
        "BackupPlanName": name,
        "Rules": [
            {
                "RuleName": "every-n-hours",
                "TargetBackupVaultName": vault,
                "ScheduleExpression": f"cron(0 */{hours} * * ? *)",
                "Lifecycle": {"DeleteAfterDays": 35},
            }
        ],
    }


@pytest.fixture
def backup(aws: Any) -> Any:
    return aws("backup")


@pytest.fixture
def plan(backup: Any) -> dict[str, Any]:
    vault = unique("vault")
    backup.create_backup_vault(BackupVaultName=vault)
    name = unique("plan")
    created = backup.create_backup_plan(BackupPlan=_plan(name, vault))
    return {"id": created["BackupPlanId"], "version": created["VersionId"], "name": name, "vault": vault}


def test_update_backup_plan_makes_a_new_version(backup: Any, plan: dict[str, Any]) -> None:
    updated = backup.update_backup_plan(BackupPlanId=plan["id"], BackupPlan=_plan(plan["name"], plan["vault"], hours=1))
    assert updated["BackupPlanId"] == plan["id"]
    assert updated["VersionId"] != plan["version"]

    current = backup.get_backup_plan(BackupPlanId=plan["id"])
    assert current["VersionId"] == updated["VersionId"]
    assert current["BackupPlan"]["Rules"][0]["ScheduleExpression"] == "cron(0 */1 * * ? *)"

    first = backup.get_backup_plan(BackupPlanId=plan["id"], VersionId=plan["version"])
    assert first["VersionId"] == plan["version"]
    assert first["BackupPlan"]["Rules"][0]["ScheduleExpression"] == "cron(0 */4 * * ? *)"
    assert first["BackupPlan"]["Rules"][0]["RuleId"] == current["BackupPlan"]["Rules"][0]["RuleId"]

    versions = backup.list_backup_plan_versions(BackupPlanId=plan["id"])["BackupPlanVersionsList"]
    assert [v["VersionId"] for v in versions] == [updated["VersionId"], plan["version"]]
    assert all(v["BackupPlanName"] == plan["name"] for v in versions)


def test_unknown_plan_and_version_are_not_found(backup: Any, plan: dict[str, Any]) -> None:
    for call in (
        lambda: backup.update_backup_plan(BackupPlanId="nope", BackupPlan=_plan("x", plan["vault"])),
        lambda: backup.get_backup_plan(BackupPlanId=plan["id"], VersionId="not-a-version"),
        lambda: backup.list_backup_plan_versions(BackupPlanId="nope"),
        lambda: backup.list_backup_selections(BackupPlanId="nope"),
        lambda: backup.get_backup_selection(BackupPlanId=plan["id"], SelectionId="nope"),
        lambda: backup.delete_backup_selection(BackupPlanId=plan["id"], SelectionId="nope"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_backup_selections_lifecycle(backup: Any, plan: dict[str, Any]) -> None:
    selection = {
        "SelectionName": "tier-critical",
        "IamRoleArn": ROLE,
        "Resources": ["arn:aws:dynamodb:*:*:table/*"],
        "NotResources": ["arn:aws:dynamodb:*:*:table/tmp-*"],
        "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "tier", "ConditionValue": "critical"}],
        "Conditions": {"StringLike": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod*"}]},
    }
    created = backup.create_backup_selection(BackupPlanId=plan["id"], BackupSelection=selection, CreatorRequestId="req-1")
    assert created["BackupPlanId"] == plan["id"]

    again = backup.create_backup_selection(BackupPlanId=plan["id"], BackupSelection=selection, CreatorRequestId="req-1")
    assert again["SelectionId"] == created["SelectionId"]

    got = backup.get_backup_selection(BackupPlanId=plan["id"], SelectionId=created["SelectionId"])
    assert got["BackupSelection"]["SelectionName"] == "tier-critical"
    assert got["BackupSelection"]["Conditions"]["StringLike"][0]["ConditionValue"] == "prod*"
    assert got["CreatorRequestId"] == "req-1"

    listed = backup.list_backup_selections(BackupPlanId=plan["id"])["BackupSelectionsList"]
    assert [(s["SelectionId"], s["SelectionName"], s["IamRoleArn"]) for s in listed] == [
        (created["SelectionId"], "tier-critical", ROLE)
    ]

    with pytest.raises(ClientError) as err:
        backup.delete_backup_plan(BackupPlanId=plan["id"])
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"

    backup.delete_backup_selection(BackupPlanId=plan["id"], SelectionId=created["SelectionId"])
    assert backup.list_backup_selections(BackupPlanId=plan["id"])["BackupSelectionsList"] == []
    assert backup.delete_backup_plan(BackupPlanId=plan["id"])["BackupPlanId"] == plan["id"]


def test_list_selections_paginates(backup: Any, plan: dict[str, Any]) -> None:
    for i in range(5):
        backup.create_backup_selection(
            BackupPlanId=plan["id"], BackupSelection={"SelectionName": f"s{i}", "IamRoleArn": ROLE, "Resources": ["*"]}
        )
    pages = backup.get_paginator("list_backup_selections").paginate(
        BackupPlanId=plan["id"], PaginationConfig={"PageSize": 2}
    )
    names = [s["SelectionName"] for page in pages for s in page["BackupSelectionsList"]]
    assert names == [f"s{i}" for i in range(5)]
