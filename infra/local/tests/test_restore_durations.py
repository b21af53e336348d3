"""Restore jobs take a time by resource type and size, settable at run time."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import JOB_DELAY, ROLE, unique, wait

PATH = "/moto-api/bulwark/backup/restore-durations"
REGION = "ca-west-1"


def _durations(endpoint: str, body: dict[str, Any] | None = None, method: str | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{endpoint}{PATH}", data=data, method=method or ("POST" if data else "GET"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


@pytest.fixture
def durations(endpoint: str) -> Iterator[Any]:
    """Set durations for one test; the defaults again afterwards."""
    yield lambda body: _durations(endpoint, body)
    defaults = _durations(endpoint, method="DELETE")
    assert defaults["seconds"]["RDS"] == pytest.approx(2 * JOB_DELAY) and defaults["per_gib"]["RDS"] == 0


def _table_point(aws: Any, backup: Any, vault: str) -> str:
    ddb = aws("dynamodb", REGION)
    name = unique("dur")
    arn = ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    return job["RecoveryPointArn"]


def test_the_default_durations_are_multiples_of_the_job_delay(endpoint: str) -> None:
    seconds = _durations(endpoint)["seconds"]
    assert seconds["DynamoDB"] == pytest.approx(JOB_DELAY)
    assert seconds["RDS"] == pytest.approx(2 * JOB_DELAY) and seconds["Aurora"] == pytest.approx(3 * JOB_DELAY)


def test_a_restore_takes_its_kinds_duration(aws: Any, durations: Any) -> None:
    backup = aws("backup", REGION)
    vault = unique("dur")
    backup.create_backup_vault(BackupVaultName=vault)
    point = _table_point(aws, backup, vault)
    assert durations({"DynamoDB": 2.5})["seconds"]["DynamoDB"] == 2.5  # only DynamoDB's changes
    started = time.time()
    job = backup.start_restore_job(RecoveryPointArn=point, Metadata={"targetTableName": unique("dur-r")}, IamRoleArn=ROLE)
    first = backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])
    assert first["Status"] == "PENDING" and first["ExpectedCompletionTimeMinutes"] == 1
    states = wait(lambda: backup.describe_restore_job(RestoreJobId=job["RestoreJobId"]), "Status", timeout=10)
    assert states == ["PENDING", "RUNNING", "COMPLETED"]
    assert time.time() - started >= 2.5
    done = backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])
    assert done["CompletionDate"].timestamp() - done["CreationDate"].timestamp() == pytest.approx(2.5, abs=0.01)


def test_a_restore_takes_longer_for_a_bigger_resource(aws: Any, durations: Any) -> None:
    backup, rds = aws("backup", REGION), aws("rds", REGION)
    vault = unique("dur")
    backup.create_backup_vault(BackupVaultName=vault)
    name = unique("dur-db")
    arn = rds.create_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123",
    )["DBInstance"]["DBInstanceArn"]
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=arn, IamRoleArn=ROLE)
    wait(lambda: backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    durations({"seconds": {"RDS": 60}, "per_gib": {"RDS": 90}})  # a minute, and 1.5 minutes a GiB: 31 minutes
    restore = backup.start_restore_job(RecoveryPointArn=job["RecoveryPointArn"], Metadata={"DBInstanceIdentifier": unique("dur-r")}, IamRoleArn=ROLE)
    time.sleep(JOB_DELAY)
    running = backup.describe_restore_job(RestoreJobId=restore["RestoreJobId"])
    assert running["Status"] == "PENDING" and "CompletionDate" not in running  # a quarter of 31 minutes is PENDING
    assert running["ExpectedCompletionTimeMinutes"] == 31
    listed = [j for j in backup.list_restore_jobs(ByStatus="PENDING")["RestoreJobs"] if j["RestoreJobId"] == restore["RestoreJobId"]]
    assert listed and listed[0]["ExpectedCompletionTimeMinutes"] == 31


def test_durations_are_refused_unless_seconds_of_known_types(endpoint: str) -> None:
    for body in ({"Redshift": 3}, {"RDS": -1}, {"RDS": "long"}, {"seconds": {"RDS": True}}):
        with pytest.raises(urllib.error.HTTPError) as err:
            _durations(endpoint, body)
        assert err.value.code == 400


def test_moto_reset_restores_the_default_durations() -> None:
    """In process: moto's reset (POST /moto-api/reset) forgets the durations set."""
    from bulwark_local.backup import durations
    from moto.moto_api._internal.models import moto_api_backend

    durations.install()
    durations.configure({"seconds": {"Aurora": 600}, "per_gib": {"S3": 5}})
    assert durations.restore_seconds("Aurora", 0) == 600 and durations.restore_seconds("S3", 2 * 1024**3) > 10
    moto_api_backend.reset()
    assert durations.restore_seconds("Aurora", 0) == pytest.approx(durations.job_delay() * 3)
    assert durations.restore_seconds("S3", 2 * 1024**3) == pytest.approx(durations.job_delay())


def test_an_accounts_durations_apply_to_its_restores_only() -> None:
    """In process: durations set for one account leave the others' as they were."""
    from bulwark_local.backup import durations

    durations.configure({"seconds": {"DynamoDB": 9}})
    own = durations.configure({"account": "111122223333", "seconds": {"DynamoDB": 120}, "per_gib": {"DynamoDB": 1}})
    assert own == {"account": "111122223333", "seconds": {"DynamoDB": 120.0}, "per_gib": {"DynamoDB": 1.0}}
    assert durations.restore_seconds("DynamoDB", 1024**3, "111122223333") == 121
    assert durations.restore_seconds("DynamoDB", 1024**3, "444455556666") == 9
    assert durations.restore_seconds("RDS", 0, "111122223333") == pytest.approx(durations.job_delay() * 2)
    with pytest.raises(ValueError, match="12-digit"):
        durations.configure({"account": "me", "seconds": {"DynamoDB": 1}})
    durations.reset()
    assert durations.restore_seconds("DynamoDB", 0, "111122223333") == pytest.approx(durations.job_delay())
