"""State and behaviour of the AWS Backup operations moto lacks.

The state lives on moto's own BackupBackend for each account and region (so moto's reset
forgets it): plan versions, selections, jobs and recovery points; a vault's access policy
lives on moto's Vault, so it goes with the vault. Jobs do their work when they start; their
state is derived from timestamps, moving through the documented states over
BULWARK_LOCAL_JOB_DELAY_SECONDS (a restore job over its kind's restore duration, durations.py).
Continuous recovery points keep a history of states (continuous.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from moto.backup.exceptions import (
    BackupClientError,
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend, Plan, Vault, backup_backends
from moto.moto_api._internal import mock_random

from bulwark_local import backup_events

from . import continuous as pitr, cross_account, durations, encryption, kinds, policy, restore_role, restore_work
from .selection import selects

DAY = 86400.0
VAULT_ARN = re.compile(r"^arn:aws:backup:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):backup-vault:(?P<name>[^:/]+)$")


class InvalidResourceStateException(BackupClientError):
    def __init__(self, msg: str):
        super().__init__("InvalidResourceStateException", msg)


job_delay = durations.job_delay


@dataclass
class Timeline:
    """When a job was created, when it starts running and when it ends."""

    created: float
    running_at: float
    done_at: float

    @classmethod
    def starting(cls, at: float | None = None, duration: float | None = None) -> Timeline:
        """A job created now that starts at `at` (or now) and takes `duration` (the job delay)."""
        now = time.time()
        start = max(now, at or now)
        delay = job_delay() if duration is None else duration
        return cls(now, start + delay / 4, start + delay)

    def state(self, first: str, failure: str | None) -> str:
        now = time.time()
        if now >= self.done_at:
            return "FAILED" if failure else "COMPLETED"
        return "RUNNING" if now >= self.running_at else first

    def completed(self) -> float | None:
        return self.done_at if time.time() >= self.done_at else None


def _calculated_lifecycle(created: float, lifecycle: dict[str, Any] | None, cold_storage: bool = True) -> dict[str, float]:
    """`cold_storage` False: the point cannot go to cold storage, and AWS Backup ignores
    MoveToColdStorageAfterDays for it (Lifecycle, API reference)."""
    out = {}
    if cold_storage and lifecycle and lifecycle.get("MoveToColdStorageAfterDays"):
        out["MoveToColdStorageAt"] = created + lifecycle["MoveToColdStorageAfterDays"] * DAY
    if lifecycle and lifecycle.get("DeleteAfterDays"):
        out["DeleteAt"] = created + lifecycle["DeleteAfterDays"] * DAY
    return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _encryption(rp: RecoveryPoint) -> dict[str, Any]:
    """A recovery point of S3 or EFS (and DynamoDB, here) is encrypted with its vault's KMS key,
    a copy with the destination vault's; one of EBS, RDS or Aurora with its snapshot's key,
    which is the source's, or the one its copy was given (encryption.py). A vault created
    without EncryptionKeyArn has none here (moto's vaults)."""
    inherited = rp.backing.get("encryption")
    if inherited is not None:
        # A DynamoDB backup taken without advanced features keeps its table's encryption
        # (dynamodb_points.py).
        return {"EncryptionKeyArn": None, "EncryptionKeyType": None, **inherited}
    if rp.kind.resource_type in encryption.SOURCE_KEYED:
        key = rp.backing.get("kms_key_id")
        key_type = encryption.key_type(rp.backing["account"], rp.backing["region"], key)
    else:
        key = rp.vault.encryption_key_arn
        key_type = "CUSTOMER_MANAGED_KMS_KEY" if key else None
    return {"EncryptionKeyArn": key, "IsEncrypted": bool(key), "EncryptionKeyType": key_type}


@dataclass
class RecoveryPoint:
    arn: str
    kind: kinds.Kind
    backing: dict[str, Any]
    vault: Vault
    resource_arn: str
    resource_name: str
    iam_role_arn: str
    created_by: dict[str, Any] | None
    lifecycle: dict[str, Any] | None
    timeline: Timeline
    source_vault_arn: str | None = None
    last_restore_time: float | None = None
    continuous: bool = False
    history: list[pitr.PointState] = field(default_factory=list)  # a continuous point's states

    @property
    def status(self) -> str:
        return "COMPLETED" if self.timeline.completed() else "CREATING"

    @property
    def last_backup_time(self) -> float:
        """A continuous point is as recent as the last job that completed on it."""
        done = [s.at for s in self.history if s.timeline.completed()]
        return max(done, default=self.timeline.created)

    def describe(self) -> dict[str, Any]:
        return _drop_none(
            {
                "RecoveryPointArn": self.arn,
                "BackupVaultName": self.vault.backup_vault_name,
                "BackupVaultArn": self.vault.backup_vault_arn,
                "SourceBackupVaultArn": self.source_vault_arn,
                "ResourceArn": self.resource_arn,
                "ResourceType": self.kind.resource_type,
                "ResourceName": self.resource_name,
                "CreatedBy": self.created_by,
                "IamRoleArn": self.iam_role_arn,
                "Status": self.status,
                "CreationDate": self.timeline.created,
                "InitiationDate": self.timeline.created,
                "CompletionDate": self.timeline.completed(),
                "BackupSizeInBytes": self.backing["size"],
                "Lifecycle": self.lifecycle,
                "CalculatedLifecycle": _calculated_lifecycle(
                    self.timeline.created, self.lifecycle, self.backing.get("cold_storage", True)
                ) or None,
                **_encryption(self),
                "IsParent": False,
                "LastRestoreTime": self.last_restore_time,
                "VaultType": "BACKUP_VAULT",
                "StorageClass": "WARM",
            }
        )

    def by_resource(self) -> dict[str, Any]:
        return _drop_none(
            {
                "RecoveryPointArn": self.arn,
                "CreationDate": self.timeline.created,
                "Status": self.status,
                "BackupSizeBytes": self.backing["size"],
                "BackupVaultName": self.vault.backup_vault_name,
                "EncryptionKeyArn": _encryption(self)["EncryptionKeyArn"],
                "EncryptionKeyType": _encryption(self)["EncryptionKeyType"],
                "IsParent": False,
                "ResourceName": self.resource_name,
                "VaultType": "BACKUP_VAULT",
            }
        )


@dataclass
class BackupJob:
    job_id: str
    account: str
    vault: Vault
    resource_arn: str
    resource_type: str
    resource_name: str
    iam_role_arn: str
    created_by: dict[str, Any] | None
    lifecycle: dict[str, Any] | None
    backup_options: dict[str, str] | None
    timeline: Timeline
    recovery_point: RecoveryPoint | None = None
    failure: str | None = None

    @property
    def state(self) -> str:
        return self.timeline.state("CREATED", self.failure)

    def _encryption(self) -> dict[str, Any]:
        if self.recovery_point is not None:
            return _encryption(self.recovery_point)
        key = self.vault.encryption_key_arn
        return {"EncryptionKeyArn": key, "IsEncrypted": bool(key)}

    def describe(self) -> dict[str, Any]:
        state = self.state
        done = state in ("COMPLETED", "FAILED")
        return _drop_none(
            {
                "AccountId": self.account,
                "BackupJobId": self.job_id,
                "BackupVaultName": self.vault.backup_vault_name,
                "BackupVaultArn": self.vault.backup_vault_arn,
                "VaultType": "BACKUP_VAULT",
                "RecoveryPointArn": self.recovery_point.arn if self.recovery_point else None,
                "RecoveryPointLifecycle": self.lifecycle,
                "ResourceArn": self.resource_arn,
                "ResourceType": self.resource_type,
                "ResourceName": self.resource_name,
                "CreationDate": self.timeline.created,
                "InitiationDate": self.timeline.created,
                "CompletionDate": self.timeline.done_at if done else None,
                "State": state,
                "StatusMessage": self.failure if state == "FAILED" else None,
                "PercentDone": "100.0" if done else "0.0",
                "BackupSizeInBytes": self.recovery_point.backing["size"] if self.recovery_point else 0,
                "BytesTransferred": self.recovery_point.backing["size"] if self.recovery_point and done else 0,
                "IamRoleArn": self.iam_role_arn,
                "CreatedBy": self.created_by,
                "ExpectedCompletionDate": self.timeline.done_at,
                "StartBy": self.timeline.created + 8 * 3600,
                "BackupOptions": self.backup_options,
                "BackupType": "FULL",
                "IsParent": False,
                "EncryptionKeyArn": self._encryption()["EncryptionKeyArn"],
                "IsEncrypted": self._encryption()["IsEncrypted"],
                "MessageCategory": "SUCCESS" if state == "COMPLETED" else ("FAILURE" if state == "FAILED" else None),
            }
        )


@dataclass
class RestoreJob:
    job_id: str
    account: str
    recovery_point: RecoveryPoint
    iam_role_arn: str | None
    created_resource_arn: str | None
    timeline: Timeline
    failure: str | None = None

    def _progress(self) -> tuple[Timeline, str | None]:
        """The job's timeline and failure, its deferred work (restore_work.py) counted."""
        work = restore_work.progress(self.job_id)
        if work is None:
            return self.timeline, self.failure
        done_at = max(self.timeline.done_at, work.finished_at) if work.finished_at is not None else float("inf")
        return Timeline(self.timeline.created, self.timeline.running_at, done_at), self.failure or work.failure

    @property
    def status(self) -> str:
        timeline, failure = self._progress()
        return timeline.state("PENDING", failure)

    def describe(self) -> dict[str, Any]:
        timeline, failure = self._progress()
        status = timeline.state("PENDING", failure)
        done = status in ("COMPLETED", "FAILED")
        rp = self.recovery_point
        return _drop_none(
            {
                "AccountId": self.account,
                "RestoreJobId": self.job_id,
                "RecoveryPointArn": rp.arn,
                "SourceResourceArn": rp.resource_arn,
                "BackupVaultArn": rp.vault.backup_vault_arn,
                "CreationDate": self.timeline.created,
                "CompletionDate": timeline.done_at if done else None,
                "Status": status,
                "StatusMessage": failure if status == "FAILED" else None,
                "PercentDone": "100.0" if done else "0.0",
                "BackupSizeInBytes": rp.backing["size"],
                "IamRoleArn": self.iam_role_arn,
                "ExpectedCompletionTimeMinutes": durations.expected_minutes(self.timeline.done_at - self.timeline.created),
                "CreatedResourceArn": self.created_resource_arn if status == "COMPLETED" else None,
                "ResourceType": rp.kind.resource_type,
                "RecoveryPointCreationDate": rp.timeline.created,
                "IsParent": False,
            }
        )


@dataclass
class CopyJob:
    job_id: str
    account: str
    source: RecoveryPoint
    destination_vault_arn: str
    iam_role_arn: str
    created_by: dict[str, Any] | None
    lifecycle: dict[str, Any] | None
    timeline: Timeline
    destination: RecoveryPoint | None = None
    failure: str | None = None
    created_by_backup_job_id: str | None = None

    @property
    def state(self) -> str:
        return self.timeline.state("CREATED", self.failure)

    def describe(self) -> dict[str, Any]:
        state = self.state
        done = state in ("COMPLETED", "FAILED")
        return _drop_none(
            {
                "AccountId": self.account,
                "CopyJobId": self.job_id,
                "SourceBackupVaultArn": self.source.vault.backup_vault_arn,
                "SourceRecoveryPointArn": self.source.arn,
                "DestinationBackupVaultArn": self.destination_vault_arn,
                "DestinationVaultType": "BACKUP_VAULT",
                "DestinationRecoveryPointArn": self.destination.arn if self.destination else None,
                "DestinationEncryptionKeyArn": _encryption(self.destination)["EncryptionKeyArn"] if self.destination else None,
                "DestinationRecoveryPointLifecycle": self.lifecycle,
                "ResourceArn": self.source.resource_arn,
                "ResourceType": self.source.kind.resource_type,
                "ResourceName": self.source.resource_name,
                "CreationDate": self.timeline.created,
                "CompletionDate": self.timeline.done_at if done else None,
                "State": state,
                "StatusMessage": self.failure if state == "FAILED" else None,
                "BackupSizeInBytes": self.source.backing["size"],
                "IamRoleArn": self.iam_role_arn,
                "CreatedBy": self.created_by,
                "CreatedByBackupJobId": self.created_by_backup_job_id,
                "IsParent": False,
                "MessageCategory": "SUCCESS" if state == "COMPLETED" else ("FAILURE" if state == "FAILED" else None),
            }
        )


@dataclass
class Selection:
    selection_id: str
    plan_id: str
    body: dict[str, Any]
    creator_request_id: str | None
    creation_date: float

    def describe(self) -> dict[str, Any]:
        return _drop_none(
            {
                "BackupSelection": self.body,
                "SelectionId": self.selection_id,
                "BackupPlanId": self.plan_id,
                "CreationDate": self.creation_date,
                "CreatorRequestId": self.creator_request_id,
            }
        )

    def summary(self) -> dict[str, Any]:
        return _drop_none(
            {
                "SelectionId": self.selection_id,
                "SelectionName": self.body["SelectionName"],
                "BackupPlanId": self.plan_id,
                "CreationDate": self.creation_date,
                "CreatorRequestId": self.creator_request_id,
                "IamRoleArn": self.body["IamRoleArn"],
            }
        )


@dataclass
class PlanVersion:
    version_id: str
    backup_plan: dict[str, Any]
    creation_date: float


@dataclass
class State:
    """What the extension keeps for one account and region."""

    plan_versions: dict[str, list[PlanVersion]] = field(default_factory=dict)
    version_dates: dict[str, float] = field(default_factory=dict)
    selections: dict[str, dict[str, Selection]] = field(default_factory=dict)
    recovery_points: dict[str, RecoveryPoint] = field(default_factory=dict)
    backup_jobs: dict[str, BackupJob] = field(default_factory=dict)
    restore_jobs: dict[str, RestoreJob] = field(default_factory=dict)
    copy_jobs: dict[str, CopyJob] = field(default_factory=dict)
    continuous: dict[str, list[str]] = field(default_factory=dict)  # resource ARN -> its continuous points
    idempotency: dict[tuple[str, str, str], str] = field(default_factory=dict)


def state(backend: BackupBackend) -> State:
    """The extension's state for a backend; moto's reset empties the backend's __dict__."""
    found = backend.__dict__.get("_bulwark")
    return found if found is not None else backend.__dict__.setdefault("_bulwark", State())


def _fingerprint(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def _idempotency_key(operation: str, token: str | None, params: dict[str, Any]) -> tuple[str, str, str] | None:
    """Same token and same parameters: the same job (AWS Backup API reference)."""
    return (operation, token, _fingerprint(params)) if token else None


def _plan(backend: BackupBackend, plan_id: str) -> Plan:
    plan = backend.plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise ResourceNotFoundException(msg=f"Failed reading Backup plan with provided version: {plan_id}")
    return plan


def _vault(backend: BackupBackend, name: str) -> Vault:
    vault = backend.vaults.get(name)
    if vault is None:
        raise ResourceNotFoundException(msg=f"Backup vault {name} does not exist in {backend.region_name}")
    return vault


def _lock_violation(vault: Vault, lifecycle: dict[str, Any] | None) -> str | None:
    if not vault.locked:
        return None
    days = (lifecycle or {}).get("DeleteAfterDays")
    if vault.min_retention_days and days is not None and days < vault.min_retention_days:
        return (
            f"Lifecycle DeleteAfterDays {days} is shorter than the minimum retention period "
            f"of {vault.min_retention_days} days of the locked vault {vault.backup_vault_name}"
        )
    if vault.max_retention_days and (days is None or days > vault.max_retention_days):
        return (
            f"Lifecycle retention is longer than the maximum retention period "
            f"of {vault.max_retention_days} days of the locked vault {vault.backup_vault_name}"
        )
    return None


def _new_job_id() -> str:
    return str(mock_random.uuid4()).upper()


# ---- plans and versions ------------------------------------------------------------------


def _apply_rule_defaults(rules: list[dict[str, Any]], previous: list[dict[str, Any]]) -> None:
    ids = {r["RuleName"]: r["RuleId"] for r in previous}
    for rule in rules:
        rule.setdefault("ScheduleExpression", "cron(0 5 ? * * *)")
        rule.setdefault("StartWindowMinutes", 480)
        rule.setdefault("CompletionWindowMinutes", 10080)
        rule.setdefault("ScheduleExpressionTimezone", "Etc/UTC")
        rule["RuleId"] = ids.get(rule["RuleName"]) or str(mock_random.uuid4())


def plan_version_date(backend: BackupBackend, plan: Plan) -> float:
    return state(backend).version_dates.get(plan.backup_plan_id, plan.creation_date)


def update_backup_plan(backend: BackupBackend, plan_id: str, backup_plan: dict[str, Any]) -> Plan:
    plan = _plan(backend, plan_id)
    st = state(backend)
    st.plan_versions.setdefault(plan_id, []).append(
        PlanVersion(plan.version_id, copy.deepcopy(plan.backup_plan), plan_version_date(backend, plan))
    )
    _apply_rule_defaults(backup_plan["Rules"], plan.backup_plan["Rules"])
    plan.backup_plan = backup_plan
    plan.advanced_backup_settings = backup_plan.get("AdvancedBackupSettings") or []
    plan.version_id = mock_random.get_random_string(length=48)
    st.version_dates[plan_id] = time.time()
    return plan


def plan_versions(backend: BackupBackend, plan_id: str) -> list[PlanVersion]:
    plan = backend.plans.get(plan_id)
    if plan is None:
        raise ResourceNotFoundException(msg=f"Failed reading Backup plan with provided version: {plan_id}")
    current = PlanVersion(plan.version_id, plan.backup_plan, plan_version_date(backend, plan))
    return [current, *reversed(state(backend).plan_versions.get(plan_id, []))]


def get_plan_version(backend: BackupBackend, plan_id: str, version_id: str | None) -> tuple[Plan, PlanVersion]:
    versions = plan_versions(backend, plan_id)
    if not version_id:
        return backend.plans[plan_id], versions[0]
    for version in versions:
        if version.version_id == version_id:
            return backend.plans[plan_id], version
    raise ResourceNotFoundException(msg="Failed reading Backup plan with provided version")


def delete_backup_plan_allowed(backend: BackupBackend, plan_id: str) -> None:
    if state(backend).selections.get(plan_id):
        raise InvalidRequestException(msg="Related backup plan selections must be deleted prior to backup plan deletion")


# ---- selections --------------------------------------------------------------------------


def create_backup_selection(
    backend: BackupBackend, plan_id: str, body: dict[str, Any], creator_request_id: str | None
) -> Selection:
    _plan(backend, plan_id)
    if not body.get("SelectionName") or not body.get("IamRoleArn"):
        raise InvalidParameterValueException(msg="BackupSelection requires SelectionName and IamRoleArn")
    selections = state(backend).selections.setdefault(plan_id, {})
    if creator_request_id:
        for existing in selections.values():
            if existing.creator_request_id == creator_request_id:
                return existing
    selection = Selection(str(mock_random.uuid4()), plan_id, body, creator_request_id, time.time())
    selections[selection.selection_id] = selection
    return selection


def get_backup_selection(backend: BackupBackend, plan_id: str, selection_id: str) -> Selection:
    selection = state(backend).selections.get(plan_id, {}).get(selection_id)
    if selection is None:
        raise ResourceNotFoundException(msg=f"Backup selection {selection_id} not found in plan {plan_id}")
    return selection


def list_backup_selections(backend: BackupBackend, plan_id: str) -> list[Selection]:
    if plan_id not in backend.plans:
        raise ResourceNotFoundException(msg=f"Backup plan {plan_id} not found")
    return list(state(backend).selections.get(plan_id, {}).values())


def delete_backup_selection(backend: BackupBackend, plan_id: str, selection_id: str) -> None:
    get_backup_selection(backend, plan_id, selection_id)
    del state(backend).selections[plan_id][selection_id]


# ---- backup jobs -------------------------------------------------------------------------


def start_backup_job(
    backend: BackupBackend,
    vault_name: str,
    resource_arn: str,
    iam_role_arn: str,
    lifecycle: dict[str, Any] | None = None,
    recovery_point_tags: dict[str, str] | None = None,
    backup_options: dict[str, str] | None = None,
    idempotency_token: str | None = None,
    created_by: dict[str, Any] | None = None,
    continuous: bool = False,
) -> BackupJob:
    """Back a resource up now. `continuous` (a plan rule's EnableContinuousBackup; AWS takes
    no on-demand continuous backups) keeps one continuous recovery point per resource and
    vault for the kinds that support it, refreshed by every later job; other kinds get an
    ordinary snapshot recovery point."""
    st = state(backend)
    vault = _vault(backend, vault_name)
    kind = kinds.kind_of(resource_arn)
    if kind is None:
        raise InvalidParameterValueException(msg=f"Invalid ARN or resource type not supported: {resource_arn}")
    continuous = continuous and kind.supports_continuous
    if continuous:
        lifecycle = pitr.lifecycle(lifecycle)
    params = {"vault": vault_name, "arn": resource_arn, "role": iam_role_arn, "lifecycle": lifecycle}
    key = _idempotency_key("backup", idempotency_token, params)
    if key in st.idempotency:
        return st.backup_jobs[st.idempotency[key]]

    account, region = backend.account_id, backend.region_name
    fields = kind.parse(resource_arn).groupdict()  # type: ignore[union-attr]
    name = fields["name"]
    job = BackupJob(
        _new_job_id(), account, vault, resource_arn, kind.resource_type, name, iam_role_arn,
        created_by, lifecycle, backup_options, Timeline.starting(),
    )
    if fields.get("account", account) != account or fields.get("region", region) != region:
        job.failure = f"Resource {resource_arn} is not in account {account} region {region}"
    else:
        job.failure = _lock_violation(vault, lifecycle)
    if job.failure is None:
        try:
            backing = kind.backup(account, region, resource_arn, job.job_id)
        except kinds.KindError as err:
            job.failure = str(err)
        else:
            if continuous:
                rp = pitr.refresh(st, job, kind, backing, region)
            else:
                rp = RecoveryPoint(
                    backing["arn"], kind, backing, vault, resource_arn, name, iam_role_arn,
                    created_by, lifecycle, job.timeline,
                )
                st.recovery_points[rp.arn] = rp
            job.recovery_point = rp
            if recovery_point_tags:
                backend.tag_resource(rp.arn, recovery_point_tags)
    st.backup_jobs[job.job_id] = job
    backup_events.at_end("backup", account, region, job)
    if key:
        st.idempotency[key] = job.job_id
    return job


def describe_backup_job(backend: BackupBackend, job_id: str) -> BackupJob:
    job = state(backend).backup_jobs.get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"Backup job {job_id} not found")
    return job


# ---- recovery points ---------------------------------------------------------------------


def recovery_point(backend: BackupBackend, vault_name: str, arn: str) -> RecoveryPoint:
    _vault(backend, vault_name)
    rp = state(backend).recovery_points.get(arn)
    if rp is None or rp.vault.backup_vault_name != vault_name:
        raise ResourceNotFoundException(msg=f"Recovery point {arn} not found in vault {vault_name}")
    return rp


def recovery_points_in_vault(backend: BackupBackend, vault_name: str) -> list[RecoveryPoint]:
    _vault(backend, vault_name)
    return [rp for rp in state(backend).recovery_points.values() if rp.vault.backup_vault_name == vault_name]


def delete_recovery_point(backend: BackupBackend, vault_name: str, arn: str) -> None:
    # The vault's access policy was applied before the request got here (iam.py).
    rp = recovery_point(backend, vault_name, arn)
    vault = rp.vault
    if vault.locked and vault.min_retention_days:
        until = rp.timeline.created + vault.min_retention_days * DAY
        if time.time() < until:
            raise InvalidRequestException(
                msg=f"Recovery point {arn} is protected by the vault lock of {vault_name} "
                f"and cannot be deleted before its minimum retention of {vault.min_retention_days} days"
            )
    if rp.status != "COMPLETED":
        raise InvalidResourceStateException(f"Recovery point {arn} is still being created")
    from .legal_holds import refuse_deletion_if_held  # legal_holds imports this module

    refuse_deletion_if_held(backend, arn)
    if rp.continuous:
        pitr.forget(rp, state(backend))
    else:
        rp.kind.forget(rp.backing)
    del state(backend).recovery_points[arn]


def update_recovery_point_lifecycle(
    backend: BackupBackend, vault_name: str, arn: str, lifecycle: dict[str, Any] | None
) -> RecoveryPoint:
    rp = recovery_point(backend, vault_name, arn)
    if rp.continuous:
        raise InvalidRequestException(
            msg="The retention period of a continuous backup can only be changed in its backup plan"
        )
    violation = _lock_violation(rp.vault, lifecycle)
    if violation:
        raise InvalidRequestException(msg=violation)
    if lifecycle and lifecycle.get("MoveToColdStorageAfterDays") and lifecycle.get("DeleteAfterDays"):
        if lifecycle["DeleteAfterDays"] < lifecycle["MoveToColdStorageAfterDays"] + 90:
            raise InvalidParameterValueException(
                msg="DeleteAfterDays must be at least 90 days greater than MoveToColdStorageAfterDays"
            )
    rp.lifecycle = lifecycle
    return rp


def vault_recovery_point_count(backend: BackupBackend, vault_name: str) -> int:
    return sum(1 for rp in state(backend).recovery_points.values() if rp.vault.backup_vault_name == vault_name)


def delete_backup_vault_allowed(backend: BackupBackend, vault_name: str) -> None:
    if vault_recovery_point_count(backend, vault_name):
        raise InvalidRequestException(msg="Backup vault cannot be deleted because it contains recovery points")


# ---- vault access policies ---------------------------------------------------------------

_POLICY = "_bulwark_access_policy"


def vault_access_policy(vault: Vault) -> str | None:
    return vault.__dict__.get(_POLICY)


def put_backup_vault_access_policy(backend: BackupBackend, vault_name: str, document: Any) -> None:
    vault = _vault(backend, vault_name)
    policy.parse(document)
    vault.__dict__[_POLICY] = document


def get_backup_vault_access_policy(backend: BackupBackend, vault_name: str) -> tuple[Vault, str]:
    vault = _vault(backend, vault_name)
    document = vault_access_policy(vault)
    if document is None:
        raise ResourceNotFoundException(msg=f"Backup vault {vault_name} has no access policy")
    return vault, document


def delete_backup_vault_access_policy(backend: BackupBackend, vault_name: str) -> None:
    _vault(backend, vault_name).__dict__.pop(_POLICY, None)


# ---- restore jobs ------------------------------------------------------------------------


def start_restore_job(
    backend: BackupBackend,
    recovery_point_arn: str,
    metadata: dict[str, str],
    iam_role_arn: str | None,
    idempotency_token: str | None,
    resource_type: str | None,
) -> RestoreJob:
    st = state(backend)
    rp = st.recovery_points.get(recovery_point_arn)
    if rp is None:
        raise ResourceNotFoundException(msg=f"Recovery point {recovery_point_arn} not found")
    if resource_type and resource_type != rp.kind.resource_type:
        raise InvalidParameterValueException(
            msg=f"ResourceType {resource_type} does not match the recovery point's {rp.kind.resource_type}"
        )
    if rp.status != "COMPLETED":
        raise InvalidRequestException(msg=f"Recovery point {recovery_point_arn} is not in COMPLETED state")
    key = _idempotency_key("restore", idempotency_token, {"rp": recovery_point_arn, "md": metadata})
    if key in st.idempotency:
        return st.restore_jobs[st.idempotency[key]]
    refused = restore_role.refusal(iam_role_arn, backend.account_id, backend.region_name)
    if refused is not None:
        raise InvalidParameterValueException(msg=refused)
    job_id = _new_job_id()
    created, failure, backing = None, None, rp.backing
    try:
        planned_failure = kinds.failing_restores.pop((backend.account_id, backend.region_name), None)
        if planned_failure is not None:
            raise kinds.KindError(planned_failure)
        backing = pitr.backing_to_restore(rp, metadata)
        denied = restore_role.denial(iam_role_arn, rp, backing, metadata)  # before anything is made
        if denied is not None:
            raise kinds.KindError(denied)
        with pitr.attached(rp.kind, backing):
            created = rp.kind.restore(backing, metadata, job_id)
    except kinds.KindError as err:
        failure = str(err)
    except Exception as err:  # a moto backend refusing the restore fails the job, as in AWS
        failure = f"{type(err).__name__}: {getattr(err, 'message', None) or err}"
    duration = durations.restore_seconds(rp.kind.resource_type, int(backing["size"]), backend.account_id)
    job = RestoreJob(job_id, backend.account_id, rp, iam_role_arn, created, Timeline.starting(duration=duration), failure)
    if failure is None:
        rp.last_restore_time = job.timeline.created
    st.restore_jobs[job_id] = job
    backup_events.at_end("restore", backend.account_id, backend.region_name, job)
    if failure is None:
        restore_work.begin(job_id)  # the rest of its work, after this call answers
    else:
        restore_work.discard(job_id)
    if key:
        st.idempotency[key] = job_id
    return job


def describe_restore_job(backend: BackupBackend, job_id: str) -> RestoreJob:
    job = state(backend).restore_jobs.get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"Restore job {job_id} not found")
    return job


