"""AWS Config's advanced query for the local AWS: SelectResourceConfig and
SelectAggregateResourceConfig over configuration items of the store kinds Bulwark inventories,
kept in step with moto's own resources (an item is made from the resource when it is asked
for, so it is never stale), where a configuration recorder records them.

moto answers SelectResourceConfig only with results set beforehand and has no
SelectAggregateResourceConfig. Here:

- **Recording.** A region's items exist only while one of its configuration recorders is
  recording (PutConfigurationRecorder, StartConfigurationRecorder), for the resource types its
  recording group takes (`allSupported`, or `resourceTypes`, less `exclusionByResourceTypes`).
- **Items.** `AWS::S3::Bucket`, `AWS::RDS::DBInstance`, `AWS::RDS::DBCluster`,
  `AWS::DynamoDB::Table` and `AWS::EC2::Volume`, with the fields AWS documents for configuration
  items: `accountId`, `awsRegion`, `arn`, `resourceType`, `resourceId`, `resourceName`,
  `resourceCreationTime`, `configurationItemCaptureTime`, `configurationItemStatus`, `tags`
  (as the advanced query returns them: `key`, `value`, `tag`), `configuration` (the describe
  call's answer, its keys as Config writes them: `dBInstanceIdentifier`, `allocatedStorage`, …)
  and, for buckets, `supplementaryConfiguration.BucketVersioningConfiguration`.
- **The query.** The subset of the advanced-query SQL Bulwark sends: `SELECT` of top-level
  properties (comma-separated, `configuration` and `tags` whole), `WHERE` of `resourceType`,
  `accountId` and `awsRegion` with `=` or `IN (…)`, joined by `AND`. Anything else is refused
  with `InvalidExpressionException`, as AWS refuses what it cannot parse.
- **Paging.** `Limit` (at most 100, the API's maximum) and `NextToken`, an opaque offset.
- **Aggregators.** An aggregator's account sources (its own account, or accounts that
  authorized it with PutAggregationAuthorization for its account and region), their listed
  regions or every region; an organization source covers every account of the organization.
  A source that has not authorized the aggregator is left out, as AWS leaves it out.
- **Sources' status.** DescribeConfigurationAggregatorSourcesStatus: SUCCEEDED for each account
  source and region the aggregator may read, FAILED (with the error AWS gives) for one that has
  not authorized it; one status per region of an organization source, its SourceId the
  organization's id, as AWS reports it.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any, Iterator

from moto.config.exceptions import InvalidNextTokenException, NoSuchConfigurationAggregatorException
from moto.config.models import config_backends
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import dynamodb_backends
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends

from bulwark_local import item_counts

RESOURCE_TYPES = (
    "AWS::S3::Bucket",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::DynamoDB::Table",
    "AWS::EC2::Volume",
)
FIELDS = (
    "accountId",
    "awsRegion",
    "arn",
    "resourceType",
    "resourceId",
    "resourceName",
    "resourceCreationTime",
    "configurationItemCaptureTime",
    "configurationItemStatus",
    "tags",
    "configuration",
    "supplementaryConfiguration",
)
MAX_LIMIT = 100


class InvalidExpression(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("InvalidExpressionException", message)


class InvalidLimit(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("InvalidLimitException", message)


def _time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    # As precise as the local AWS's describe calls answer it.
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v, "tag": f"{k}={v}"} for k, v in sorted(tags.items())]


def _item(account: str, region: str, resource_type: str, resource_id: str, name: str, arn: str,
          created: Any, tags: dict[str, str], configuration: dict[str, Any],
          supplementary: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "accountId": account,
        "awsRegion": region,
        "arn": arn,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "resourceName": name,
        "resourceCreationTime": _time(created),
        "configurationItemCaptureTime": _time(datetime.now(timezone.utc)),
        "configurationItemStatus": "OK",
        "tags": _tags(tags),
        "configuration": configuration,
        "supplementaryConfiguration": supplementary or {},
    }


def _rds_tags(resource: Any) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in resource.get_tags()}


def _buckets(account: str, region: str) -> Iterator[dict[str, Any]]:
    s3 = s3_backends[account]["aws"]
    for bucket in list(s3.buckets.values()):
        if bucket.region_name != region:
            continue
        tags = s3.tagger.get_tag_dict_for_resource(bucket.arn)
        configuration = {"name": bucket.name, "owner": {"id": account}, "creationDate": bucket.creation_date_ISO8601}
        versioning = {"status": bucket.versioning_status or "Off"}
        yield _item(account, region, "AWS::S3::Bucket", bucket.name, bucket.name, f"arn:aws:s3:::{bucket.name}",
                    bucket.creation_date, tags, configuration, {"BucketVersioningConfiguration": versioning})


def _instances(account: str, region: str) -> Iterator[dict[str, Any]]:
    for db in list(rds_backends[account][region].databases.values()):
        configuration = {
            "dBInstanceIdentifier": db.db_instance_identifier,
            "dBInstanceClass": db.db_instance_class,
            "engine": db.engine,
            "engineVersion": db.engine_version,
            "dBInstanceStatus": db.status,
            "allocatedStorage": db.allocated_storage,
            "instanceCreateTime": _time(db.instance_create_time),
            "backupRetentionPeriod": db.backup_retention_period,
            "storageEncrypted": bool(db.storage_encrypted),
            "kmsKeyId": db.kms_key_id,
            "dBClusterIdentifier": db.db_cluster_identifier,
            "dbiResourceId": db.dbi_resource_id,
            "dBInstanceArn": db.arn,
            "multiAZ": bool(db.multi_az),
            "readReplicaDBInstanceIdentifiers": list(db.read_replica_db_instance_identifiers),
        }
        yield _item(account, region, "AWS::RDS::DBInstance", db.dbi_resource_id, db.db_instance_identifier, db.arn,
                    db.instance_create_time, _rds_tags(db), configuration)


def _clusters(account: str, region: str) -> Iterator[dict[str, Any]]:
    for cluster in list(rds_backends[account][region].clusters.values()):
        configuration = {
            "dBClusterIdentifier": cluster.db_cluster_identifier,
            "engine": cluster.engine,
            "engineVersion": cluster.engine_version,
            "status": cluster.status,
            "allocatedStorage": cluster.allocated_storage,
            "clusterCreateTime": _time(cluster.cluster_create_time),
            "backupRetentionPeriod": cluster.backup_retention_period,
            "storageEncrypted": bool(cluster.storage_encrypted),
            "kmsKeyId": cluster.kms_key_id,
            "dBClusterMembers": [
                {"dBInstanceIdentifier": m["DBInstanceIdentifier"], "isClusterWriter": m["IsClusterWriter"]}
                for m in cluster.db_cluster_members
            ],
            "dbClusterResourceId": cluster.db_cluster_resource_id,
            "dBClusterArn": cluster.arn,
            "multiAZ": bool(cluster.multi_az),
            "readReplicaIdentifiers": list(cluster.read_replica_identifiers),
        }
        yield _item(account, region, "AWS::RDS::DBCluster", cluster.db_cluster_resource_id, cluster.db_cluster_identifier,
                    cluster.arn, cluster.cluster_create_time, _rds_tags(cluster), configuration)


def _tables(account: str, region: str) -> Iterator[dict[str, Any]]:
    dynamodb = dynamodb_backends[account][region]
    for table in list(dynamodb.tables.values()):
        tags = {t["Key"]: t["Value"] for t in table.tags}
        configuration = {
            "tableName": table.name,
            "tableArn": table.table_arn,
            "tableStatus": "ACTIVE",
            "creationDateTime": _time(table.created_at),
            "itemCount": item_counts.reported(table).item_count,  # as DescribeTable reports it
        }
        yield _item(account, region, "AWS::DynamoDB::Table", table.name, table.name, table.table_arn, table.created_at,
                    tags, configuration)


def _volumes(account: str, region: str) -> Iterator[dict[str, Any]]:
    for volume in list(ec2_backends[account][region].volumes.values()):
        tags = {t["key"]: t["value"] for t in volume.get_tags()}
        arn = f"arn:aws:ec2:{region}:{account}:volume/{volume.id}"
        configuration = {
            "volumeId": volume.id,
            "size": volume.size,
            "availabilityZone": volume.zone.name,
            "state": volume.status,
            # To the second, as the local EC2 answers DescribeVolumes (AWS gives milliseconds in both).
            "createTime": volume.create_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "encrypted": bool(volume.encrypted),
            "kmsKeyId": volume.kms_key_id,
            "volumeType": volume.volume_type,
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        }
        yield _item(account, region, "AWS::EC2::Volume", volume.id, volume.id, arn, volume.create_time, tags, configuration)


ITEMS = {
    "AWS::S3::Bucket": _buckets,
    "AWS::RDS::DBInstance": _instances,
    "AWS::RDS::DBCluster": _clusters,
    "AWS::DynamoDB::Table": _tables,
    "AWS::EC2::Volume": _volumes,
}


def recorded_types(account: str, region: str) -> set[str]:
    """The resource types a recording recorder of the region records."""
    recorded: set[str] = set()
    for recorder in config_backends[account][region].recorders.values():
        if not recorder.status.recording:
            continue
        group = recorder.recording_group
        if group is None or group.all_supported:
            types = set(RESOURCE_TYPES)
        else:
            types = set(group.resource_types or [])
        excluded = (group.exclusion_by_resource_types or {}).get("resourceTypes", []) if group else []
        recorded |= types - set(excluded)
    return recorded & set(RESOURCE_TYPES)


# --- The query ---------------------------------------------------------------------------

_QUERY = re.compile(r"^\s*SELECT\s+(?P<fields>.+?)\s+WHERE\s+(?P<where>.+?)\s*$", re.IGNORECASE | re.DOTALL)
_CONDITION = re.compile(
    r"^\s*(?P<field>resourceType|accountId|awsRegion)\s*(?:=\s*'(?P<value>[^']*)'|IN\s*\((?P<values>[^)]*)\))\s*$",
    re.IGNORECASE,
)


def parse(expression: str) -> tuple[list[str], dict[str, set[str]]]:
    """The selected fields and the conditions (field -> accepted values) of an expression."""
    match = _QUERY.match(expression or "")
    if not match:
        raise InvalidExpression("The expression must be SELECT <properties> WHERE <conditions>.")
    fields = [f.strip() for f in match["fields"].split(",")]
    known = {f.lower(): f for f in FIELDS}
    selected = []
    for field in fields:
        if field.lower() not in known:
            raise InvalidExpression(f"Unsupported property in the SELECT clause: {field}")
        selected.append(known[field.lower()])
    conditions: dict[str, set[str]] = {}
    for part in re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE):
        condition = _CONDITION.match(part)
        if not condition:
            raise InvalidExpression(f"Unsupported condition in the WHERE clause: {part.strip()}")
        field = known[condition["field"].lower()]
        if condition["value"] is not None:
            values = {condition["value"]}
        else:
            listed = [v.strip() for v in condition["values"].split(",")]
            if not all(len(v) >= 2 and v.startswith("'") and v.endswith("'") for v in listed):
                raise InvalidExpression(f"IN takes quoted values: {part.strip()}")
            values = {v[1:-1] for v in listed}
        # Two conditions on one field: both hold.
        conditions[field] = conditions[field] & values if field in conditions else values
    if "resourceType" not in conditions:
        raise InvalidExpression("The WHERE clause must name the resourceType.")
    return selected, conditions


def _rows(scopes: list[tuple[str, str]], selected: list[str], conditions: dict[str, set[str]]) -> list[str]:
    rows = []
    for account, region in scopes:
        if "accountId" in conditions and account not in conditions["accountId"]:
            continue
        if "awsRegion" in conditions and region not in conditions["awsRegion"]:
            continue
        recorded = recorded_types(account, region)
        for resource_type in sorted(conditions["resourceType"] & recorded):
            for item in ITEMS[resource_type](account, region):
                rows.append(json.dumps({field: item[field] for field in selected}, default=str))
    return rows


def _page(rows: list[str], limit: int | None, next_token: str | None) -> tuple[list[str], str | None]:
    size = MAX_LIMIT if not limit else limit
    if size < 0 or size > MAX_LIMIT:
        raise InvalidLimit(f"Limit must be between 0 and {MAX_LIMIT}.")
    start = 0
    if next_token:
        try:
            start = int(base64.b64decode(next_token).decode())
        except Exception as err:  # not one of ours
            raise InvalidNextTokenException() from err
    end = start + size
    token = base64.b64encode(str(end).encode()).decode() if end < len(rows) else None
    return rows[start:end], token


def select(account: str, region: str, expression: str, limit: int | None, next_token: str | None) -> dict[str, Any]:
    selected, conditions = parse(expression)
    rows, token = _page(_rows([(account, region)], selected, conditions), limit, next_token)
    answer: dict[str, Any] = {"Results": rows, "QueryInfo": {"SelectFields": [{"Name": f} for f in selected]}}
    if token:
        answer["NextToken"] = token
    return answer


def _aggregator(account: str, region: str, name: str) -> Any:
    backend = config_backends[account][region]
    aggregator = next((a for a in backend.config_aggregators.values() if a.configuration_aggregator_name == name), None)
    if aggregator is None:
        raise NoSuchConfigurationAggregatorException([name])
    return aggregator


def _regions_of(source: Any) -> list[str]:
    if source.all_aws_regions:
        from boto3 import Session

        return Session().get_available_regions("config")
    return list(source.aws_regions or [])


def _organization_accounts(account: str, region: str) -> list[str] | None:
    """The accounts of `account`'s organization; None when it belongs to none."""
    from moto.organizations.models import organizations_backends
    from moto.utilities.utils import get_partition

    organization = organizations_backends[account][get_partition(region)]
    if organization.org is None:
        return None
    return [a.id for a in organization.accounts]


