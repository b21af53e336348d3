"""AWS Backup Audit Manager frameworks, and the compliance report plans that need one
(FIDELITY.md, "AWS Backup report plans")."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import unique

REGION = "ap-south-2"  # a Region no other test uses


def test_a_compliance_report_plan_covers_frameworks_that_exist(aws: Any) -> None:
    backup = aws("backup", REGION)
    name = unique("controls").replace("-", "_")
    with pytest.raises(backup.exceptions.InvalidParameterValueException, match="NOT_A_CONTROL"):
        backup.create_framework(FrameworkName=name, FrameworkControls=[{"ControlName": "NOT_A_CONTROL"}])
    created = backup.create_framework(
        FrameworkName=name,
        FrameworkDescription="the controls",
        FrameworkControls=[
            {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"},
            {"ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "ControlScope": {"Tags": {"bulwark:tier": ""}}},
        ],
    )
    with pytest.raises(backup.exceptions.AlreadyExistsException):
        backup.create_framework(FrameworkName=name, FrameworkControls=[{"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}])
    described = backup.describe_framework(FrameworkName=name)
    assert (described["FrameworkArn"], described["FrameworkStatus"], len(described["FrameworkControls"])) == (
        created["FrameworkArn"], "ACTIVE", 2,
    )
    assert [f["FrameworkName"] for f in backup.list_frameworks()["Frameworks"]] == [name]

    channel = {"S3BucketName": "reports", "Formats": ["CSV"]}
    for setting in (
        {"ReportTemplate": "RESOURCE_COMPLIANCE_REPORT"},
        {"ReportTemplate": "RESOURCE_COMPLIANCE_REPORT", "FrameworkArns": [created["FrameworkArn"] + "x"]},
    ):
        with pytest.raises(backup.exceptions.InvalidParameterValueException):
            backup.create_report_plan(ReportPlanName=unique("refused").replace("-", "_"), ReportDeliveryChannel=channel, ReportSetting=setting)
    plan = backup.create_report_plan(
        ReportPlanName=unique("compliance").replace("-", "_"),
        ReportDeliveryChannel=channel,
        ReportSetting={"ReportTemplate": "RESOURCE_COMPLIANCE_REPORT", "FrameworkArns": [created["FrameworkArn"]]},
    )
    assert plan["ReportPlanArn"]
    backup.delete_framework(FrameworkName=name)
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        backup.describe_framework(FrameworkName=name)
