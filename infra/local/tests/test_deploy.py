"""The template deployed to the local AWS: what it refuses, and a function that cannot start,
which fails its execution with the runtime's error instead of hanging it."""

from __future__ import annotations

import json
import random
import stat
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bulwark_local import iam


def _post(endpoint: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _account() -> str:
    return str(random.randint(400_000_000_000, 499_999_999_999))


def _binaries(tmp_path: Path, script: str = "#!/bin/sh\nexit 1\n") -> Path:
    # Stand-ins for the functions' binaries: a deploy only needs them to exist.
    for name in ("discover", "classify", "assign-policy", "validate-restore", "failover"):
        binary = tmp_path / name
        binary.write_text(script)
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def _deploy(endpoint: str, account: str, region: str, binaries: Path, **parameters: str) -> tuple[int, dict[str, Any]]:
    return _post(endpoint, "/moto-api/bulwark/template/deploy",
                 {"account": account, "region": region, "parameters": parameters, "binaries": str(binaries)})


def _admin(aws: Any, account: str) -> dict[str, str]:
    creds = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{iam.ADMIN_ROLE}", RoleSessionName="test")["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def _statements(aws: Any, admin: dict[str, str], role_arn: str) -> dict[str, Any]:
    client = aws("iam", credentials=admin)
    name = role_arn.rsplit("/", 1)[1]
    found = {}
    for policy in client.list_role_policies(RoleName=name)["PolicyNames"]:
        document = client.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        found.update({s["Sid"]: s for s in document["Statement"] if "Sid" in s})
    return found


def test_a_home_deploy_makes_the_state_table_global_with_a_replica_in_each_dr_region(endpoint: str, aws: Any, tmp_path: Path) -> None:
    # Given a home stack deployed in us-east-1 with the state table's replica in us-west-2
    account = _account()
    status, home = _deploy(endpoint, account, "us-east-1", _binaries(tmp_path), StateReplicaRegions="us-west-2")
    assert status == 200, home
    table = home["outputs"]["InventoryTableName"]
    assert table == "bulwark-InventoryTable"
    assert home["replicas"]["InventoryTable"] == ["us-east-1", "us-west-2"]
    assert {"StateMachineArn", "RestoreTestStateMachineArn", "FailoverStateMachineArn", "EvidenceBucketName"} <= set(home["outputs"])
    admin = _admin(aws, account)
    east, west = aws("dynamodb", "us-east-1", admin), aws("dynamodb", "us-west-2", admin)

    # Then the table is a global table in both regions, each replica with point-in-time recovery
    for ddb in (east, west):
        described = ddb.describe_table(TableName=table)["Table"]
        assert described["GlobalTableVersion"] == "2019.11.21"
        assert [r["RegionName"] for r in described["Replicas"]] == ["us-east-1", "us-west-2"]
        assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["arn-index"]
        backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    # And a write at home reaches the replica
    east.put_item(TableName=table, Item={"pk": {"S": "lease"}, "sk": {"S": "failover#payments"}})
    _post(endpoint, "/moto-api/bulwark/dynamodb/replication/flush", {})
    assert "Item" in west.get_item(TableName=table, Key={"pk": {"S": "lease"}, "sk": {"S": "failover#payments"}})

    # When a replica is added outside the stack, and the stack is deployed again with no replica region
    east.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    status, again = _deploy(endpoint, account, "us-east-1", _binaries(tmp_path))
    assert status == 200, again

    # Then the stack's replica is removed, as CloudFormation removes a replica no longer listed,
    # and the other one is left alone
    assert again["replicas"]["InventoryTable"] == ["us-east-1"]
    assert [r["RegionName"] for r in east.describe_table(TableName=table)["Table"]["Replicas"]] == ["us-east-1", "eu-west-1"]
    assert table not in west.list_tables()["TableNames"]


def test_a_stack_update_adds_or_removes_one_replica_at_a_time(endpoint: str, aws: Any, tmp_path: Path) -> None:
    # Given a home stack with no replica
    account, binaries = _account(), _binaries(tmp_path)
    status, home = _deploy(endpoint, account, "us-east-1", binaries)
    assert status == 200, home

    # When it is updated with two replica regions at once
    status, refused = _deploy(endpoint, account, "us-east-1", binaries, StateReplicaRegions="us-west-2,eu-west-1")

    # Then the update is refused, as CloudFormation allows a single replica added or removed in each
    assert status == 400, refused
    assert "only one replica can be added or removed in each update" in refused["Error"], refused
    # While one at a time is done
    for regions in ("us-west-2", "us-west-2,eu-west-1"):
        status, answer = _deploy(endpoint, account, "us-east-1", binaries, StateReplicaRegions=regions)
        assert status == 200, answer
    assert answer["replicas"]["InventoryTable"] == ["eu-west-1", "us-east-1", "us-west-2"]


def test_a_recovery_deploy_holds_only_what_a_failover_needs_on_the_state_tables_replica(endpoint: str, aws: Any, tmp_path: Path) -> None:
    # Given the home stack in us-east-1 with a replica in us-west-2
    account = _account()
    binaries = _binaries(tmp_path)
    status, home = _deploy(endpoint, account, "us-east-1", binaries, StateReplicaRegions="us-west-2")
    assert status == 200, home
    table = home["outputs"]["InventoryTableName"]

    # When a stack of the same name is deployed in us-west-2 as the recovery stack
    status, recovery = _deploy(endpoint, account, "us-west-2", binaries, Deployment="recovery",
                               StateTableName=table, EvidenceLockDays="1")
    assert status == 200, recovery

    # Then it holds the failover function and state machine (and its alarm), the rule an
    # application's alarm starts a failover by, the alert topic and its key and the evidence
    # bucket, nothing else
    assert set(recovery["resources"]) == {
        "AlertTopicKey", "AlertTopic", "EvidenceBucket", "FailoverFunctionRole", "FailoverRole",
        "FailoverFunction", "Failover", "FailoverFailedAlarm", "FailoverAlarmRule", "FailoverAlarmRulePermission",
    }, recovery["resources"]
    assert set(recovery["rules"]) == {"FailoverAlarmRule"}
    assert recovery["rules"]["FailoverAlarmRule"]["schedule"] is None
    assert set(recovery["outputs"]) == {"AlertTopicArn", "InventoryTableName", "EvidenceBucketName", "FailoverStateMachineArn"}
    assert recovery["outputs"]["InventoryTableName"] == table
    assert ":us-west-2:" in recovery["outputs"]["FailoverStateMachineArn"]
    admin = _admin(aws, account)
    function = aws("lambda", "us-west-2", admin).get_function_configuration(FunctionName="bulwark-failover")
    assert function["Environment"]["Variables"]["BULWARK_TABLE"] == table
    # And the failover function's role is its own, named for the region, granted the replica here
    west_role = f"arn:aws:iam::{account}:role/bulwark-us-west-2-FailoverFunctionRole"
    east_role = f"arn:aws:iam::{account}:role/bulwark-us-east-1-FailoverFunctionRole"
    assert function["Role"] == west_role
    assert _statements(aws, admin, west_role)["State"]["Resource"] == [
        f"arn:aws:dynamodb:us-west-2:{account}:table/{table}",
        f"arn:aws:dynamodb:us-west-2:{account}:table/{table}/index/*",
    ]
    # while the home stack's role still grants the table at home
    assert _statements(aws, admin, east_role)["State"]["Resource"] == [
        f"arn:aws:dynamodb:us-east-1:{account}:table/{table}",
        f"arn:aws:dynamodb:us-east-1:{account}:table/{table}/index/*",
    ]
    # And the evidence bucket is locked in compliance mode
    bucket = recovery["outputs"]["EvidenceBucketName"]
    lock = aws("s3", "us-west-2", admin).get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert (lock["Rule"]["DefaultRetention"]["Mode"], lock["Rule"]["DefaultRetention"]["Days"]) == ("COMPLIANCE", 1)
    # and the home stack's is not locked (EvidenceLockDays=0)
    assert home["outputs"]["EvidenceBucketName"] != bucket


def test_a_member_deploy_holds_only_the_roles_of_an_account_of_stores(endpoint: str, tmp_path: Path) -> None:
    status, member = _deploy(endpoint, _account(), "us-east-1", _binaries(tmp_path), Deployment="member",
                             OrgRole="BulwarkMember", OrgId="o-aaaaaaaaaa", HomeAccountId="111111111111")
    assert status == 200, member
    assert set(member["resources"]) == {"BackupServiceRole", "RestoreRole", "S3ReplicationRole", "MemberRole"}, member["resources"]
    assert set(member["outputs"]) == {"MemberRoleArn"}


def test_the_member_template_for_stack_sets_has_no_transform_and_only_the_member_stack() -> None:
    # A service-managed StackSet takes no template with a transform: sam_transform.py --member
    # writes the member stack as plain CloudFormation.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "aws"))
    import sam_transform

    member = sam_transform.member_stack(sam_transform.transform())
    assert "Transform" not in member
    assert set(member["Resources"]) == {"BackupServiceRole", "RestoreRole", "S3ReplicationRole", "MemberRole"}
    assert all(r["Type"] == "AWS::IAM::Role" for r in member["Resources"].values())
    assert set(member["Outputs"]) == {"MemberRoleArn"}
    assert member["Parameters"]["Deployment"]["Default"] == "member"
    assert {"OrgRole", "OrgId", "HomeAccountId", "HomeRoleNames"} <= set(member["Parameters"])
    assert "StateTableName" not in member["Parameters"] and "ConfigFile" not in member["Parameters"]
    assert set(member["Rules"]) == {"MemberNamesItsHome", "OrgIdWithOrgRole"}
    assert set(member["Conditions"]) == {"IsMember", "IsHome", "HoldsStores", "CreatesBackupRole", "MultiAccount"}


def test_a_deploy_is_refused_by_the_templates_rules_and_parameters(endpoint: str, tmp_path: Path) -> None:
    binaries = _binaries(tmp_path)
    refused = [
        ({"Deployment": "recovery", "EvidenceLockDays": "1"}, "needs StateTableName"),
        ({"Deployment": "recovery", "StateTableName": "bulwark-InventoryTable"}, "EvidenceLockDays must be at least 1"),
        ({"Deployment": "elsewhere"}, "Deployment: 'elsewhere' is not one of"),
        ({"StateReplicaRegions": "us-west-2,eu-west-1,ap-south-1,eu-north-1"}, "StateReplicaRegions"),
        ({"OrgRole": "Member"}, "OrgRole needs OrgId"),
        ({"Deployment": "member", "OrgRole": "Member", "OrgId": "o-aaaaaaaaaa"}, "needs HomeAccountId"),
        ({"Deployment": "member", "HomeAccountId": "111111111111"}, "makes the organization role, named by OrgRole"),
        ({"Nonsense": "1"}, "parameter Nonsense is not in the template"),
    ]
    for parameters, error in refused:
        status, answer = _deploy(endpoint, _account(), "us-west-2", binaries, **parameters)
        assert status == 400, (parameters, answer)
        assert error in answer["Error"], (parameters, answer)


def test_a_deploy_without_the_functions_binaries_names_the_function(endpoint: str, tmp_path: Path) -> None:
    status, answer = _post(endpoint, "/moto-api/bulwark/template/deploy",
                           {"account": _account(), "region": "us-east-1", "binaries": str(tmp_path / "none")})
    assert status == 400
    assert "DiscoverFunction: no binary" in answer["Error"], answer


def test_a_function_that_cannot_start_fails_its_execution_with_the_runtimes_error(endpoint: str, aws: Any, tmp_path: Path) -> None:
    # Given the system deployed with functions that exit at start, as a bad environment makes them
    for name in ("discover", "classify", "assign-policy", "validate-restore", "failover"):
        binary = tmp_path / name
        binary.write_text("#!/bin/sh\necho 'invalid configuration: BULWARK_REGIONS=\"mars\"' >&2\nexit 1\n")
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    account = _account()
    status, deployed = _post(endpoint, "/moto-api/bulwark/template/deploy",
                             {"account": account, "region": "us-east-1", "binaries": str(tmp_path)})
    assert status == 200, deployed

    # When the sweep's schedule fires
    rule = deployed["rules"]["DiscoverAndClassifyFullSweep"]["name"]
    status, fired = _post(endpoint, "/moto-api/bulwark/events/fire", {"account": account, "region": "us-east-1", "rule": rule})
    assert status == 200, fired

    # Then the execution fails, promptly, with the runtime's error and the function's words
    admin = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{iam.ADMIN_ROLE}", RoleSessionName="test")["Credentials"]
    sfn = aws("stepfunctions", credentials={
        "aws_access_key_id": admin["AccessKeyId"], "aws_secret_access_key": admin["SecretAccessKey"],
        "aws_session_token": admin["SessionToken"],
    })
    machine = deployed["state_machines"]["DiscoverAndClassify"]
    deadline = time.time() + 30
    while time.time() < deadline:
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        if executions and executions[0]["status"] != "RUNNING":
            break
        time.sleep(0.1)
    done = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert done["status"] == "FAILED", done
    assert "Runtime.ExitError" in json.dumps(done, default=str), done
    assert "BULWARK_REGIONS" in done.get("cause", ""), done