def sources_status(account: str, region: str, name: str, update_status: list[str] | None, limit: int | None,
                   next_token: str | None) -> dict[str, Any]:
    """DescribeConfigurationAggregatorSourcesStatus: one status per account source and region
    (SUCCEEDED when the aggregator's own account or authorized, else FAILED as AWS reports a
    missing authorization), and one per region of an organization source (SourceId: the
    organization)."""
    aggregator = _aggregator(account, region, name)
    now = datetime.now(timezone.utc).timestamp()
    statuses: list[dict[str, Any]] = []
    for source in aggregator.account_aggregation_sources or []:
        for source_account in source.account_ids:
            for source_region in _regions_of(source):
                status: dict[str, Any] = {"SourceId": source_account, "SourceType": "ACCOUNT",
                                          "AwsRegion": source_region, "LastUpdateTime": now}
                if source_account == account or _authorized(source_account, source_region, account, region):
                    status["LastUpdateStatus"] = "SUCCEEDED"
                else:
                    status.update(LastUpdateStatus="FAILED", LastErrorCode="AccessDeniedException",
                                  LastErrorMessage="The source account has not authorized the aggregator account.")
                statuses.append(status)
    org = aggregator.organization_aggregation_source
    if org is not None:
        from moto.organizations.models import organizations_backends
        from moto.utilities.utils import get_partition

        organization = organizations_backends[account][get_partition(region)].org
        for source_region in _regions_of(org):
            status = {"SourceId": organization.id if organization else "", "SourceType": "ORGANIZATION",
                      "AwsRegion": source_region, "LastUpdateTime": now}
            if organization is not None:
                status["LastUpdateStatus"] = "SUCCEEDED"
            else:
                status.update(LastUpdateStatus="FAILED", LastErrorCode="OrganizationAccessDeniedException",
                              LastErrorMessage="The aggregator account is not in an organization.")
            statuses.append(status)
    if update_status:
        statuses = [s for s in statuses if s["LastUpdateStatus"] in update_status]
    page, token = _page(statuses, limit, next_token)
    answer: dict[str, Any] = {"AggregatedSourceStatusList": page}
    if token:
        answer["NextToken"] = token
    return answer


