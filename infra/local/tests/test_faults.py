"""Fault injection's region outages: `"service": "*"` fails every call signed for the region,
but those of the services `except_services` spares; the global control planes (IAM, STS's
global endpoint, Route 53, Organizations) are signed for us-east-1 too."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from test_iam import Account

GLOBAL = ["iam", "route53", "sts", "organizations"]


def _faults(endpoint: str, method: str, body: dict[str, Any] | None = None, query: str = "") -> dict[str, Any]:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/faults{query}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _outage(account: str, **extra: Any) -> dict[str, Any]:
    return {"account": account, "service": "*", "region": "us-east-1", "status": 503, "code": "ServiceUnavailable",
            "message": "Service unavailable", **extra}


def _fails(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_region_outage_fails_every_regional_endpoint_and_spares_the_global_control_planes(aws: Any, endpoint: str) -> None:
    account = Account(aws)
    east = {s: account.client(s, region="us-east-1") for s in ("dynamodb", "ec2", "s3", "iam", "sts", "route53")}
    west = {s: account.client(s, region="us-west-2") for s in ("dynamodb", "ec2")}
    _faults(endpoint, "POST", _outage(account.id, except_services=GLOBAL))
    try:
        # Every regional service of us-east-1 answers the fault, in its own protocol.
        assert _fails(lambda: east["dynamodb"].list_tables()) == ("ServiceUnavailable", 503)  # json
        assert _fails(lambda: east["ec2"].describe_volumes()) == ("ServiceUnavailable", 503)  # ec2
        assert _fails(lambda: east["s3"].list_buckets()) == ("ServiceUnavailable", 503)  # rest-xml
        # The same calls signed for us-west-2 succeed.
        west["dynamodb"].list_tables()
        west["ec2"].describe_volumes()
        # The excepted services, signed for us-east-1, succeed.
        east["iam"].list_roles()
        east["sts"].get_caller_identity()
        east["route53"].list_hosted_zones()
        # Another account's calls are not this account's outage.
        aws("dynamodb", "us-east-1").list_tables()
    finally:
        _faults(endpoint, "DELETE", query=f"?account={account.id}")
    east["dynamodb"].list_tables()
    east["ec2"].describe_volumes()


def test_a_region_outage_without_exceptions_takes_the_global_endpoints_down_too(aws: Any, endpoint: str) -> None:
    account = Account(aws)
    iam = account.client("iam", region="us-east-1")
    sts = account.client("sts", region="us-east-1")
    _faults(endpoint, "POST", _outage(account.id))
    try:
        assert _fails(lambda: iam.list_roles()) == ("ServiceUnavailable", 503)  # query
        assert _fails(lambda: sts.get_caller_identity()) == ("ServiceUnavailable", 503)
        account.client("dynamodb", region="us-west-2").list_tables()
    finally:
        _faults(endpoint, "DELETE", query=f"?account={account.id}")
    iam.list_roles()
    sts.get_caller_identity()


def test_except_services_must_be_a_list_of_names(aws: Any, endpoint: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        _faults(endpoint, "POST", _outage("123456789012", except_services="iam"))
    assert err.value.code == 400


def test_a_hang_after_a_record_change_holds_the_next_write_until_the_fault_is_deleted(aws: Any, endpoint: str) -> None:
    # Given an account with a table and a hosted zone, and a hang of its DynamoDB writes that
    # wakes on its first Route 53 record change
    account = Account(aws)
    ddb = account.client("dynamodb")
    ddb.create_table(TableName="state", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    route53 = account.client("route53")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="hang")["HostedZone"]["Id"]
    _faults(endpoint, "POST", {"account": account.id, "service": "dynamodb", "operation": "PutItem", "mode": "hang",
                               "after": {"service": "route53", "operation": "ChangeResourceRecordSets"}})

    # Then writes before the record change are answered
    ddb.put_item(TableName="state", Item={"pk": {"S": "before"}})
    route53.list_resource_record_sets(HostedZoneId=zone)

    # When the record changes, the next write is held (in the background)
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": "a.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "b.example.com"}]}}]})
    answer: dict[str, Any] = {}

    def write() -> None:
        try:
            ddb.put_item(TableName="state", Item={"pk": {"S": "after"}})
            answer["code"] = "answered"
        except ClientError as err:
            answer["code"] = err.response["Error"]["Code"]

    # (one attempt only: the SDK would retry the 503 the release answers)
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint,
                       config=Config(retries={"total_max_attempts": 1}), **account.admin)
    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = _faults(endpoint, "GET", query=f"?account={account.id}")["faults"]
        if listed and listed[0].get("hung") == 1:
            break
        time.sleep(0.05)
    assert listed[0]["hung"] == 1, listed
    assert writer.is_alive() and not answer

    # Then deleting the fault releases it, unwritten
    _faults(endpoint, "DELETE", query=f"?account={account.id}")
    writer.join(10)
    assert answer["code"] == "ServiceUnavailable"
    assert "Item" not in ddb.get_item(TableName="state", Key={"pk": {"S": "after"}})
    assert "Item" in ddb.get_item(TableName="state", Key={"pk": {"S": "before"}})


def test_a_hang_of_writes_containing_a_key_holds_only_those_and_is_released_by_its_name(aws: Any, endpoint: str) -> None:
    # Given an account with a table, and two named hangs, each of the writes naming one key
    account = Account(aws)
    admin = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint, **account.admin)
    admin.create_table(TableName="state", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    for name in ("end", "abort"):
        _faults(endpoint, "POST", {"account": account.id, "service": "dynamodb", "operation": "TransactWriteItems",
                                   "mode": "hang", "contains": f"run#{name}", "name": name})
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint,
                       config=Config(retries={"total_max_attempts": 1}), **account.admin)
    answers: dict[str, str] = {}

    def write(key: str) -> None:
        try:
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "state", "Item": {"pk": {"S": key}}}}])
            answers[key] = "answered"
        except ClientError as err:
            answers[key] = err.response["Error"]["Code"]

    # When a write names neither key, it is answered
    write("run#step")
    assert answers == {"run#step": "answered"}

    # When each held key is written (in the background)
    writers = {key: threading.Thread(target=write, args=(key,)) for key in ("run#end", "run#abort")}
    for writer in writers.values():
        writer.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = _faults(endpoint, "GET", query=f"?account={account.id}")["faults"]
        if [f.get("hung") for f in listed] == [1, 1]:
            break
        time.sleep(0.05)
    assert [f.get("hung") for f in listed] == [1, 1], listed

    # Then deleting one hang by its name releases its write alone
    _faults(endpoint, "DELETE", query=f"?account={account.id}&name=end")
    writers["run#end"].join(10)
    assert answers.get("run#end") == "ServiceUnavailable"
    assert writers["run#abort"].is_alive() and "run#abort" not in answers
    assert [f["name"] for f in _faults(endpoint, "GET", query=f"?account={account.id}")["faults"]] == ["abort"]
    _faults(endpoint, "DELETE", query=f"?account={account.id}")
    writers["run#abort"].join(10)
    assert answers.get("run#abort") == "ServiceUnavailable"


def test_a_fault_of_a_route53_record_operation_matches_that_rest_call_alone(aws: Any, endpoint: str) -> None:
    # Given a hosted zone, and a fault of its record changes (a REST call, named by its path)
    account = Account(aws)
    route53 = account.client("route53")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="rest")["HostedZone"]["Id"]
    _faults(endpoint, "POST", {"account": account.id, "service": "route53", "operation": "ChangeResourceRecordSets",
                               "status": 400, "code": "Throttling", "message": "Rate exceeded", "count": 1})

    # Then the listing is answered, and the change fails with the fault
    route53.list_resource_record_sets(HostedZoneId=zone)
    change = {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": "a.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "b.example.com"}]}}]}
    once = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint,
                        config=Config(retries={"total_max_attempts": 1}), **account.admin)
    assert _fails(lambda: once.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=change))[0] == "Throttling"
    _faults(endpoint, "DELETE", query=f"?account={account.id}")
