"""AWS Backup's legal holds for the local AWS (moto has none).

What AWS documents (AWS Backup developer guide, "Legal holds and AWS Backup"; API reference,
CreateLegalHold and LegalHold), and what this does:
- a hold takes the recovery points that match its selection (vaults, resources, a creation
  date range; every one left out matches all) when it is made; a point made later is not
  taken;
- a point under an active hold cannot be deleted ("any actions to delete or disassociate a
  recovery point will fail with an error");
- a hold does not travel with a copy: a point copied to another region or account is not
  held there;
- a hold never expires; CancelLegalHold ends it, and it stays listed as CANCELED;
- an account may have at most 50 active holds (counted here over the regions it has used);
- the same idempotency token with the same parameters returns the same hold.

The hold is ACTIVE at once; AWS shows CREATING while it gathers the points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from moto.backup.exceptions import InvalidParameterValueException, InvalidRequestException, ResourceNotFoundException
from moto.backup.models import BackupBackend, backup_backends
from moto.moto_api._internal import mock_random

from . import models

ACTIVE_LIMIT = 50
HOLDING = ("CREATING", "ACTIVE")


class LimitExceededException(models.BackupClientError):
    def __init__(self, msg: str):
        super().__init__("LimitExceededException", msg)


@dataclass
class LegalHold:
    id: str
    arn: str
    title: str
    description: str
    selection: dict[str, Any]
    created: float
    points: list[str]
    status: str = "ACTIVE"
    cancelled: float | None = None
    cancel_description: str | None = None
    retain_record_until: float | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return models._drop_none(
            {
                "Title": self.title,
                "Status": self.status,
                "Description": self.description,
                "LegalHoldId": self.id,
                "LegalHoldArn": self.arn,
                "CreationDate": self.created,
                "CancellationDate": self.cancelled,
            }
        )

    def describe(self) -> dict[str, Any]:
        return models._drop_none(
            {
                **self.summary(),
                "CancelDescription": self.cancel_description,
                "RetainRecordUntil": self.retain_record_until,
                "RecoveryPointSelection": self.selection or None,
            }
        )


def _holds(backend: BackupBackend) -> dict[str, LegalHold]:
    # On the backend's __dict__, as models.state: moto's reset forgets them.
    return backend.__dict__.setdefault("_bulwark_legal_holds", {})


def _active_in_account(account: str) -> int:
    return sum(
        1
        for backend in backup_backends[account].values()
        for hold in _holds(backend).values()
        if hold.status in HOLDING
    )


def _matches(rp: models.RecoveryPoint, selection: dict[str, Any]) -> bool:
    vaults = selection.get("VaultNames") or []
    resources = selection.get("ResourceIdentifiers") or []
    dates = selection.get("DateRange") or {}
    if vaults and rp.vault.backup_vault_name not in vaults:
        return False
    if resources and rp.resource_arn not in resources:
        return False
    created = rp.timeline.created
    if "FromDate" in dates and created < float(dates["FromDate"]):
        return False
    if "ToDate" in dates and created > float(dates["ToDate"]):
        return False
    return True


def create(backend: BackupBackend, body: dict[str, Any]) -> LegalHold:
    selection = body.get("RecoveryPointSelection") or {}
    dates = selection.get("DateRange")
    if dates is not None and float(dates["FromDate"]) > float(dates["ToDate"]):
        raise InvalidParameterValueException(msg="DateRange FromDate must not be after ToDate")
    state = models.state(backend)
    params = {k: v for k, v in body.items() if k != "IdempotencyToken"}
    key = models._idempotency_key("CreateLegalHold", body.get("IdempotencyToken"), params)
    if key is not None and key in state.idempotency:
        return _holds(backend)[state.idempotency[key]]
    if _active_in_account(backend.account_id) >= ACTIVE_LIMIT:
        raise LimitExceededException(f"An account can have at most {ACTIVE_LIMIT} active legal holds")
    for name in selection.get("VaultNames") or []:
        models._vault(backend, name)
    hold_id = str(mock_random.uuid4())
    hold = LegalHold(
        id=hold_id,
        arn=f"arn:aws:backup:{backend.region_name}:{backend.account_id}:legal-hold:{hold_id}",
        title=body["Title"],
        description=body["Description"],
        selection=selection,
        created=time.time(),
        points=[rp.arn for rp in state.recovery_points.values() if _matches(rp, selection)],
        tags=dict(body.get("Tags") or {}),
    )
    _holds(backend)[hold_id] = hold
    if hold.tags:
        backend.tag_resource(hold.arn, hold.tags)
    if key is not None:
        state.idempotency[key] = hold_id
    return hold


def get(backend: BackupBackend, hold_id: str) -> LegalHold:
    hold = _holds(backend).get(hold_id)
    if hold is None:
        raise ResourceNotFoundException(msg=f"Legal hold {hold_id} not found")
    return hold


def listed(backend: BackupBackend) -> list[LegalHold]:
    now = time.time()
    return [
        h
        for h in sorted(_holds(backend).values(), key=lambda h: h.created)
        if h.retain_record_until is None or h.retain_record_until > now
    ]


def cancel(backend: BackupBackend, hold_id: str, description: str, retain_days: str | None) -> None:
    hold = get(backend, hold_id)
    if hold.status not in HOLDING:
        raise models.InvalidResourceStateException(f"Legal hold {hold_id} is {hold.status}")
    try:
        days = int(retain_days) if retain_days else None
    except ValueError:
        raise InvalidParameterValueException(msg=f"RetainRecordInDays must be a whole number: {retain_days}")
    hold.status = "CANCELED"
    hold.cancelled = time.time()
    hold.cancel_description = description
    if days is not None:
        hold.retain_record_until = hold.cancelled + days * models.DAY


def points(backend: BackupBackend, hold_id: str) -> list[models.RecoveryPoint]:
    hold = get(backend, hold_id)
    kept = models.state(backend).recovery_points
    return [kept[arn] for arn in hold.points if arn in kept]


def refuse_deletion_if_held(backend: BackupBackend, rp_arn: str) -> None:
    holding = [h for h in _holds(backend).values() if h.status in HOLDING and rp_arn in h.points]
    if holding:
        raise InvalidRequestException(
            msg=f"Recovery point {rp_arn} is under legal hold {holding[0].id} and cannot be deleted"
        )
