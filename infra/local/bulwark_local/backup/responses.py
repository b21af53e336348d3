"""HTTP handlers for the added AWS Backup operations, as methods of moto's BackupResponse.

moto picks the operation from the method and path with the botocore model of the service
and calls the BackupResponse method of the same (snake case) name, so adding a method here
is all an operation needs beyond its URL pattern. Bodies are the JSON of the AWS Backup API
reference; timestamps are epoch seconds.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from moto.backup.exceptions import InvalidParameterValueException
from moto.backup.responses import BackupResponse

from . import frameworks, legal_holds, models, policy


def _body(self: BackupResponse) -> dict[str, Any]:
    return json.loads(self.body) if self.body else {}


def _query(self: BackupResponse) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(self.parsed_url.query, keep_blank_values=True).items()}


def _label(self: BackupResponse, name: str) -> str:
    return self.uri_match[name]


def _time(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _page(self: BackupResponse, items: list[Any], key: str, render: Callable[[Any], dict[str, Any]]) -> str:
    query = _query(self)
    try:
        start = int(query.get("nextToken") or 0)
        size = int(query.get("maxResults") or 1000)
    except ValueError:
        raise InvalidParameterValueException(msg="Invalid nextToken or maxResults")
    page = items[start : start + size]
    out: dict[str, Any] = {key: [render(i) for i in page]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return json.dumps(out)


def _filter(items: Iterable[dict[str, Any]], query: dict[str, str], rules: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Keep the items that pass every filter given in the query.

    rules maps a query parameter to (field, test) where test is eq, before or after.
    """
    out = []
    for item in items:
        keep = True
        for param, (fld, test) in rules.items():
            if param not in query:
                continue
            value = item.get(fld)
            wanted = query[param]
            if test == "eq":
                keep = value == wanted
            elif test == "before":
                keep = value is not None and value < _time(wanted)
            elif test == "after":
                keep = value is not None and value > _time(wanted)
            if not keep:
                break
        if keep:
            out.append(item)
    return out


def _sorted_newest_first(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: i.get("CreationDate", 0), reverse=True)


# ---- plans -------------------------------------------------------------------------------


def update_backup_plan(self: BackupResponse) -> str:
    plan = models.update_backup_plan(self.backup_backend, _label(self, "backupPlanId"), _body(self)["BackupPlan"])
    out = {
        "BackupPlanId": plan.backup_plan_id,
        "BackupPlanArn": plan.backup_plan_arn,
        "CreationDate": models.plan_version_date(self.backup_backend, plan),
        "VersionId": plan.version_id,
    }
    if plan.advanced_backup_settings:
        out["AdvancedBackupSettings"] = plan.advanced_backup_settings
    return json.dumps(out)


def get_backup_plan(self: BackupResponse) -> str:
    plan, version = models.get_plan_version(
        self.backup_backend, _label(self, "backupPlanId"), _query(self).get("versionId")
    )
    out = models._drop_none(
        {
            "BackupPlan": version.backup_plan,
            "BackupPlanId": plan.backup_plan_id,
            "BackupPlanArn": plan.backup_plan_arn,
            "VersionId": version.version_id,
            "CreatorRequestId": plan.creator_request_id,
            "CreationDate": version.creation_date,
            "DeletionDate": plan.deletion_date,
            "LastExecutionDate": plan.last_execution_date,
            "AdvancedBackupSettings": version.backup_plan.get("AdvancedBackupSettings") or None,
        }
    )
    return json.dumps(out)