def _aggregated_scopes(account: str, region: str, name: str) -> list[tuple[str, str]]:
    aggregator = _aggregator(account, region, name)
    scopes: list[tuple[str, str]] = []
    for source in aggregator.account_aggregation_sources or []:
        for source_account in source.account_ids:
            for source_region in _regions_of(source):
                if source_account == account or _authorized(source_account, source_region, account, region):
                    scopes.append((source_account, source_region))
    org = aggregator.organization_aggregation_source
    if org is not None:
        accounts = _organization_accounts(account, region) or [account]
        for source_account in accounts:
            scopes.extend((source_account, r) for r in _regions_of(org))
    return sorted(set(scopes))


def _authorized(source_account: str, source_region: str, account: str, region: str) -> bool:
    authorizations = config_backends[source_account][source_region].aggregation_authorizations
    return f"{account}/{region}" in authorizations


def select_aggregate(account: str, region: str, name: str, expression: str, limit: int | None,
                     next_token: str | None) -> dict[str, Any]:
    selected, conditions = parse(expression)
    scopes = _aggregated_scopes(account, region, name)
    rows, token = _page(_rows(scopes, selected, conditions), limit, next_token)
    answer: dict[str, Any] = {"Results": rows, "QueryInfo": {"SelectFields": [{"Name": f} for f in selected]}}
    if token:
        answer["NextToken"] = token
    return answer