# ---- copy jobs ---------------------------------------------------------------------------


def start_copy_job(
    backend: BackupBackend,
    recovery_point_arn: str,
    source_vault_name: str,
    destination_vault_arn: str,
    iam_role_arn: str,
    lifecycle: dict[str, Any] | None,
    idempotency_token: str | None = None,
    created_by: dict[str, Any] | None = None,
    after: BackupJob | None = None,
) -> CopyJob:
    """Copy a recovery point into a vault of any account and region.

    `after` chains the copy to a backup job a plan run started: it waits for it to end.
    A continuous point is never copied (StartCopyJob refuses it): a continuous rule's copy
    action takes a snapshot of the resource and copies that, and the copy is an ordinary
    snapshot point (AWS Backup developer guide, "Copying continuous backups").
    """
    st = state(backend)
    source = recovery_point(backend, source_vault_name, recovery_point_arn)
    if source.continuous and after is None:
        raise InvalidRequestException(msg=f"Continuous recovery point {recovery_point_arn} cannot be copied on demand")
    match = VAULT_ARN.match(destination_vault_arn)
    if match is None:
        raise InvalidParameterValueException(msg=f"Invalid DestinationBackupVaultArn: {destination_vault_arn}")
    if after is None and source.status != "COMPLETED":
        raise InvalidRequestException(msg=f"Recovery point {recovery_point_arn} is not in COMPLETED state")
    params = {"rp": recovery_point_arn, "dest": destination_vault_arn, "lifecycle": lifecycle}
    key = _idempotency_key("copy", idempotency_token, params)
    if key in st.idempotency:
        return st.copy_jobs[st.idempotency[key]]

    timeline = Timeline.starting(after.timeline.done_at if after else None)
    job = CopyJob(
        _new_job_id(), backend.account_id, source, destination_vault_arn, iam_role_arn,
        created_by, lifecycle, timeline, created_by_backup_job_id=after.job_id if after else None,
    )
    account, region, name = match["account"], match["region"], match["name"]
    target_backend = backup_backends[account][region]
    target_vault = target_backend.vaults.get(name)
    if target_vault is None:
        job.failure = f"Backup vault {destination_vault_arn} does not exist"
    else:
        job.failure = _lock_violation(target_vault, lifecycle)
    if job.failure is None:
        try:
            backing = _copy_backing(source, account, region, job.job_id, target_vault.encryption_key_arn)
        except kinds.KindError as err:
            job.failure = str(err)
    # What the resource type refuses is said first; then whether the account may copy in.
    if job.failure is None and account != backend.account_id:
        job.failure = cross_account.refusal(
            backend.account_id, iam_role_arn, account, destination_vault_arn, vault_access_policy(target_vault)
        )
        if job.failure is not None:
            source.kind.forget(backing)
    if job.failure is None:
        destination = RecoveryPoint(
            backing["arn"], source.kind, backing, target_vault, source.resource_arn, source.resource_name,
            iam_role_arn, created_by, lifecycle, timeline, source_vault_arn=source.vault.backup_vault_arn,
        )
        state(target_backend).recovery_points[destination.arn] = destination
        job.destination = destination
    st.copy_jobs[job.job_id] = job
    backup_events.at_end("copy", backend.account_id, backend.region_name, job)
    if key:
        st.idempotency[key] = job.job_id
    return job