def list_backup_plan_versions(self: BackupResponse) -> str:
    backend = self.backup_backend
    plan_id = _label(self, "backupPlanId")
    plan = backend.plans.get(plan_id)
    versions = models.plan_versions(backend, plan_id)

    def render(v: models.PlanVersion) -> dict[str, Any]:
        return models._drop_none(
            {
                "BackupPlanArn": plan.backup_plan_arn,
                "BackupPlanId": plan.backup_plan_id,
                "CreationDate": v.creation_date,
                "DeletionDate": plan.deletion_date,
                "VersionId": v.version_id,
                "BackupPlanName": v.backup_plan["BackupPlanName"],
                "CreatorRequestId": plan.creator_request_id,
                "LastExecutionDate": plan.last_execution_date,
            }
        )

    return _page(self, versions, "BackupPlanVersionsList", render)


_moto_delete_backup_plan = BackupResponse.delete_backup_plan


def delete_backup_plan(self: BackupResponse) -> str:
    models.delete_backup_plan_allowed(self.backup_backend, _label(self, "backupPlanId"))
    return _moto_delete_backup_plan(self)


# ---- selections --------------------------------------------------------------------------


def create_backup_selection(self: BackupResponse) -> str:
    body = _body(self)
    selection = models.create_backup_selection(
        self.backup_backend, _label(self, "backupPlanId"), body["BackupSelection"], body.get("CreatorRequestId")
    )
    return json.dumps(
        {
            "SelectionId": selection.selection_id,
            "BackupPlanId": selection.plan_id,
            "CreationDate": selection.creation_date,
        }
    )


def get_backup_selection(self: BackupResponse) -> str:
    selection = models.get_backup_selection(
        self.backup_backend, _label(self, "backupPlanId"), _label(self, "selectionId")
    )
    return json.dumps(selection.describe())


def list_backup_selections(self: BackupResponse) -> str:
    selections = models.list_backup_selections(self.backup_backend, _label(self, "backupPlanId"))
    return _page(self, selections, "BackupSelectionsList", models.Selection.summary)


def delete_backup_selection(self: BackupResponse) -> str:
    models.delete_backup_selection(self.backup_backend, _label(self, "backupPlanId"), _label(self, "selectionId"))
    return ""


# ---- vaults ------------------------------------------------------------------------------


def _vault_dict(self: BackupResponse, vault: Any) -> dict[str, Any]:
    out = vault.to_list_dict()
    out["NumberOfRecoveryPoints"] = models.vault_recovery_point_count(self.backup_backend, vault.backup_vault_name)
    out["VaultType"] = "BACKUP_VAULT"
    out["VaultState"] = "AVAILABLE"
    out.pop("ChangeableForDays", None)
    return out


def describe_backup_vault(self: BackupResponse) -> str:
    vault = self.backup_backend.describe_backup_vault(_label(self, "backupVaultName"))
    return json.dumps(_vault_dict(self, vault))


def list_backup_vaults(self: BackupResponse) -> str:
    vaults = self.backup_backend.list_backup_vaults()
    return _page(self, vaults, "BackupVaultList", lambda v: _vault_dict(self, v))


_moto_delete_backup_vault = BackupResponse.delete_backup_vault


def delete_backup_vault(self: BackupResponse) -> Any:
    name = _label(self, "backupVaultName")
    if name not in self.backup_backend.vaults:
        self.backup_backend.describe_backup_vault(name)
    models.delete_backup_vault_allowed(self.backup_backend, name)
    _moto_delete_backup_vault(self)
    return ""


def put_backup_vault_access_policy(self: BackupResponse) -> str:
    models.put_backup_vault_access_policy(self.backup_backend, _label(self, "backupVaultName"), _body(self).get("Policy"))
    return ""


def get_backup_vault_access_policy(self: BackupResponse) -> str:
    vault, document = models.get_backup_vault_access_policy(self.backup_backend, _label(self, "backupVaultName"))
    return json.dumps(
        {"BackupVaultName": vault.backup_vault_name, "BackupVaultArn": vault.backup_vault_arn, "Policy": document}
    )


def delete_backup_vault_access_policy(self: BackupResponse) -> str:
    models.delete_backup_vault_access_policy(self.backup_backend, _label(self, "backupVaultName"))
    return ""


# ---- backup jobs -------------------------------------------------------------------------


