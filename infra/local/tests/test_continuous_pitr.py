"""Continuous recovery points restore to a time in their window; RDS reports the window;
DynamoDB's own point-in-time recovery has a window that moves with the clock."""

from __future__ import annotations

import json
import math
import time
import urllib.request
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from bulwark_local import dynamodb_pitr
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_IN_PROCESS
from moto.dynamodb.models import dynamodb_backends
from conftest import ACCOUNT, ROLE, unique, wait


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_plans(endpoint: str, backup: Any, region: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/backup/run-plans?account={ACCOUNT}&region={region}", method="POST", data=b""
    )
    with urllib.request.urlopen(request) as response:
        ran = json.loads(response.read())
    for job_id in ran["BackupJobIds"]:
        assert wait(lambda: backup.describe_backup_job(BackupJobId=job_id), "State")[-1] == "COMPLETED"


def _continuous_plan(backup: Any, vault: str, resources: list[str]) -> None:
    backup.create_backup_vault(BackupVaultName=vault)
    plan = backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": unique("pitr"),
            "Rules": [{"RuleName": "continuous", "TargetBackupVaultName": vault, "EnableContinuousBackup": True}],
        }
    )
    backup.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={"SelectionName": "these", "IamRoleArn": ROLE, "Resources": resources},
    )


def _last_backup(backup: Any, arn: str) -> float:
    """The resource's LastBackupTime, which ListProtectedResources and DescribeProtectedResource
    report alike."""
    found = [r for r in backup.list_protected_resources()["Results"] if r["ResourceArn"] == arn]
    described = backup.describe_protected_resource(ResourceArn=arn)
    assert described["LastBackupTime"] == found[0]["LastBackupTime"]
    assert described["LastRecoveryPointArn"] == found[0]["LastRecoveryPointArn"]
    return found[0]["LastBackupTime"].timestamp()


def _restore(backup: Any, point: str, metadata: dict[str, str]) -> dict[str, Any]:
    job = backup.start_restore_job(RecoveryPointArn=point, Metadata=metadata, IamRoleArn=ROLE)
    wait(lambda: backup.describe_restore_job(RestoreJobId=job["RestoreJobId"]), "Status", timeout=20)
    return backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])


def _point(backup: Any, vault: str) -> str:
    return backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"][0]["RecoveryPointArn"]


def test_describe_protected_resource_refuses_a_resource_never_backed_up(aws: Any) -> None:
    backup = aws("backup", "eu-west-3")
    with pytest.raises(ClientError) as refused:
        backup.describe_protected_resource(ResourceArn=f"arn:aws:s3:::{unique('never')}")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_s3_continuous_point_restores_the_bucket_as_it_was_at_the_restore_time(aws: Any, endpoint: str) -> None:
    region = "eu-west-3"
    backup, s3 = aws("backup", region), aws("s3", region)
    bucket = unique("pitr-s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=bucket, Key="a", Body=b"first")
    _continuous_plan(backup, "pitr-s3", [f"arn:aws:s3:::{bucket}"])
    _run_plans(endpoint, backup, region)
    first = _last_backup(backup, f"arn:aws:s3:::{bucket}")
    time.sleep(1.1)  # the next state is at least a second later: RestoreTime is to the second
    s3.put_object(Bucket=bucket, Key="a", Body=b"second")
    s3.put_object(Bucket=bucket, Key="b", Body=b"new")
    _run_plans(endpoint, backup, region)
    second = _last_backup(backup, f"arn:aws:s3:::{bucket}")
    point = _point(backup, "pitr-s3")

    def restored(restore_time: str) -> dict[str, bytes]:
        target = unique("pitr-dst")
        job = _restore(backup, point, {"DestinationBucketName": target, "NewBucket": "true", "RestoreTime": restore_time})
        assert job["Status"] == "COMPLETED", job.get("StatusMessage")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=target).get("Contents", [])]
        return {k: s3.get_object(Bucket=target, Key=k)["Body"].read() for k in keys}

    assert restored(_iso(math.ceil(first))) == {"a": b"first"}
    assert restored(_iso(math.ceil(second))) == {"a": b"second", "b": b"new"}

    refused = {
        "no RestoreTime": ({}, "RestoreTime is required"),
        "before the window": ({"RestoreTime": _iso(first - 3600)}, "outside the restorable window"),
        "after the window": ({"RestoreTime": _iso(second + 3600)}, "outside the restorable window"),
        "not a time": ({"RestoreTime": "yesterday"}, "is not a date and time"),
    }
    for case, (extra, message) in refused.items():
        job = _restore(backup, point, {"DestinationBucketName": unique("pitr-no"), "NewBucket": "true", **extra})
        assert job["Status"] == "FAILED" and message in job["StatusMessage"], (case, job.get("StatusMessage"))
        assert "CreatedResourceArn" not in job

    # a snapshot recovery point of a bucket restores to the time it was taken: no RestoreTime
    backup.create_backup_vault(BackupVaultName="snap-s3")
    snap = backup.start_backup_job(BackupVaultName="snap-s3", ResourceArn=f"arn:aws:s3:::{bucket}", IamRoleArn=ROLE)
    wait(lambda: backup.describe_backup_job(BackupJobId=snap["BackupJobId"]), "State")
    job = _restore(backup, snap["RecoveryPointArn"], {"DestinationBucketName": unique("x"), "NewBucket": "true", "RestoreTime": _iso(second)})
    assert job["Status"] == "FAILED" and "only valid for continuous recovery points" in job["StatusMessage"]


