"""AWS Backup Audit Manager frameworks for the local AWS (moto has none), and the report plans
that need them.

A framework is kept as asked: its controls, each named from the list AWS Backup Audit Manager
has ("Choosing your controls", AWS Backup developer guide,
https://docs.aws.amazon.com/aws-backup/latest/devguide/controls-and-remediation.html); a name
outside it is refused (`InvalidParameterValueException`), as is a second framework of one name
(`AlreadyExistsException`). DescribeFramework answers `DeploymentStatus` COMPLETED and
`FrameworkStatus` ACTIVE at once. **Not modelled**: the controls' evaluation (AWS Config rules
AWS Backup deploys for them), and reports being written.

CreateReportPlan with a compliance template (RESOURCE_COMPLIANCE_REPORT,
CONTROL_COMPLIANCE_REPORT) needs `FrameworkArns` naming frameworks that exist ("the ARNs of the
frameworks a report covers", ReportSetting in the API reference); otherwise it is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from moto.backup.exceptions import AlreadyExistsException, InvalidParameterValueException, ResourceNotFoundException
from moto.backup.models import BackupBackend
from moto.moto_api._internal import mock_random

CONTROLS = {
    "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
    "BACKUP_RECOVERY_POINT_ENCRYPTED",
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK",
    "BACKUP_LAST_RECOVERY_POINT_CREATED",
    "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT",
    "BACKUP_RESOURCES_PROTECTED_BY_LOGICALLY_AIR_GAPPED_VAULT",
}
COMPLIANCE_TEMPLATES = {"RESOURCE_COMPLIANCE_REPORT", "CONTROL_COMPLIANCE_REPORT"}


@dataclass
class Framework:
    name: str
    arn: str
    description: str
    controls: list[dict[str, Any]]
    created: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        return {
            "FrameworkName": self.name,
            "FrameworkArn": self.arn,
            "FrameworkDescription": self.description,
            "FrameworkControls": self.controls,
            "CreationTime": self.created,
            "DeploymentStatus": "COMPLETED",
            "FrameworkStatus": "ACTIVE",
        }

    def summary(self) -> dict[str, Any]:
        return {
            "FrameworkName": self.name,
            "FrameworkArn": self.arn,
            "FrameworkDescription": self.description,
            "NumberOfControls": len(self.controls),
            "CreationTime": self.created,
            "DeploymentStatus": "COMPLETED",
        }


def _frameworks(backend: BackupBackend) -> dict[str, Framework]:
    return backend.__dict__.setdefault("_bulwark_frameworks", {})


def create(backend: BackupBackend, body: dict[str, Any]) -> Framework:
    name = body["FrameworkName"]
    if name in _frameworks(backend):
        raise AlreadyExistsException(msg=f"Framework {name} already exists")
    controls = body.get("FrameworkControls") or []
    unknown = sorted({c.get("ControlName", "") for c in controls} - CONTROLS)
    if unknown:
        raise InvalidParameterValueException(msg=f"Unknown control name(s): {', '.join(unknown)}")
    framework = Framework(
        name=name,
        arn=f"arn:aws:backup:{backend.region_name}:{backend.account_id}:framework:{name}-{mock_random.uuid4()}",
        description=body.get("FrameworkDescription", ""),
        controls=controls,
    )
    _frameworks(backend)[name] = framework
    return framework


def get(backend: BackupBackend, name: str) -> Framework:
    framework = _frameworks(backend).get(name)
    if framework is None:
        raise ResourceNotFoundException(msg=f"Framework {name} not found")
    return framework


def listed(backend: BackupBackend) -> list[Framework]:
    return sorted(_frameworks(backend).values(), key=lambda f: f.created)


def delete(backend: BackupBackend, name: str) -> None:
    get(backend, name)
    del _frameworks(backend)[name]


def check_report_setting(backend: BackupBackend, setting: dict[str, Any] | None) -> None:
    """A compliance report covers frameworks that exist."""
    setting = setting or {}
    if setting.get("ReportTemplate") not in COMPLIANCE_TEMPLATES:
        return
    arns = setting.get("FrameworkArns") or []
    if not arns:
        raise InvalidParameterValueException(msg=f"{setting['ReportTemplate']} needs FrameworkArns")
    known = {f.arn for f in _frameworks(backend).values()}
    missing = [a for a in arns if a not in known]
    if missing:
        raise InvalidParameterValueException(msg=f"Framework(s) not found: {', '.join(missing)}")