def start_backup_job(self: BackupResponse) -> str:
    body = _body(self)
    for required in ("BackupVaultName", "ResourceArn", "IamRoleArn"):
        if not body.get(required):
            raise InvalidParameterValueException(msg=f"{required} is required")
    job = models.start_backup_job(
        self.backup_backend,
        body["BackupVaultName"],
        body["ResourceArn"],
        body["IamRoleArn"],
        lifecycle=body.get("Lifecycle"),
        recovery_point_tags=body.get("RecoveryPointTags"),
        backup_options=body.get("BackupOptions"),
        idempotency_token=body.get("IdempotencyToken"),
    )
    out = {"BackupJobId": job.job_id, "CreationDate": job.timeline.created, "IsParent": False}
    if job.recovery_point:
        out["RecoveryPointArn"] = job.recovery_point.arn
    return json.dumps(out)


def describe_backup_job(self: BackupResponse) -> str:
    return json.dumps(models.describe_backup_job(self.backup_backend, _label(self, "backupJobId")).describe())


def list_backup_jobs(self: BackupResponse) -> str:
    jobs = [j.describe() for j in models.state(self.backup_backend).backup_jobs.values()]
    jobs = _filter(
        jobs,
        _query(self),
        {
            "resourceArn": ("ResourceArn", "eq"),
            "state": ("State", "eq"),
            "backupVaultName": ("BackupVaultName", "eq"),
            "resourceType": ("ResourceType", "eq"),
            "accountId": ("AccountId", "eq"),
            "messageCategory": ("MessageCategory", "eq"),
            "createdBefore": ("CreationDate", "before"),
            "createdAfter": ("CreationDate", "after"),
            "completeBefore": ("CompletionDate", "before"),
            "completeAfter": ("CompletionDate", "after"),
        },
    )
    if "parentJobId" in _query(self):
        jobs = []
    return _page(self, _sorted_newest_first(jobs), "BackupJobs", lambda j: j)


# ---- recovery points ---------------------------------------------------------------------


def list_recovery_points_by_backup_vault(self: BackupResponse) -> str:
    points = models.recovery_points_in_vault(self.backup_backend, _label(self, "backupVaultName"))
    rendered = []
    for rp in points:
        item = rp.describe()
        item.pop("StorageClass", None)
        item["_PlanId"] = (rp.created_by or {}).get("BackupPlanId")
        rendered.append(item)
    rendered = _filter(
        rendered,
        _query(self),
        {
            "resourceArn": ("ResourceArn", "eq"),
            "resourceType": ("ResourceType", "eq"),
            "backupPlanId": ("_PlanId", "eq"),
            "createdBefore": ("CreationDate", "before"),
            "createdAfter": ("CreationDate", "after"),
        },
    )
    if "parentRecoveryPointArn" in _query(self):
        rendered = []
    for item in rendered:
        item.pop("_PlanId")
    return _page(self, _sorted_newest_first(rendered), "RecoveryPoints", lambda i: i)


def list_recovery_points_by_resource(self: BackupResponse) -> str:
    arn = _label(self, "resourceArn")
    points = [rp for rp in models.state(self.backup_backend).recovery_points.values() if rp.resource_arn == arn]
    return _page(self, _sorted_newest_first(rp.by_resource() for rp in points), "RecoveryPoints", lambda i: i)


def describe_recovery_point(self: BackupResponse) -> str:
    rp = models.recovery_point(self.backup_backend, _label(self, "backupVaultName"), _label(self, "recoveryPointArn"))
    return json.dumps(rp.describe())


def get_recovery_point_restore_metadata(self: BackupResponse) -> str:
    rp = models.recovery_point(self.backup_backend, _label(self, "backupVaultName"), _label(self, "recoveryPointArn"))
    return json.dumps(
        {
            "BackupVaultArn": rp.vault.backup_vault_arn,
            "RecoveryPointArn": rp.arn,
            "RestoreMetadata": rp.backing["restore_metadata"],
            "ResourceType": rp.kind.resource_type,
        }
    )