def _instance(rds: Any, name: str) -> dict[str, Any]:
    return rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]


def test_an_rds_continuous_point_restores_to_a_time_and_rds_reports_the_latest(aws: Any, endpoint: str) -> None:
    region = "eu-central-2"
    backup, rds = aws("backup", region), aws("rds", region)
    name, bystander = unique("pitr-db"), unique("other-db")
    for db in (name, bystander):
        rds.create_db_instance(
            DBInstanceIdentifier=db, DBInstanceClass="db.t3.micro", Engine="postgres",
            AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123",
        )
    arn = _instance(rds, name)["DBInstanceArn"]
    _continuous_plan(backup, "pitr-db", [arn])
    _run_plans(endpoint, backup, region)
    first = _last_backup(backup, arn)
    assert _instance(rds, name)["LatestRestorableTime"].timestamp() == math.ceil(first)
    time.sleep(1.1)
    rds.modify_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.small", ApplyImmediately=True)
    _run_plans(endpoint, backup, region)
    second = _last_backup(backup, arn)
    assert _instance(rds, name)["LatestRestorableTime"].timestamp() == math.ceil(second)
    # a database without a continuous point keeps RDS's own: about now
    assert abs(_instance(rds, bystander)["LatestRestorableTime"].timestamp() - time.time()) < 300
    # only the newest state's snapshot is an RDS snapshot; older states are AWS Backup's own
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=name, SnapshotType="awsbackup")["DBSnapshots"]
    assert len(snapshots) == 1

    point = _point(backup, "pitr-db")
    restored = {}
    for label, extra in {
        "at the first": {"RestoreTime": _iso(math.ceil(first))},
        "latest": {"UseLatestRestorableTime": "true"},
        "no time": {},
    }.items():
        target = unique("pitr-rst")
        job = _restore(backup, point, {"DBInstanceIdentifier": target, **extra})
        assert job["Status"] == "COMPLETED", (label, job.get("StatusMessage"))
        restored[label] = _instance(rds, target)["DBInstanceClass"]
    assert restored == {"at the first": "db.t3.micro", "latest": "db.t3.small", "no time": "db.t3.small"}
    assert len(rds.describe_db_snapshots(DBInstanceIdentifier=name, SnapshotType="awsbackup")["DBSnapshots"]) == 1

    for extra, message in (
        ({"UseLatestRestorableTime": "true", "RestoreTime": _iso(second)}, "can't be specified"),
        ({"UseLatestRestorableTime": "false"}, "RestoreTime is required when UseLatestRestorableTime is false"),
        ({"RestoreTime": _iso(first - 60)}, "outside the restorable window"),
    ):
        job = _restore(backup, point, {"DBInstanceIdentifier": unique("pitr-no"), **extra})
        assert job["Status"] == "FAILED" and message in job["StatusMessage"], job.get("StatusMessage")

    # deleted, the point takes its states with it: RDS reports its own window again
    backup.delete_recovery_point(BackupVaultName="pitr-db", RecoveryPointArn=point)
    assert rds.describe_db_snapshots(DBInstanceIdentifier=name, SnapshotType="awsbackup")["DBSnapshots"] == []
    assert _instance(rds, name)["LatestRestorableTime"].timestamp() > math.ceil(second)


def test_an_aurora_cluster_under_continuous_backup_reports_its_window(aws: Any, endpoint: str) -> None:
    region = "eu-south-2"
    backup, rds = aws("backup", region), aws("rds", region)
    name = unique("pitr-cl")
    arn = rds.create_db_cluster(
        DBClusterIdentifier=name, Engine="aurora-postgresql", MasterUsername="admin", MasterUserPassword="password123",
    )["DBCluster"]["DBClusterArn"]
    _continuous_plan(backup, "pitr-cl", [arn])
    _run_plans(endpoint, backup, region)
    first = _last_backup(backup, arn)
    time.sleep(1.1)
    _run_plans(endpoint, backup, region)
    second = _last_backup(backup, arn)
    cluster = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    assert cluster["EarliestRestorableTime"].timestamp() == math.ceil(first)
    assert cluster["LatestRestorableTime"].timestamp() == math.ceil(second)
    job = _restore(backup, _point(backup, "pitr-cl"), {"DBClusterIdentifier": unique("pitr-r"), "RestoreTime": _iso(math.ceil(first))})
    assert job["Status"] == "COMPLETED", job.get("StatusMessage")


# ---- DynamoDB's own point-in-time recovery --------------------------------------------------


