"""What AWS Backup puts on the default event bus, which moto never does.

Two kinds, each as AWS documents it (infra/local/FIDELITY.md has the sources):

- **API calls via CloudTrail.** "To record events with one of the CloudTrail detail-type values,
  you must enable a CloudTrail trail with logging" (EventBridge user guide). A signed AWS Backup
  request that changes something (its operation's name starts neither List, Get nor Describe),
  in an account with a trail that is logging in the request's region (a multi-region trail logs
  in every region), puts an "AWS API Call via CloudTrail" event with source `aws.backup` on that
  region's default bus: the caller (`userIdentity`), `eventName`, `requestParameters` (the
  request's members, first letter lower-cased), and `errorCode` and `errorMessage` when the
  call was refused (an access denied is recorded too). `wrap` is the middleware that sees them.
- **Job state changes.** "Backup Job State Change", "Copy Job State Change" and "Restore Job
  State Change" events (source `aws.backup`), sent when a job ends (COMPLETED or FAILED), with
  the fields of the developer guide's examples. Jobs here end at a time set when they start
  (models.Timeline), so a timer sends the event then. AWS sends "in a best-effort manner
  every 5 minutes"; here at once. The intermediate states (CREATED, RUNNING) are not sent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from bulwark_local import awsrequest, concurrency

log = logging.getLogger(__name__)

SOURCE = "aws.backup"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
READ_ONLY_PREFIXES = ("List", "Get", "Describe")
JOB_DETAIL_TYPES = {"backup": "Backup Job State Change", "copy": "Copy Job State Change", "restore": "Restore Job State Change"}


def _iso(when: float, millis: bool = True) -> str:
    moment = datetime.fromtimestamp(when, timezone.utc)
    if not millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def put(account: str, region: str, entry: dict[str, Any]) -> None:
    """PutEvents on the account's default bus in the region, holding no request's lock."""
    from moto.events.models import events_backends

    try:
        with concurrency.backend("events", account, region):
            events_backends[account][region].put_events([entry])
    except Exception:  # AWS delivers best-effort; here a failure is logged
        log.exception("an AWS Backup event was not put on the bus")


def _put_later(account: str, region: str, entry: dict[str, Any]) -> None:
    threading.Thread(target=put, args=(account, region, entry), daemon=True).start()


# ---- API calls via CloudTrail -----------------------------------------------------------


def trail_logging(account: str, region: str) -> bool:
    """Whether a trail of the account logs calls made in the region."""
    from moto.cloudtrail.models import cloudtrail_backends

    for home, backend in cloudtrail_backends[account].items():
        for trail in list(backend.trails.values()):
            if trail.status.is_logging and (trail.is_multi_region or home == region):
                return True
    return False


def _lower_first(params: dict[str, Any]) -> dict[str, Any]:
    return {key[:1].lower() + key[1:]: value for key, value in params.items()}


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))


def _identity(request: awsrequest.ParsedRequest) -> dict[str, Any]:
    from bulwark_local import iam

    who = iam.caller(request)
    if who.session_arn is not None:
        return {
            "type": "AssumedRole",
            "arn": who.session_arn,
            "accountId": request.account,
            "accessKeyId": request.access_key,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": who.role_arn, "accountId": request.account}},
        }
    return {"type": "Root", "arn": f"arn:aws:iam::{request.account}:root", "accountId": request.account, "accessKeyId": request.access_key}


def _error(status: int, headers: list[tuple[str, str]], body: bytes) -> tuple[str, str]:
    code = next((v for k, v in headers if k.lower() == "x-amzn-errortype"), "")
    message = ""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        parsed = {}
    if isinstance(parsed, dict):
        code = code or str(parsed.get("__type") or parsed.get("Code") or parsed.get("code") or "")
        message = str(parsed.get("message") or parsed.get("Message") or "")
    return (code.split(":")[0].split("#")[-1] or str(status)), message


def api_call_entry(
    request: awsrequest.ParsedRequest, environ: dict[str, Any], status: int, headers: list[tuple[str, str]], body: bytes
) -> dict[str, Any]:
    """The event CloudTrail's record of the call amounts to (the bus adds id, account, region, time)."""
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": _identity(request),
        "eventTime": _iso(time.time(), millis=False),
        "eventSource": "backup.amazonaws.com",
        "eventName": request.operation.name,
        "awsRegion": request.region,
        "sourceIPAddress": environ.get("REMOTE_ADDR", "127.0.0.1"),
        "userAgent": environ.get("HTTP_USER_AGENT", ""),
        "requestParameters": _json_safe(_lower_first(request.params)),
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": request.account,
        "eventCategory": "Management",
    }
    if status >= 400:
        detail["errorCode"], detail["errorMessage"] = _error(status, headers, body)
    return {"Source": SOURCE, "DetailType": CLOUDTRAIL_DETAIL_TYPE, "Detail": json.dumps(detail), "Resources": []}


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app, telling the bus about each AWS Backup write call a trail would record."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = awsrequest.parse_or_none(environ)
        if (
            request is None
            or request.service != "backup"
            or request.operation.name.startswith(READ_ONLY_PREFIXES)
            or not trail_logging(request.account, request.region)
        ):
            return app(environ, start_response)
        seen: dict[str, Any] = {}

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = int(status.split()[0]), headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = b"".join(app(environ, recording))
        entry = api_call_entry(request, environ, seen.get("status", 500), seen.get("headers", []), body)
        _put_later(request.account, request.region, entry)
        return [body]

    return middleware