def delete_recovery_point(self: BackupResponse) -> str:
    models.delete_recovery_point(self.backup_backend, _label(self, "backupVaultName"), _label(self, "recoveryPointArn"))
    return ""


def update_recovery_point_lifecycle(self: BackupResponse) -> str:
    rp = models.update_recovery_point_lifecycle(
        self.backup_backend,
        _label(self, "backupVaultName"),
        _label(self, "recoveryPointArn"),
        _body(self).get("Lifecycle"),
    )
    described = rp.describe()
    return json.dumps(
        models._drop_none(
            {
                "BackupVaultArn": rp.vault.backup_vault_arn,
                "RecoveryPointArn": rp.arn,
                "Lifecycle": rp.lifecycle,
                "CalculatedLifecycle": described.get("CalculatedLifecycle"),
            }
        )
    )


# ---- restore jobs ------------------------------------------------------------------------


def start_restore_job(self: BackupResponse) -> str:
    body = _body(self)
    if not body.get("RecoveryPointArn"):
        raise InvalidParameterValueException(msg="RecoveryPointArn is required")
    job = models.start_restore_job(
        self.backup_backend,
        body["RecoveryPointArn"],
        body.get("Metadata") or {},
        body.get("IamRoleArn"),
        body.get("IdempotencyToken"),
        body.get("ResourceType"),
    )
    return json.dumps({"RestoreJobId": job.job_id})


def describe_restore_job(self: BackupResponse) -> str:
    return json.dumps(models.describe_restore_job(self.backup_backend, _label(self, "restoreJobId")).describe())


def list_restore_jobs(self: BackupResponse) -> str:
    jobs = [j.describe() for j in models.state(self.backup_backend).restore_jobs.values()]
    jobs = _filter(
        jobs,
        _query(self),
        {
            "accountId": ("AccountId", "eq"),
            "resourceType": ("ResourceType", "eq"),
            "status": ("Status", "eq"),
            "createdBefore": ("CreationDate", "before"),
            "createdAfter": ("CreationDate", "after"),
            "completeBefore": ("CompletionDate", "before"),
            "completeAfter": ("CompletionDate", "after"),
        },
    )
    if "restoreTestingPlanArn" in _query(self) or "parentJobId" in _query(self):
        jobs = []
    return _page(self, _sorted_newest_first(jobs), "RestoreJobs", lambda j: j)


# ---- copy jobs ---------------------------------------------------------------------------


def start_copy_job(self: BackupResponse) -> str:
    body = _body(self)
    for required in ("RecoveryPointArn", "SourceBackupVaultName", "DestinationBackupVaultArn", "IamRoleArn"):
        if not body.get(required):
            raise InvalidParameterValueException(msg=f"{required} is required")
    job = models.start_copy_job(
        self.backup_backend,
        body["RecoveryPointArn"],
        body["SourceBackupVaultName"],
        body["DestinationBackupVaultArn"],
        body["IamRoleArn"],
        body.get("Lifecycle"),
        idempotency_token=body.get("IdempotencyToken"),
    )
    return json.dumps({"CopyJobId": job.job_id, "CreationDate": job.timeline.created, "IsParent": False})


def describe_copy_job(self: BackupResponse) -> str:
    job = models.describe_copy_job(self.backup_backend, _label(self, "copyJobId"))
    return json.dumps({"CopyJob": job.describe()})


