"""The local-only control call that stands in for AWS Backup's scheduler.

    POST /moto-api/bulwark/backup/run-plans?account=<12 digits>&region=<region>

(or the same two fields in a JSON body) runs every backup plan of that account and region
now: a backup job for each resource its selections assign (a rule with EnableContinuousBackup
creates or refreshes continuous recovery points), then each rule's copy actions.
account defaults to moto's default account (123456789012), region to us-east-1. The answer
is {"BackupJobIds": [...], "CopyJobIds": [...]}.

    POST /moto-api/bulwark/backup/corrupt-restores   {"account": "...", "region": "...", "drop": 1}

makes the next restore of an S3 bucket or a DynamoDB table in that account and region lose
`drop` objects or items, once: a backup that does not hold what it should, for tests of the
restore validators.

    POST /moto-api/bulwark/backup/fail-restores   {"account": "...", "region": "...", "message": "..."}

makes the next restore job in that account and region FAIL with that StatusMessage, creating
nothing, once.

    GET/POST /moto-api/bulwark/backup/restore-durations

how long restore jobs take, by resource type (durations.py).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from moto.core import DEFAULT_ACCOUNT_ID

from bulwark_local import concurrency

from . import models

PATH = "/moto-api/bulwark/backup/run-plans"
CORRUPT = "/moto-api/bulwark/backup/corrupt-restores"
FAIL = "/moto-api/bulwark/backup/fail-restores"
JSON = {"Content-Type": "application/json"}


def run_plans(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    if request.method != "POST":
        return 405, JSON, json.dumps({"Error": f"POST to {PATH}"})
    params = {k: v[0] for k, v in parse_qs(urlparse(full_url).query).items()}
    if request.data:
        try:
            params.update(json.loads(request.data))
        except ValueError:
            return 400, JSON, json.dumps({"Error": "the body must be a JSON object"})
    account = str(params.get("account") or DEFAULT_ACCOUNT_ID)
    region = str(params.get("region") or "us-east-1")
    if not re.fullmatch(r"\d{12}", account) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        return 400, JSON, json.dumps({"Error": f"invalid account {account!r} or region {region!r}"})
    with concurrency.backend("backup", account, region):  # as an AWS Backup request would
        ran = models.run_plans(account, region)
    return 200, JSON, json.dumps(ran)


def _corrupt(body: dict[str, Any]) -> dict[str, Any]:
    from .kinds import corrupt_restores

    account, region, drop = str(body["account"]), str(body.get("region", "us-east-1")), int(body.get("drop", 1))
    if not re.fullmatch(r"\d{12}", account) or drop < 1:
        raise ValueError(f"account must be 12 digits and drop at least 1, not {account!r}, {drop}")
    corrupt_restores[(account, region)] = drop
    return {"account": account, "region": region, "drop": drop}


def _fail(body: dict[str, Any]) -> dict[str, Any]:
    from .kinds import failing_restores

    account, region = str(body["account"]), str(body.get("region", "us-east-1"))
    message = str(body.get("message") or "the restore failed (local fault)")
    if not re.fullmatch(r"\d{12}", account):
        raise ValueError(f"account must be 12 digits, not {account!r}")
    failing_restores[(account, region)] = message
    return {"account": account, "region": region, "message": message}


def install() -> None:
    import moto.moto_api._internal.urls

    from bulwark_local.template import post_endpoint

    moto.moto_api._internal.urls.url_paths["{0}" + PATH] = run_plans
    moto.moto_api._internal.urls.url_paths["{0}" + CORRUPT] = post_endpoint(CORRUPT, _corrupt, ())
    moto.moto_api._internal.urls.url_paths["{0}" + FAIL] = post_endpoint(FAIL, _fail, ())
