"""AWS Config's advanced query on the local AWS: configuration items made from moto's own
resources where a recorder records them, the SQL subset Bulwark sends, paging, and
aggregators over authorized accounts."""

from __future__ import annotations

import json
import random
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError
from bulwark_local import config_query, iam

REGION = "us-east-1"
OTHER = "eu-west-1"
QUERY = "SELECT resourceId, resourceName, resourceType, accountId, awsRegion, tags, configuration WHERE resourceType IN ('AWS::DynamoDB::Table', 'AWS::EC2::Volume')"


def _account(aws: Callable[..., Any]) -> Callable[..., Any]:
    """Clients of a fresh account, as its administrator."""
    account = str(random.randint(300_000_000_000, 399_999_999_999))
    creds = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{iam.ADMIN_ROLE}", RoleSessionName="config-test")["Credentials"]
    credentials = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }

    def client(service: str, region: str = REGION) -> Any:
        return aws(service, region, credentials=credentials)

    client.account = account  # type: ignore[attr-defined]
    return client


def _record(client: Callable[..., Any], region: str, types: list[str] | None = None) -> None:
    config = client("config", region)
    group: dict[str, Any] = {"allSupported": True} if types is None else {"allSupported": False, "resourceTypes": types}
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::123456789012:role/config", "recordingGroup": group})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def _table(client: Callable[..., Any], region: str, name: str, tags: dict[str, str]) -> None:
    client("dynamodb", region).create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def _all(call: Callable[..., dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    rows, token = [], None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        rows.extend(json.loads(r) for r in page["Results"])
        token = page.get("NextToken")
        if not token:
            return rows


def test_items_exist_only_where_a_recorder_records_and_follow_the_resources(aws: Callable[..., Any]) -> None:
    client = _account(aws)
    _table(client, REGION, "orders", {"DataClassification": "Critical"})
    config = client("config")
    # Not recording yet: nothing
    assert config.select_resource_config(Expression=QUERY)["Results"] == []
    _record(client, REGION)
    rows = _all(config.select_resource_config, Expression=QUERY)
    assert [(r["resourceType"], r["resourceName"], r["accountId"], r["awsRegion"]) for r in rows] == [
        ("AWS::DynamoDB::Table", "orders", client.account, REGION)  # type: ignore[attr-defined]
    ]
    assert rows[0]["tags"] == [{"key": "DataClassification", "value": "Critical", "tag": "DataClassification=Critical"}]
    assert rows[0]["configuration"]["tableName"] == "orders"
    # A volume appears, a table goes: the items follow
    client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    client("dynamodb").delete_table(TableName="orders")
    kinds = [r["resourceType"] for r in _all(config.select_resource_config, Expression=QUERY)]
    assert kinds == ["AWS::EC2::Volume"]


def test_a_recording_group_of_some_types_records_only_those(aws: Callable[..., Any]) -> None:
    client = _account(aws)
    _table(client, REGION, "orders", {})
    client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    _record(client, REGION, ["AWS::EC2::Volume"])
    kinds = [r["resourceType"] for r in _all(client("config").select_resource_config, Expression=QUERY)]
    assert kinds == ["AWS::EC2::Volume"]


def test_results_page_by_the_limit(aws: Callable[..., Any]) -> None:
    client = _account(aws)
    for n in range(5):
        _table(client, REGION, f"table-{n}", {})
    _record(client, REGION)
    config = client("config")
    first = config.select_resource_config(Expression=QUERY, Limit=2)
    assert len(first["Results"]) == 2 and "NextToken" in first
    assert len(_all(config.select_resource_config, Expression=QUERY, Limit=2)) == 5


@pytest.mark.parametrize(
    "expression",
    [
        "SELECT resourceId",
        "SELECT resourceId WHERE resourceName = 'x'",
        "SELECT nonsense WHERE resourceType = 'AWS::DynamoDB::Table'",
        "SELECT resourceId WHERE resourceType LIKE 'AWS::%'",
        "SELECT resourceId WHERE accountId = '123456789012'",
        "SELECT resourceId WHERE resourceType IN (AWS::DynamoDB::Table)",
    ],
)
def test_expressions_outside_the_subset_are_refused(aws: Callable[..., Any], expression: str) -> None:
    with pytest.raises(ClientError) as refused:
        aws("config").select_resource_config(Expression=expression)
    assert refused.value.response["Error"]["Code"] == "InvalidExpressionException"


def _aggregated(aws: Callable[..., Any]) -> tuple[Any, Any, Any]:
    """Three accounts; the first's aggregator "estate" over all three in both regions, of which
    only the second has authorized it, and only in OTHER."""
    home, member, stranger = _account(aws), _account(aws), _account(aws)
    member("config", OTHER).put_aggregation_authorization(AuthorizedAccountId=home.account, AuthorizedAwsRegion=REGION)  # type: ignore[attr-defined]
    accounts = [c.account for c in (home, member, stranger)]  # type: ignore[attr-defined]
    home("config").put_configuration_aggregator(
        ConfigurationAggregatorName="estate",
        AccountAggregationSources=[{"AccountIds": accounts, "AwsRegions": [REGION, OTHER]}],
    )
    return home, member, stranger


def test_an_aggregator_sees_its_own_and_authorized_accounts_only(aws: Callable[..., Any]) -> None:
    home, member, stranger = _aggregated(aws)
    for client, name in ((home, "home-table"), (member, "member-table"), (stranger, "stranger-table")):
        _table(client, OTHER, name, {})
        _record(client, OTHER)
    config = home("config")
    rows = _all(config.select_aggregate_resource_config, Expression=QUERY, ConfigurationAggregatorName="estate")
    assert sorted((r["accountId"], r["resourceName"]) for r in rows) == sorted(
        [(home.account, "home-table"), (member.account, "member-table")]  # type: ignore[attr-defined]
    )
    only_member = _all(
        config.select_aggregate_resource_config,
        Expression=QUERY + f" AND accountId = '{member.account}'",  # type: ignore[attr-defined]
        ConfigurationAggregatorName="estate",
    )
    assert [r["resourceName"] for r in only_member] == ["member-table"]
    with pytest.raises(ClientError) as missing:
        config.select_aggregate_resource_config(Expression=QUERY, ConfigurationAggregatorName="nope")
    assert missing.value.response["Error"]["Code"] == "NoSuchConfigurationAggregatorException"


def test_an_aggregators_sources_report_which_accounts_and_regions_it_reads(aws: Callable[..., Any]) -> None:
    home, member, stranger = _aggregated(aws)
    config = home("config")
    statuses, token = [], None
    while True:
        page = config.describe_configuration_aggregator_sources_status(
            ConfigurationAggregatorName="estate", Limit=2, **({"NextToken": token} if token else {})
        )
        assert len(page["AggregatedSourceStatusList"]) <= 2
        statuses.extend(page["AggregatedSourceStatusList"])
        token = page.get("NextToken")
        if not token:
            break
    by_scope = {(s["SourceId"], s["AwsRegion"]): s["LastUpdateStatus"] for s in statuses}
    assert by_scope == {
        (home.account, REGION): "SUCCEEDED", (home.account, OTHER): "SUCCEEDED",  # type: ignore[attr-defined]
        (member.account, REGION): "FAILED", (member.account, OTHER): "SUCCEEDED",  # type: ignore[attr-defined]
        (stranger.account, REGION): "FAILED", (stranger.account, OTHER): "FAILED",  # type: ignore[attr-defined]
    }
    failed = config.describe_configuration_aggregator_sources_status(ConfigurationAggregatorName="estate", UpdateStatus=["FAILED"])
    assert {s["LastUpdateStatus"] for s in failed["AggregatedSourceStatusList"]} == {"FAILED"}
    assert all(s["LastErrorCode"] for s in failed["AggregatedSourceStatusList"])
    with pytest.raises(ClientError) as bad:
        config.describe_configuration_aggregator_sources_status(ConfigurationAggregatorName="estate", Limit=101)
    assert bad.value.response["Error"]["Code"] in {"ValidationException", "InvalidLimitException"}


def test_the_subset_parses_fields_and_conditions() -> None:
    fields, conditions = config_query.parse(
        "SELECT resourceId, configuration WHERE resourceType = 'AWS::S3::Bucket' AND awsRegion IN ('us-east-1', 'eu-west-1')"
    )
    assert fields == ["resourceId", "configuration"]
    assert conditions == {"resourceType": {"AWS::S3::Bucket"}, "awsRegion": {"us-east-1", "eu-west-1"}}


def test_evaluations_need_a_token_the_local_aws_gave_and_an_unknown_rule_is_refused(aws: Callable[..., Any], endpoint: str) -> None:
    import urllib.error
    import urllib.request

    client = _account(aws)
    with pytest.raises(ClientError) as refused:
        client("config").put_evaluations(
            Evaluations=[{"ComplianceResourceType": "AWS::S3::Bucket", "ComplianceResourceId": "b", "ComplianceType": "COMPLIANT",
                          "OrderingTimestamp": 0}],
            ResultToken="not-a-token",
        )
    assert refused.value.response["Error"]["Code"] == "InvalidResultTokenException"
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/config/evaluate",
        data=json.dumps({"account": client.account, "region": REGION, "rule": "nope"}).encode(),  # type: ignore[attr-defined]
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(request)
    assert missing.value.code == 400