def list_copy_jobs(self: BackupResponse) -> str:
    jobs = [j.describe() for j in models.state(self.backup_backend).copy_jobs.values()]
    jobs = _filter(
        jobs,
        _query(self),
        {
            "resourceArn": ("ResourceArn", "eq"),
            "state": ("State", "eq"),
            "resourceType": ("ResourceType", "eq"),
            "destinationVaultArn": ("DestinationBackupVaultArn", "eq"),
            "accountId": ("AccountId", "eq"),
            "messageCategory": ("MessageCategory", "eq"),
            "sourceRecoveryPointArn": ("SourceRecoveryPointArn", "eq"),
            "createdBefore": ("CreationDate", "before"),
            "createdAfter": ("CreationDate", "after"),
            "completeBefore": ("CompletionDate", "before"),
            "completeAfter": ("CompletionDate", "after"),
        },
    )
    if "parentJobId" in _query(self):
        jobs = []
    return _page(self, _sorted_newest_first(jobs), "CopyJobs", lambda j: j)


# ---- protected resources -----------------------------------------------------------------


def list_protected_resources(self: BackupResponse) -> str:
    return _page(self, models.protected_resources(self.backup_backend), "Results", lambda r: r)


def describe_protected_resource(self: BackupResponse) -> str:
    """One resource's entry of ListProtectedResources (DescribeProtectedResource's members that
    ListProtectedResources shares; the latest restore's are not kept here)."""
    arn = _label(self, "resourceArn")
    for resource in models.protected_resources(self.backup_backend):
        if resource["ResourceArn"] == arn:
            return json.dumps(resource)
    raise models.ResourceNotFoundException(msg=f"Resource {arn} is not protected by AWS Backup")


# ---- legal holds -------------------------------------------------------------------------


def create_legal_hold(self: BackupResponse) -> str:
    hold = legal_holds.create(self.backup_backend, _body(self))
    out = hold.describe()
    for key in ("CancelDescription", "CancellationDate", "RetainRecordUntil"):
        out.pop(key, None)
    return json.dumps(out)


def get_legal_hold(self: BackupResponse) -> str:
    return json.dumps(legal_holds.get(self.backup_backend, _label(self, "legalHoldId")).describe())


def list_legal_holds(self: BackupResponse) -> str:
    return _page(self, legal_holds.listed(self.backup_backend), "LegalHolds", lambda h: h.summary())


def cancel_legal_hold(self: BackupResponse) -> Any:
    query = _query(self)
    legal_holds.cancel(
        self.backup_backend,
        _label(self, "legalHoldId"),
        query.get("cancelDescription", ""),
        query.get("retainRecordInDays"),
    )
    return 201, {}, ""


def list_recovery_points_by_legal_hold(self: BackupResponse) -> str:
    points = legal_holds.points(self.backup_backend, _label(self, "legalHoldId"))

    def render(rp: models.RecoveryPoint) -> dict[str, Any]:
        return {
            "RecoveryPointArn": rp.arn,
            "ResourceArn": rp.resource_arn,
            "ResourceType": rp.kind.resource_type,
            "BackupVaultName": rp.vault.backup_vault_name,
        }

    return _page(self, points, "RecoveryPoints", render)



# ---- Audit Manager frameworks ------------------------------------------------------------


def create_framework(self: BackupResponse) -> str:
    framework = frameworks.create(self.backup_backend, _body(self))
    return json.dumps({"FrameworkName": framework.name, "FrameworkArn": framework.arn})


def describe_framework(self: BackupResponse) -> str:
    return json.dumps(frameworks.get(self.backup_backend, _label(self, "frameworkName")).describe())


def list_frameworks(self: BackupResponse) -> str:
    return _page(self, frameworks.listed(self.backup_backend), "Frameworks", lambda f: f.summary())


def delete_framework(self: BackupResponse) -> str:
    frameworks.delete(self.backup_backend, _label(self, "frameworkName"))
    return ""


_moto_create_report_plan = BackupResponse.create_report_plan


def create_report_plan(self: BackupResponse) -> Any:
    frameworks.check_report_setting(self.backup_backend, _body(self).get("ReportSetting"))
    return _moto_create_report_plan(self)