# ---- job state changes ------------------------------------------------------------------


def job_entry(kind: str, described: dict[str, Any], resources: list[str]) -> dict[str, Any]:
    """A job's end as its state-change event: the developer guide's fields, from the job's
    Describe*Job answer (a restore's event names no source resource, as AWS's)."""
    def when(key: str) -> str | None:
        value = described.get(key)
        return _iso(value) if isinstance(value, (int, float)) else None

    state = described.get("State") or described.get("Status")
    detail: dict[str, Any] = {
        "creationDate": when("CreationDate"),
        "completionDate": when("CompletionDate"),
        "iamRoleArn": described.get("IamRoleArn"),
        "resourceType": described.get("ResourceType"),
        "statusMessage": described.get("StatusMessage") or "",
    }
    if kind == "backup":
        detail.update({
            "backupJobId": described["BackupJobId"],
            "backupVaultArn": described.get("BackupVaultArn"),
            "backupVaultName": described.get("BackupVaultName"),
            "backupSizeInBytes": str(described.get("BackupSizeInBytes", 0)),
            "bytesTransferred": str(described.get("BytesTransferred", 0)),
            "percentDone": 100 if state == "COMPLETED" else 0,
            "resourceArn": described.get("ResourceArn"),
            "state": state,
        })
    elif kind == "copy":
        detail.update({
            "copyJobId": described["CopyJobId"],
            "sourceBackupVaultArn": described.get("SourceBackupVaultArn"),
            "destinationBackupVaultArn": described.get("DestinationBackupVaultArn"),
            "destinationRecoveryPointArn": described.get("DestinationRecoveryPointArn") or {},
            "backupSizeInBytes": described.get("BackupSizeInBytes", 0),
            "resourceArn": described.get("ResourceArn"),
            "state": state,
        })
    else:
        detail.update({
            "restoreJobId": described["RestoreJobId"],
            "backupSizeInBytes": str(described.get("BackupSizeInBytes", 0)),
            "createdResourceArn": described.get("CreatedResourceArn"),
            "percentDone": 100 if state == "COMPLETED" else 0,
            "status": state,
        })
    return {
        "Source": SOURCE,
        "DetailType": JOB_DETAIL_TYPES[kind],
        "Detail": json.dumps({k: v for k, v in detail.items() if v is not None}),
        "Resources": resources,
    }


def at_end(kind: str, account: str, region: str, job: Any) -> None:
    """Send the job's state-change event when it ends: at the end its timeline set, or, for a
    restore whose deferred work is still running then, as soon as that work is done."""

    def resources(described: dict[str, Any]) -> list[str]:
        if kind == "copy":
            return [described["SourceRecoveryPointArn"]]
        point = described.get("RecoveryPointArn")
        return [point] if point and (kind == "restore" or described.get("State") == "COMPLETED") else []

    def check() -> None:
        try:
            described = job.describe()
            state = described.get("State") or described.get("Status")
            if state not in ("COMPLETED", "FAILED", "ABORTED", "EXPIRED"):
                _schedule(0.25, check)
                return
            entry = job_entry(kind, described, resources(described))
        except Exception:
            log.exception("the %s job's state change was not described", kind)
            return
        put(account, region, entry)

    _schedule(max(0.0, job.timeline.done_at - time.time()) + 0.05, check)


def _schedule(delay: float, then: Callable[[], None]) -> None:
    timer = threading.Timer(delay, then)
    timer.daemon = True
    timer.start()