def _copy_backing(
    source: RecoveryPoint, account: str, region: str, job_id: str, vault_key: str | None
) -> dict[str, Any]:
    if not source.continuous:
        return source.kind.copy(source.backing, account, region, job_id, vault_key)
    # the snapshot a continuous rule's copy takes is temporary: gone once copied, as in AWS
    src_account, src_region = source.backing["account"], source.backing["region"]
    snapshot = source.kind.backup(src_account, src_region, source.resource_arn, job_id)
    try:
        return source.kind.copy(snapshot, account, region, job_id, vault_key)
    finally:
        source.kind.forget(snapshot)


def describe_copy_job(backend: BackupBackend, job_id: str) -> CopyJob:
    job = state(backend).copy_jobs.get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"Copy job {job_id} not found")
    return job


# ---- protected resources -----------------------------------------------------------------


def protected_resources(backend: BackupBackend) -> list[dict[str, Any]]:
    latest: dict[str, RecoveryPoint] = {}
    for rp in state(backend).recovery_points.values():
        if rp.status != "COMPLETED":
            continue
        seen = latest.get(rp.resource_arn)
        if seen is None or rp.last_backup_time >= seen.last_backup_time:
            latest[rp.resource_arn] = rp
    return [
        {
            "ResourceArn": arn,
            "ResourceType": rp.kind.resource_type,
            "ResourceName": rp.resource_name,
            "LastBackupTime": rp.last_backup_time,
            "LastBackupVaultArn": rp.vault.backup_vault_arn,
            "LastRecoveryPointArn": rp.arn,
        }
        for arn, rp in sorted(latest.items())
    ]


