"""DynamoDB global tables, version 2019.11.21: replicas made with UpdateTable's ReplicaUpdates,
items replicated after a lag with last writer wins, conditions evaluated against the local
replica, the refusals AWS documents, DescribeTable's members, and IAM for replica updates.
Every DynamoDB answer here is checked against the model as strictly as the Rust SDK parses it."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import _strict, unique
from test_iam import Account

EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"
KEY = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}


def _control(endpoint: str, path: str = "", body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/dynamodb/replication{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def lag(endpoint: str) -> Iterator[Callable[[float], dict[str, Any]]]:
    """lag(seconds) sets the replication lag; the default is put back afterwards."""
    before = _control(endpoint)["lag_seconds"]
    yield lambda seconds: _control(endpoint, body={"lag_seconds": seconds})
    _control(endpoint, "/flush", {})
    _control(endpoint, body={"lag_seconds": before})


@pytest.fixture
def flush(endpoint: str) -> Callable[[], dict[str, Any]]:
    return lambda: _control(endpoint, "/flush", {})


@pytest.fixture
def ddb(aws: Any) -> Callable[..., Any]:
    """ddb(region, credentials=None) -> a DynamoDB client whose answers are checked strictly."""

    def client(region: str, credentials: dict[str, str] | None = None) -> Any:
        made = aws("dynamodb", region, credentials=credentials)
        made.meta.events.register("after-call.dynamodb", _strict)
        return made

    return client


def _refused(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"].get("Message", "")


def _global_table(ddb: Callable[..., Any], *regions: str, **extra: Any) -> str:
    name = unique("global")
    ddb(EAST).create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **KEY, **extra)
    for region in regions:
        ddb(EAST).update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": region}}])
    return name


def _item(client: Any, name: str, pk: str) -> dict[str, Any] | None:
    return client.get_item(TableName=name, Key={"pk": {"S": pk}}).get("Item")


def test_a_replica_has_the_tables_settings_and_items(ddb: Callable[..., Any]) -> None:
    east, west = ddb(EAST), ddb(WEST)
    name = unique("global")
    east.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "arn", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "arn-index", "KeySchema": [{"AttributeName": "arn", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        SSESpecification={"Enabled": True},
        Tags=[{"Key": "team", "Value": "a"}],
    )
    for n in range(3):
        east.put_item(TableName=name, Item={"pk": {"S": f"k{n}"}, "arn": {"S": f"arn:{n}"}, "blob": {"B": bytes([n, 255])}})
    assert "Replicas" not in east.describe_table(TableName=name)["Table"]

    answer = east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])["TableDescription"]
    both = [{"RegionName": EAST, "ReplicaStatus": "ACTIVE"}, {"RegionName": WEST, "ReplicaStatus": "ACTIVE"}]
    assert answer["GlobalTableVersion"] == "2019.11.21"
    assert answer["Replicas"] == both
    # A table without a stream gets NEW_AND_OLD_IMAGES: MREC replication reads it.
    assert answer["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}

    source, replica = east.describe_table(TableName=name)["Table"], west.describe_table(TableName=name)["Table"]
    for table in (source, replica):
        assert table["GlobalTableVersion"] == "2019.11.21"
        assert table["Replicas"] == both
        assert table["TableStatus"] == "ACTIVE"
    for member in ("KeySchema", "AttributeDefinitions", "BillingModeSummary", "StreamSpecification"):
        assert replica[member] == source[member], member
    assert [i["IndexName"] for i in replica["GlobalSecondaryIndexes"]] == ["arn-index"]
    assert replica["SSEDescription"]["Status"] == "ENABLED"
    assert f":{WEST}:" in replica["SSEDescription"]["KMSMasterKeyArn"]  # the replica Region's own aws/dynamodb key
    assert replica["TableArn"] == source["TableArn"].replace(EAST, WEST)
    # Tags are never synchronized.
    assert west.list_tags_of_resource(ResourceArn=replica["TableArn"])["Tags"] == []
    items = sorted(west.scan(TableName=name)["Items"], key=lambda i: i["pk"]["S"])
    assert items == [{"pk": {"S": f"k{n}"}, "arn": {"S": f"arn:{n}"}, "blob": {"B": bytes([n, 255])}} for n in range(3)]
    assert west.query(TableName=name, IndexName="arn-index", KeyConditionExpression="arn = :a",
                      ExpressionAttributeValues={":a": {"S": "arn:1"}})["Count"] == 1


def test_a_write_reaches_the_other_replica_after_the_lag(ddb: Callable[..., Any], lag: Any, endpoint: str) -> None:
    east, west = ddb(EAST), ddb(WEST)
    name = _global_table(ddb, WEST)
    lag(0.6)
    east.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    assert _item(west, name, "a") is None
    assert _control(endpoint)["pending"] >= 1
    deadline = time.time() + 5
    while _item(west, name, "a") is None:
        assert time.time() < deadline, "not replicated within 5 s"
        time.sleep(0.05)
    assert _item(west, name, "a") == {"pk": {"S": "a"}, "v": {"N": "1"}}


def test_every_kind_of_write_replicates_both_ways_when_flushed(ddb: Callable[..., Any], lag: Any, flush: Any) -> None:
    east, west = ddb(EAST), ddb(WEST)
    name = _global_table(ddb, WEST)
    lag(60)
    east.put_item(TableName=name, Item={"pk": {"S": "put"}})
    east.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": "batch"}}}}]})
    east.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": {"pk": {"S": "tx"}}}}])
    east.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'partiql'}}")
    assert west.scan(TableName=name)["Count"] == 0
    assert flush()["pending"] == 0
    assert sorted(i["pk"]["S"] for i in west.scan(TableName=name)["Items"]) == ["batch", "partiql", "put", "tx"]

    # An update in us-west-2 replicates back, as the item's whole state after the update.
    west.update_item(TableName=name, Key={"pk": {"S": "put"}}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "7"}})
    west.delete_item(TableName=name, Key={"pk": {"S": "batch"}})
    assert _item(east, name, "put") == {"pk": {"S": "put"}}
    flush()
    assert _item(east, name, "put") == {"pk": {"S": "put"}, "n": {"N": "7"}}
    assert _item(east, name, "batch") is None

    # A cancelled transaction replicates nothing.
    with pytest.raises(ClientError):
        east.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "never"}}}},
            {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "absent"}}, "ConditionExpression": "attribute_exists(pk)"}},
        ])
    assert flush()["applied"] == 0
    assert _item(west, name, "never") is None


def test_the_last_writer_wins(ddb: Callable[..., Any], lag: Any, flush: Any) -> None:
    east, west = ddb(EAST), ddb(WEST)
    name = _global_table(ddb, WEST)
    lag(60)
    east.put_item(TableName=name, Item={"pk": {"S": "k"}, "by": {"S": "east"}})
    west.put_item(TableName=name, Item={"pk": {"S": "k"}, "by": {"S": "west"}, "extra": {"S": "x"}})
    # Another key, written the other way round.
    west.put_item(TableName=name, Item={"pk": {"S": "j"}, "by": {"S": "west"}})
    east.delete_item(TableName=name, Key={"pk": {"S": "j"}})
    east.put_item(TableName=name, Item={"pk": {"S": "j"}, "by": {"S": "east"}})
    flush()
    for client in (east, west):
        assert _item(client, name, "k") == {"pk": {"S": "k"}, "by": {"S": "west"}, "extra": {"S": "x"}}
        assert _item(client, name, "j") == {"pk": {"S": "j"}, "by": {"S": "east"}}


def test_a_conditional_put_is_evaluated_against_the_local_replica_only(ddb: Callable[..., Any], lag: Any, flush: Any) -> None:
    """The same lock taken in both regions before replication: both conditional puts succeed,
    and the later one then wins in both. A lock must therefore have one writer region."""
    east, west = ddb(EAST), ddb(WEST)
    name = _global_table(ddb, WEST)
    lag(60)
    take = {"ConditionExpression": "attribute_not_exists(pk)"}
    east.put_item(TableName=name, Item={"pk": {"S": "lock"}, "owner": {"S": "east"}}, **take)
    west.put_item(TableName=name, Item={"pk": {"S": "lock"}, "owner": {"S": "west"}}, **take)
    assert _item(east, name, "lock")["owner"] == {"S": "east"}
    assert _item(west, name, "lock")["owner"] == {"S": "west"}
    flush()
    assert _item(east, name, "lock")["owner"] == {"S": "west"}
    assert _item(west, name, "lock")["owner"] == {"S": "west"}
    code, _ = _refused(lambda: east.put_item(TableName=name, Item={"pk": {"S": "lock"}, "owner": {"S": "east"}}, **take))
    assert code == "ConditionalCheckFailedException"


def test_replica_updates_aws_refuses_are_refused(ddb: Callable[..., Any], aws: Any) -> None:
    east, west = ddb(EAST), ddb(WEST)
    name = _global_table(ddb, WEST)

    def create(region: str, table: str = name, **extra: Any) -> tuple[str, str]:
        return _refused(lambda: east.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region, **extra}}]))

    local = "Cannot add, delete, or update the local region through ReplicaUpdates. Use CreateTable, DeleteTable, or UpdateTable as required."
    assert create(EAST) == ("ValidationException", local)
    assert _refused(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": EAST}}])) == ("ValidationException", local)
    assert create(WEST)[0] == "ValidationException"  # already a replica
    assert create("xx-nowhere-1")[0] == "ValidationException"
    assert _refused(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": EU}}]))[0] == "ValidationException"

    # A table of that name in the target Region.
    other = unique("taken")
    east.create_table(TableName=other, BillingMode="PAY_PER_REQUEST", **KEY)
    ddb(EU).create_table(TableName=other, BillingMode="PAY_PER_REQUEST", **KEY)
    assert create(EU, other)[0] == "ValidationException"

    # Provisioned capacity without write auto scaling.
    provisioned = unique("provisioned")
    east.create_table(TableName=provisioned, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}, **KEY)
    assert create(WEST, provisioned) == ("ValidationException", "Table write capacity should either be Pay-Per-Request or AutoScaled.")
    aws("application-autoscaling", EAST).register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId=f"table/{provisioned}", ScalableDimension="dynamodb:table:WriteCapacityUnits",
        MinCapacity=5, MaxCapacity=50,
    )
    east.update_table(TableName=provisioned, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    assert west.describe_table(TableName=provisioned)["Table"]["ProvisionedThroughput"]["WriteCapacityUnits"] == 5

    # A customer managed key is Regional: each replica names its own.
    kms_east, kms_west = aws("kms", EAST), aws("kms", WEST)
    key = kms_east.create_key()["KeyMetadata"]["Arn"]
    encrypted = unique("cmk")
    east.create_table(TableName=encrypted, BillingMode="PAY_PER_REQUEST", SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}, **KEY)
    assert create(WEST, encrypted) == ("ValidationException", "One or more parameter values were invalid: KMSMasterKeyId must be specified for each replica.")
    west_key = kms_west.create_key()["KeyMetadata"]["Arn"]
    east.update_table(TableName=encrypted, ReplicaUpdates=[{"Create": {"RegionName": WEST, "KMSMasterKeyId": west_key}}])
    assert west.describe_table(TableName=encrypted)["Table"]["SSEDescription"]["KMSMasterKeyArn"] == west_key

    # A replica's stream cannot be disabled; settings updates not emulated are refused loudly.
    stream = "One or more parameter values were invalid: Disabling Stream is not allowed for a Global Table replica."
    assert _refused(lambda: west.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})) == ("ValidationException", stream)
    code, message = _refused(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Update": {"RegionName": WEST}}]))
    assert code == "ValidationException" and message.startswith("local AWS:")
    # Nothing of that changed the table.
    assert [r["RegionName"] for r in east.describe_table(TableName=name)["Table"]["Replicas"]] == [EAST, WEST]


def test_a_keys_only_stream_stays_and_removing_the_last_replica_keeps_the_stream(ddb: Callable[..., Any]) -> None:
    east, west = ddb(EAST), ddb(WEST)
    name = _global_table(ddb, WEST, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert west.describe_table(TableName=name)["Table"]["StreamSpecification"]["StreamViewType"] == "KEYS_ONLY"
    east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": WEST}}])
    assert _refused(lambda: west.describe_table(TableName=name))[0] == "ResourceNotFoundException"
    table = east.describe_table(TableName=name)["Table"]
    assert "Replicas" not in table and "GlobalTableVersion" not in table
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}


def test_deleting_a_replicas_table_removes_that_replica_only_and_a_source_is_held_for_24_hours(
    ddb: Callable[..., Any], lag: Any, flush: Any
) -> None:
    east, west, eu = ddb(EAST), ddb(WEST), ddb(EU)
    name = _global_table(ddb, WEST, EU)
    held = "Replica cannot be deleted because it has acted as a source Region for new replica(s) being added to the table in the last 24 hours."
    assert _refused(lambda: east.delete_table(TableName=name)) == ("ValidationException", held)
    west.delete_table(TableName=name)
    replicas = [{"RegionName": EAST, "ReplicaStatus": "ACTIVE"}, {"RegionName": EU, "ReplicaStatus": "ACTIVE"}]
    assert east.describe_table(TableName=name)["Table"]["Replicas"] == replicas
    assert eu.describe_table(TableName=name)["Table"]["Replicas"] == replicas
    lag(60)
    east.put_item(TableName=name, Item={"pk": {"S": "after"}})
    flush()
    assert _item(eu, name, "after") is not None
    assert name not in west.list_tables()["TableNames"]


def test_replica_updates_need_the_documented_permissions(aws: Any) -> None:
    account = Account(aws)
    name = "inventory"
    account.client("dynamodb").create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **KEY)
    arns = [f"arn:aws:dynamodb:{r}:{account.id}:table/{name}" for r in (EAST, WEST)]
    table_actions = ["dynamodb:UpdateTable", "dynamodb:CreateTable", "dynamodb:CreateTableReplica", "dynamodb:Query", "dynamodb:Scan",
                     "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
    slr = f"arn:aws:iam::{account.id}:role/aws-service-role/replication.dynamodb.amazonaws.com/AWSServiceRoleForDynamoDBReplication"
    add = {"ReplicaUpdates": [{"Create": {"RegionName": WEST}}]}

    only_update = account.role("only-update", {"Effect": "Allow", "Action": "dynamodb:UpdateTable", "Resource": arns[0]})
    code, message = _refused(lambda: account.client("dynamodb", only_update).update_table(TableName=name, **add))
    assert code == "AccessDeniedException" and f"dynamodb:CreateTable on resource: {arns[1]}" in message

    every_region = f"arn:aws:dynamodb:*:{account.id}:table/{name}"
    no_slr = account.role("no-slr", {"Effect": "Allow", "Action": table_actions + ["dynamodb:DeleteTable", "dynamodb:DeleteTableReplica"],
                                     "Resource": every_region})
    code, message = _refused(lambda: account.client("dynamodb", no_slr).update_table(TableName=name, **add))
    assert code == "AccessDeniedException" and f"iam:CreateServiceLinkedRole on resource: {slr}" in message

    # The replica Region's actions are requested in that Region (aws:RequestedRegion).
    documented = account.role(
        "documented",
        {"Effect": "Allow", "Action": "dynamodb:UpdateTable", "Resource": arns[0]},
        {"Effect": "Allow", "Action": table_actions[1:], "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": WEST}}},
        {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": slr,
         "Condition": {"StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}}},
    )
    account.client("dynamodb", documented).update_table(TableName=name, **add)
    assert account.client("iam").get_role(RoleName="AWSServiceRoleForDynamoDBReplication")["Role"]["Arn"] == slr
    # Once the role exists, no iam:CreateServiceLinkedRole is needed.
    account.client("dynamodb", no_slr).update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EU}}])
    remove_eu = {"ReplicaUpdates": [{"Delete": {"RegionName": EU}}]}
    code, message = _refused(lambda: account.client("dynamodb", only_update).update_table(TableName=name, **remove_eu))
    assert f"dynamodb:DeleteTable on resource: arn:aws:dynamodb:{EU}:{account.id}:table/{name}" in message
    account.client("dynamodb", no_slr).update_table(TableName=name, **remove_eu)


def test_the_lag_is_set_and_read_at_run_time(endpoint: str, lag: Any) -> None:
    assert lag(1.5) == {"lag_seconds": 1.5, "pending": _control(endpoint)["pending"]}
    assert _control(endpoint)["lag_seconds"] == 1.5
    with pytest.raises(urllib.error.HTTPError) as err:
        _control(endpoint, body={"lag_seconds": -1})
    assert err.value.code == 400


def test_moto_reset_forgets_replication() -> None:
    """In process: moto's reset (POST /moto-api/reset) empties the extension's state."""
    from bulwark_local import global_tables
    from moto.moto_api._internal.models import moto_api_backend

    global_tables.install()
    group = global_tables.Group("123456789012", "t", [EAST, WEST])
    global_tables._groups[("123456789012", EAST, "t")] = group
    global_tables._stamps[("123456789012", EAST, "t")] = {}
    global_tables._pending.append((time.time() + 60, -1, global_tables.Pending(group, EAST, WEST, None, None, 1.0)))  # type: ignore[arg-type]
    moto_api_backend.reset()
    assert not global_tables._groups and not global_tables._stamps and not global_tables._pending