def install() -> None:
    from moto.config.responses import ConfigResponse

    def select_resource_config(self: ConfigResponse) -> str:
        params = json.loads(self.body or "{}")
        answer = select(self.current_account, self.region, params.get("Expression", ""), params.get("Limit"),
                        params.get("NextToken"))
        return json.dumps(answer)

    def select_aggregate_resource_config(self: ConfigResponse) -> str:
        params = json.loads(self.body or "{}")
        limit = params.get("Limit") or params.get("MaxResults")
        answer = select_aggregate(self.current_account, self.region, params.get("ConfigurationAggregatorName", ""),
                                  params.get("Expression", ""), limit, params.get("NextToken"))
        return json.dumps(answer)

    def describe_configuration_aggregator_sources_status(self: ConfigResponse) -> str:
        params = json.loads(self.body or "{}")
        answer = sources_status(self.current_account, self.region, params.get("ConfigurationAggregatorName", ""),
                                params.get("UpdateStatus"), params.get("Limit"), params.get("NextToken"))
        return json.dumps(answer)

    ConfigResponse.select_resource_config = select_resource_config  # type: ignore[method-assign]
    ConfigResponse.describe_configuration_aggregator_sources_status = (  # type: ignore[attr-defined]
        describe_configuration_aggregator_sources_status
    )
    ConfigResponse.select_aggregate_resource_config = select_aggregate_resource_config  # type: ignore[attr-defined]
