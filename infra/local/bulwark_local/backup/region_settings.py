"""AWS Backup's Region settings: DescribeRegionSettings and UpdateRegionSettings (moto has
neither), per account and Region.

`ResourceTypeManagementPreference` says which resource types AWS Backup fully manages. For
DynamoDB that is the switch of AWS Backup's advanced DynamoDB backup features: "Customers who
started using AWS Backup after November 2021 have advanced DynamoDB backup features enabled by
default" (developer guide, "Advanced DynamoDB backup"). Every account of the local AWS is a new
one, so `{"DynamoDB": true}` until UpdateRegionSettings says otherwise; backups taken after a
change follow it, earlier recovery points keep what they are (dynamodb_points.py).

`ResourceTypeOptInPreference` is recorded and answered, not enforced (README, "Region settings").
The state lives on moto's BackupBackend, so moto's reset forgets it.
"""

from __future__ import annotations

import json
from typing import Any

from moto.backup.exceptions import InvalidParameterValueException
from moto.backup.models import BackupBackend, backup_backends
from moto.backup.responses import BackupResponse

_KEY = "_bulwark_region_settings"
MANAGEMENT = "ResourceTypeManagementPreference"
OPT_IN = "ResourceTypeOptInPreference"

# What a new account answers. Full management: DynamoDB as the developer guide says for
# accounts new since November 2021; EFS true, as the local AWS's EFS points are AWS Backup's own
# (AWS's default for it was not found; it is recorded, with no effect). Opt-in: the six types
# the local AWS backs up (AWS's defaults were not found).
DEFAULTS = {
    MANAGEMENT: {"DynamoDB": True, "EFS": True},
    OPT_IN: {"Aurora": True, "DynamoDB": True, "EBS": True, "EFS": True, "RDS": True, "S3": True},
}


def _settings(backend: BackupBackend) -> dict[str, dict[str, bool]]:
    if _KEY not in backend.__dict__:
        backend.__dict__[_KEY] = {name: dict(values) for name, values in DEFAULTS.items()}
    return backend.__dict__[_KEY]


def advanced_dynamodb(account: str, region: str) -> bool:
    """Whether AWS Backup fully manages DynamoDB backups in this account and Region now."""
    return bool(_settings(backup_backends[account][region])[MANAGEMENT].get("DynamoDB", False))


def _preferences(body: dict[str, Any], member: str) -> dict[str, bool]:
    values = body.get(member) or {}
    if not isinstance(values, dict) or not all(isinstance(v, bool) for v in values.values()):
        raise InvalidParameterValueException(msg=f"{member} must map resource types to true or false")
    return values


def describe_region_settings(self: BackupResponse) -> str:
    settings = _settings(self.backup_backend)
    return json.dumps({OPT_IN: settings[OPT_IN], MANAGEMENT: settings[MANAGEMENT]})


def update_region_settings(self: BackupResponse) -> str:
    body = json.loads(self.body) if self.body else {}
    changes = {member: _preferences(body, member) for member in (MANAGEMENT, OPT_IN)}
    settings = _settings(self.backup_backend)
    for member, values in changes.items():
        settings[member].update(values)
    return ""


def install() -> None:
    import moto.backup.urls

    from .responses import _json

    for handler in (describe_region_settings, update_region_settings):
        setattr(BackupResponse, handler.__name__, _json(handler))
    moto.backup.urls.url_paths["{0}/account-settings$"] = BackupResponse.dispatch