def test_the_dynamodb_pitr_window_moves_with_the_clock() -> None:
    enabled_at = 1_000_000.0
    described = {"PointInTimeRecoveryStatus": "ENABLED", "EarliestRestorableDateTime": enabled_at, "RecoveryPeriodInDays": 7}
    assert dynamodb_pitr.window(described, now=enabled_at + 10) == (enabled_at, enabled_at)
    assert dynamodb_pitr.window(described, now=enabled_at + 3600) == (enabled_at, enabled_at + 3300)
    week_later = enabled_at + 10 * 86400
    assert dynamodb_pitr.window(described, now=week_later) == (week_later - 7 * 86400, week_later - 300)
    assert dynamodb_pitr.window({"PointInTimeRecoveryStatus": "DISABLED"}) is None


def test_dynamodb_restores_to_a_point_in_time_only_inside_the_window(aws: Any) -> None:
    ddb = aws("dynamodb", "eu-west-3")
    name = unique("pitr-t")
    arn = ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]

    with pytest.raises(ClientError) as err:
        ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=unique("no"), UseLatestRestorableTime=True)
    assert err.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"

    before = time.time()
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    earliest, latest = pitr["EarliestRestorableDateTime"].timestamp(), pitr["LatestRestorableDateTime"].timestamp()
    assert before - 1 <= earliest <= time.time() and latest == earliest  # within 5 minutes of enabling

    with pytest.raises(ClientError) as err:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=unique("no"), RestoreDateTime=datetime.fromtimestamp(earliest - 3600, timezone.utc)
        )
    assert err.value.response["Error"]["Code"] == "InvalidRestoreTimeException"
    restored = ddb.restore_table_to_point_in_time(SourceTableArn=arn, TargetTableName=unique("yes"), UseLatestRestorableTime=True)
    assert restored["TableDescription"]["TableStatus"] in ("CREATING", "ACTIVE")


def test_dynamodb_restores_the_items_as_they_were_at_the_time_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # In process, with the clock moved by hand: the window lags five minutes behind the writes.
    # (`make test` exports AWS_ENDPOINT_URL for the server's clients; this client is moto's own.)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    clock = [time.time()]
    monkeypatch.setattr(dynamodb_pitr, "_now", lambda: clock[0])
    dynamodb_pitr.install()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-3")
        name = unique("pitr-h")
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        enabled = clock[0]
        ddb.put_item(TableName=name, Item=_row("before-pitr", "0"))  # kept: older than every restore
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})

        def rows(table: str) -> dict[tuple[str, str], str]:
            return {(i["pk"]["S"], i["sk"]["S"]): i["v"]["S"] for i in ddb.scan(TableName=table)["Items"]}

        # Given three items written, then at T+50 one changed, one deleted, one added, by every kind of write
        clock[0] = enabled + 10
        for key in ("a", "b", "c"):
            ddb.put_item(TableName=name, Item=_row(key, "1"))
        chosen = enabled + 100
        clock[0] = enabled + 150
        ddb.update_item(
            TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "x"}},
            UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "2"}},
        )
        ddb.delete_item(TableName=name, Key={"pk": {"S": "b"}, "sk": {"S": "x"}})
        ddb.batch_write_item(RequestItems={name: [
            {"DeleteRequest": {"Key": {"pk": {"S": "c"}, "sk": {"S": "x"}}}},
            {"PutRequest": {"Item": _row("d", "1")}},
        ]})
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": _row("a", "3")}}])
        clock[0] = enabled + 900
        ddb.put_item(TableName=name, Item=_row("e", "1"))  # inside the last five minutes
        clock[0] = enabled + 1000
        now = rows(name)

        # When restored to T, and to the latest restorable time
        at_t = ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=unique("at-t"), RestoreDateTime=datetime.fromtimestamp(chosen, timezone.utc)
        )["TableDescription"]
        latest = ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=unique("latest"), UseLatestRestorableTime=True
        )["TableDescription"]

        # Then T's table holds T's items, the latest holds all but the last five minutes', and the source is untouched
        assert rows(at_t["TableName"]) == {("before-pitr", "x"): "0", ("a", "x"): "1", ("b", "x"): "1", ("c", "x"): "1"}
        assert rows(latest["TableName"]) == {("before-pitr", "x"): "0", ("a", "x"): "3", ("d", "x"): "1"}
        assert rows(name) == now == {("before-pitr", "x"): "0", ("a", "x"): "3", ("d", "x"): "1", ("e", "x"): "1"}
        assert at_t["RestoreSummary"]["RestoreDateTime"].timestamp() == pytest.approx(chosen)
        assert latest["RestoreSummary"]["RestoreDateTime"].timestamp() == pytest.approx(enabled + 700)

        # And disabling PITR forgets the history (AWS resets the window)
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
        assert not hasattr(dynamodb_backends[ACCOUNT_IN_PROCESS]["eu-west-3"].tables[name], "_bulwark_pitr_history")


def _row(key: str, value: str) -> dict[str, Any]:
    return {"pk": {"S": key}, "sk": {"S": "x"}, "v": {"S": value}}