HANDLERS: list[Callable[..., Any]] = [
    update_backup_plan,
    get_backup_plan,
    list_backup_plan_versions,
    delete_backup_plan,
    create_backup_selection,
    get_backup_selection,
    list_backup_selections,
    delete_backup_selection,
    describe_backup_vault,
    list_backup_vaults,
    delete_backup_vault,
    put_backup_vault_access_policy,
    get_backup_vault_access_policy,
    delete_backup_vault_access_policy,
    start_backup_job,
    describe_backup_job,
    list_backup_jobs,
    list_recovery_points_by_backup_vault,
    list_recovery_points_by_resource,
    describe_recovery_point,
    get_recovery_point_restore_metadata,
    delete_recovery_point,
    update_recovery_point_lifecycle,
    start_restore_job,
    describe_restore_job,
    list_restore_jobs,
    start_copy_job,
    describe_copy_job,
    list_copy_jobs,
    list_protected_resources,
    describe_protected_resource,
    create_legal_hold,
    get_legal_hold,
    list_legal_holds,
    cancel_legal_hold,
    list_recovery_points_by_legal_hold,
    create_framework,
    describe_framework,
    list_frameworks,
    delete_framework,
    create_report_plan,
]

# URL patterns for moto's Flask app; moto resolves the operation itself from the method and
# the raw path, so these only need to route every Backup path to BackupResponse.dispatch.
URL_PATHS = {
    "{0}/backup/plans/(?P<plan>[^/]+)/versions/$": BackupResponse.dispatch,
    "{0}/backup/plans/(?P<plan>[^/]+)/selections/$": BackupResponse.dispatch,
    "{0}/backup/plans/(?P<plan>[^/]+)/selections/(?P<selection>[^/]+)$": BackupResponse.dispatch,
    "{0}/backup-vaults/(?P<name>[^/]+)/access-policy$": BackupResponse.dispatch,
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": BackupResponse.dispatch,
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<rp>.+)$": BackupResponse.dispatch,
    "{0}/backup-jobs$": BackupResponse.dispatch,
    "{0}/backup-jobs/$": BackupResponse.dispatch,
    "{0}/backup-jobs/(?P<job>[^/]+)$": BackupResponse.dispatch,
    "{0}/restore-jobs$": BackupResponse.dispatch,
    "{0}/restore-jobs/$": BackupResponse.dispatch,
    "{0}/restore-jobs/(?P<job>[^/]+)$": BackupResponse.dispatch,
    "{0}/copy-jobs$": BackupResponse.dispatch,
    "{0}/copy-jobs/$": BackupResponse.dispatch,
    "{0}/copy-jobs/(?P<job>[^/]+)$": BackupResponse.dispatch,
    "{0}/resources/$": BackupResponse.dispatch,
    "{0}/resources/(?P<arn>.+)/recovery-points/$": BackupResponse.dispatch,
    "{0}/resources/(?P<arn>[^/].*)$": BackupResponse.dispatch,
    "{0}/legal-holds/$": BackupResponse.dispatch,
    "{0}/audit/frameworks$": BackupResponse.dispatch,
    "{0}/audit/frameworks/(?P<framework>[^/]+)$": BackupResponse.dispatch,
    "{0}/legal-holds/(?P<hold>[^/]+)$": BackupResponse.dispatch,
    "{0}/legal-holds/(?P<hold>[^/]+)/$": BackupResponse.dispatch,
    "{0}/legal-holds/(?P<hold>[^/]+)/recovery-points$": BackupResponse.dispatch,
}


def _json(handler: Callable[[BackupResponse], Any]) -> Callable[[BackupResponse], Any]:
    @functools.wraps(handler)
    def wrapper(self: BackupResponse) -> Any:
        self.response_headers["Content-Type"] = "application/json"
        return handler(self)

    return wrapper


def install() -> None:
    import moto.backup.urls

    for handler in HANDLERS:
        setattr(BackupResponse, handler.__name__, _json(handler))
    moto.backup.urls.url_paths.update(URL_PATHS)