# ---- running the plans now (the local-only control call) -------------------------------


def run_plans(account: str, region: str) -> dict[str, list[str]]:
    """Run every backup plan's rules now: a backup job for each resource its selections
    assign, then each rule's copy actions, chained to the backup job."""
    backend = backup_backends[account][region]
    st = state(backend)
    resources = list(kinds.all_resources(account, region))
    backup_ids: list[str] = []
    copy_ids: list[str] = []
    for plan in list(backend.plans.values()):
        if plan.deletion_date is not None:
            continue
        selections = list(st.selections.get(plan.backup_plan_id, {}).values())
        chosen: dict[str, tuple[kinds.Resource, str]] = {}
        for selection in selections:
            for resource in resources:
                if selects(selection.body, resource):
                    chosen.setdefault(resource.arn, (resource, selection.body["IamRoleArn"]))
        for rule in plan.backup_plan["Rules"]:
            created_by = {
                "BackupPlanId": plan.backup_plan_id,
                "BackupPlanArn": plan.backup_plan_arn,
                "BackupPlanName": plan.backup_plan["BackupPlanName"],
                "BackupPlanVersion": plan.version_id,
                "BackupRuleId": rule["RuleId"],
                "BackupRuleName": rule["RuleName"],
                "BackupRuleCron": rule.get("ScheduleExpression"),
                "BackupRuleTimezone": rule.get("ScheduleExpressionTimezone"),
            }
            for resource, role in chosen.values():
                job = _plan_backup_job(backend, rule, resource, role, created_by)
                backup_ids.append(job.job_id)
                if job.recovery_point is None:
                    continue
                for action in rule.get("CopyActions") or []:
                    copy_job = start_copy_job(
                        backend, job.recovery_point.arn, job.vault.backup_vault_name,
                        action["DestinationBackupVaultArn"], role, action.get("Lifecycle"),
                        created_by=created_by, after=job,
                    )
                    copy_ids.append(copy_job.job_id)
        plan.last_execution_date = time.time()
    return {"BackupJobIds": backup_ids, "CopyJobIds": copy_ids}


def _plan_backup_job(
    backend: BackupBackend, rule: dict[str, Any], resource: kinds.Resource, role: str, created_by: dict[str, Any]
) -> BackupJob:
    vault_name = rule["TargetBackupVaultName"]
    if vault_name in backend.vaults:
        return start_backup_job(
            backend, vault_name, resource.arn, role, rule.get("Lifecycle"),
            rule.get("RecoveryPointTags"), created_by=created_by,
            continuous=bool(rule.get("EnableContinuousBackup")),
        )
    placeholder = Vault(vault_name, None, None, backend)  # type: ignore[arg-type]
    job = BackupJob(
        _new_job_id(), backend.account_id, placeholder, resource.arn, resource.resource_type, resource.name,
        role, created_by, rule.get("Lifecycle"), None, Timeline.starting(),
        failure=f"Backup vault {vault_name} does not exist",
    )
    state(backend).backup_jobs[job.job_id] = job
    backup_events.at_end("backup", backend.account_id, backend.region_name, job)
    return job
