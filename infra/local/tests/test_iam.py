"""IAM enforcement: requests signed with a role's credentials are authorized against the role's
identity policies and the session's policies, mapped to actions and resources the way the
Service Authorization Reference maps them; policy evaluation on its own; the template's roles
created from the template itself."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from bulwark_local import iam, iam_actions, policy_eval

REGION = "us-east-1"


def _account() -> str:
    return str(random.randint(200_000_000_000, 299_999_999_999))


def _credentials(creds: dict[str, Any]) -> dict[str, str]:
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


class Account:
    """An account of its own: its administrator, and roles with the policies a test gives."""

    def __init__(self, aws: Any):
        self.aws = aws
        self.id = _account()
        creds = aws("sts").assume_role(
            RoleArn=f"arn:aws:iam::{self.id}:role/{iam.ADMIN_ROLE}", RoleSessionName="admin"
        )["Credentials"]
        self.admin = _credentials(creds)

    def client(self, service: str, credentials: dict[str, str] | None = None, region: str = REGION) -> Any:
        return self.aws(service, region, credentials=credentials or self.admin)

    def role(self, name: str, *statements: dict[str, Any]) -> dict[str, str]:
        admin_iam = self.client("iam")
        # Trusted by the account (its identities with sts:AssumeRole on it), as the console's
        # "AWS account: this account" makes it.
        trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.id}:root"}, "Action": "sts:AssumeRole"}
        admin_iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}))
        admin_iam.put_role_policy(
            RoleName=name,
            PolicyName="policy",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
        )
        return self.assume(name)

    def assume(self, name: str, credentials: dict[str, str] | None = None, region: str = REGION, **session: Any) -> dict[str, str]:
        """A session of the role `name`, assumed by the administrator (or by `credentials`),
        with the session policies given (`Policy`, `PolicyArns`)."""
        sts = self.client("sts", credentials, region)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{self.id}:role/{name}", RoleSessionName=name, **session)["Credentials"]
        return _credentials(creds)


def _denied(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call()
    return {"code": err.value.response["Error"]["Code"], "status": err.value.response["ResponseMetadata"]["HTTPStatusCode"], "message": err.value.response["Error"].get("Message", "")}


@pytest.fixture
def account(aws: Any) -> Account:
    return Account(aws)


def _table(account: Account, name: str = "inventory") -> str:
    account.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return f"arn:aws:dynamodb:{REGION}:{account.id}:table/{name}"


PUT = [{"Put": {"TableName": "inventory", "Item": {"pk": {"S": "a"}}}}]


def test_a_transaction_is_authorized_by_its_items_actions_not_by_its_name(account: Account) -> None:
    table = _table(account)
    named = account.role("named", {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:TransactWriteItems"], "Resource": table})
    denied = _denied(lambda: account.client("dynamodb", named).transact_write_items(TransactItems=PUT))
    assert (denied["code"], denied["status"]) == ("AccessDeniedException", 400)
    assert f"dynamodb:PutItem on resource: {table}" in denied["message"]
    assert "Item" not in account.client("dynamodb").get_item(TableName="inventory", Key={"pk": {"S": "a"}})

    items = account.role("items", {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table})
    account.client("dynamodb", items).transact_write_items(TransactItems=PUT)
    assert "Item" in account.client("dynamodb").get_item(TableName="inventory", Key={"pk": {"S": "a"}})


def test_resources_are_checked_with_wildcards_and_an_explicit_deny_wins(account: Account) -> None:
    _table(account, "orders")
    _table(account, "orders-archive")
    prefix = f"arn:aws:dynamodb:{REGION}:{account.id}:table/orders*"
    creds = account.role(
        "scoped",
        {"Effect": "Allow", "Action": "dynamodb:Describe*", "Resource": prefix},
        {"Effect": "Deny", "Action": "dynamodb:describetable", "Resource": "arn:aws:dynamodb:*:*:table/orders-arch?ve"},
    )
    ddb = account.client("dynamodb", creds)
    assert ddb.describe_table(TableName="orders")["Table"]["TableName"] == "orders"
    denied = _denied(lambda: ddb.describe_table(TableName="orders-archive"))
    assert "explicit deny" in denied["message"]
    # ListTables takes no resource: only a statement whose Resource covers "*" allows it
    assert "dynamodb:ListTables" in _denied(lambda: ddb.list_tables())["message"]


def test_s3_listings_are_authorized_by_the_older_action_names(account: Account) -> None:
    account.client("s3").create_bucket(Bucket=f"logs-{account.id}")
    creds = account.role("lister", {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::logs-{account.id}"})
    s3 = account.client("s3", creds)
    assert s3.list_objects_v2(Bucket=f"logs-{account.id}")["KeyCount"] == 0
    denied = _denied(lambda: s3.list_buckets())
    assert (denied["code"], denied["status"]) == ("AccessDenied", 403)
    assert "s3:ListAllMyBuckets" in denied["message"]


def test_denials_take_each_protocols_shape(account: Account) -> None:
    nothing = account.role("nothing", {"Effect": "Allow", "Action": "sns:ListTopics", "Resource": "*"})
    ec2 = _denied(lambda: account.client("ec2", nothing).describe_volumes())
    assert (ec2["code"], ec2["status"]) == ("UnauthorizedOperation", 403)
    rds = _denied(lambda: account.client("rds", nothing).describe_db_instances())
    assert (rds["code"], rds["status"]) == ("AccessDenied", 403)
    backup = _denied(lambda: account.client("backup", nothing).list_backup_vaults())
    assert (backup["code"], backup["status"]) == ("AccessDeniedException", 403)


def test_passing_a_role_needs_pass_role_for_that_service(account: Account) -> None:
    backup = account.client("backup")
    plan = backup.create_backup_plan(BackupPlan={"BackupPlanName": "p", "Rules": [{"RuleName": "r", "TargetBackupVaultName": "Default"}]})["BackupPlanId"]
    role = f"arn:aws:iam::{account.id}:role/service-role/AWSBackupDefaultServiceRole"
    plan_arn = f"arn:aws:backup:{REGION}:{account.id}:backup-plan:{plan}"
    select = {"BackupPlanId": plan, "BackupSelection": {"SelectionName": "s", "IamRoleArn": role, "Resources": ["*"]}}
    without = account.role("without-pass", {"Effect": "Allow", "Action": "backup:CreateBackupSelection", "Resource": plan_arn})
    assert "iam:PassRole" in _denied(lambda: account.client("backup", without).create_backup_selection(**select))["message"]
    other_service = account.role(
        "pass-to-ec2",
        {"Effect": "Allow", "Action": "backup:CreateBackupSelection", "Resource": plan_arn},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role, "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
    )
    assert "iam:PassRole" in _denied(lambda: account.client("backup", other_service).create_backup_selection(**select))["message"]
    right = account.role(
        "pass-to-backup",
        {"Effect": "Allow", "Action": "backup:CreateBackupSelection", "Resource": plan_arn},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role, "Condition": {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}}},
    )
    assert account.client("backup", right).create_backup_selection(**select)["SelectionId"]


def test_a_vault_with_a_customer_key_needs_the_key(account: Account) -> None:
    key = account.client("kms").create_key()["KeyMetadata"]["Arn"]
    vault = {"Effect": "Allow", "Action": ["backup:CreateBackupVault", "backup-storage:MountCapsule"], "Resource": "*"}
    keyless = account.role("keyless", vault, {"Effect": "Allow", "Action": "kms:*", "Resource": f"arn:aws:kms:*:{account.id}:key/other"})
    denied = _denied(lambda: account.client("backup", keyless).create_backup_vault(BackupVaultName="v1", EncryptionKeyArn=key))
    assert f"on resource: {key}" in denied["message"] and "kms:" in denied["message"]
    assert account.client("backup").list_backup_vaults()["BackupVaultList"] == []
    keyed = account.role("keyed", vault, {"Effect": "Allow", "Action": "kms:*", "Resource": key})
    account.client("backup", keyed).create_backup_vault(BackupVaultName="v1", EncryptionKeyArn=key)


def test_an_instance_is_authorized_on_its_cluster_its_groups_and_its_tags(account: Account) -> None:
    rds = account.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="rt-ledger", Engine="aurora-postgresql", EngineVersion="16.4", MasterUsername="admin_user", MasterUserPassword="password-123")
    base = f"arn:aws:rds:{REGION}:{account.id}"
    instance = {"DBInstanceIdentifier": "rt-ledger-i", "DBClusterIdentifier": "rt-ledger", "Engine": "aurora-postgresql", "DBInstanceClass": "db.r6g.large"}
    tags = [{"Key": "test", "Value": "t1"}]
    create = {"Effect": "Allow", "Action": "rds:CreateDBInstance"}
    # The instance alone is not enough: RDS also authorizes its cluster and the groups it uses.
    only_db = account.role("only-db", {**create, "Resource": f"{base}:db:rt-*"})
    denied = _denied(lambda: account.client("rds", only_db).create_db_instance(**instance))
    assert f"rds:CreateDBInstance on resource: {base}:cluster:rt-ledger" in denied["message"]
    # The unnamed groups are the defaults RDS gives the instance, the subnet group its cluster's.
    groups = [f"{base}:db:rt-*", f"{base}:cluster:rt-*", f"{base}:og:default*", f"{base}:pg:default*"]
    no_subnet_group = account.role("no-subgrp", {**create, "Resource": groups})
    denied = _denied(lambda: account.client("rds", no_subnet_group).create_db_instance(**instance))
    assert f"on resource: {base}:subgrp:default" in denied["message"]
    scoped = account.role("scoped", {**create, "Resource": [*groups, f"{base}:subgrp:default"]})
    # Tags on creation are authorized as rds:AddTagsToResource on the new instance too.
    denied = _denied(lambda: account.client("rds", scoped).create_db_instance(**instance, Tags=tags))
    assert f"rds:AddTagsToResource on resource: {base}:db:rt-ledger-i" in denied["message"]
    assert account.client("rds", scoped).create_db_instance(**instance)["DBInstance"]["DBInstanceIdentifier"] == "rt-ledger-i"
    tagging = account.role(
        "tagging",
        {**create, "Resource": [*groups, f"{base}:subgrp:default"]},
        {"Effect": "Allow", "Action": "rds:AddTagsToResource", "Resource": f"{base}:db:rt-*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["test"]}}},
    )
    created = account.client("rds", tagging).create_db_instance(**{**instance, "DBInstanceIdentifier": "rt-ledger-j"}, Tags=tags)["DBInstance"]
    assert created["TagList"] == tags


def test_a_role_that_does_not_exist_cannot_be_assumed(aws: Any) -> None:
    denied = _denied(lambda: aws("sts").assume_role(RoleArn=f"arn:aws:iam::{_account()}:role/nobody", RoleSessionName="s1"))
    assert denied["code"] == "AccessDenied"


def _trusting(account: Account, name: str, *statements: dict[str, Any]) -> None:
    account.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    )


ASSUME_ANY = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}


def test_a_role_session_assumes_only_a_role_whose_trust_names_it(aws: Any) -> None:
    home, member = Account(aws), Account(aws)
    bulwark = home.role("bulwark-discover", ASSUME_ANY)
    other = home.role("other", ASSUME_ANY)
    # Trusted: the home account, for its roles named bulwark-*
    _trusting(member, "Member", {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{home.id}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{home.id}:role/bulwark-*"}},
    })
    # Trusts nobody; and one that names the role but denies the home account
    _trusting(member, "Nobody")
    _trusting(
        member, "Denied",
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{home.id}:role/bulwark-discover"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": home.id}, "Action": "sts:*"},
    )

    member_role = f"arn:aws:iam::{member.id}:role/Member"
    assumed = aws("sts", credentials=bulwark).assume_role(RoleArn=member_role, RoleSessionName="discover")
    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{member.id}:assumed-role/Member/discover"

    denied = _denied(lambda: aws("sts", credentials=other).assume_role(RoleArn=member_role, RoleSessionName="other"))
    assert denied["code"] == "AccessDenied", denied
    assert denied["message"] == (
        f"User: arn:aws:sts::{home.id}:assumed-role/other/other is not authorized to perform: "
        f"sts:AssumeRole on resource: {member_role}"
    )
    for name in ("Nobody", "Denied"):
        role = f"arn:aws:iam::{member.id}:role/{name}"
        assert _denied(lambda: aws("sts", credentials=bulwark).assume_role(RoleArn=role, RoleSessionName="denied"))["code"] == "AccessDenied"
    # The trust is not enough: the caller's own policies must allow the AssumeRole too
    mute = home.role("bulwark-mute", {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"})
    assert "sts:AssumeRole" in _denied(lambda: aws("sts", credentials=mute).assume_role(RoleArn=member_role, RoleSessionName="mute"))["message"]


def test_the_member_stack_lets_the_home_functions_in_and_no_one_else(endpoint: str, aws: Any) -> None:
    # Given an organization: its management account, where the home stack is, and a member
    home = Account(aws)
    organizations = home.client("organizations")
    org_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    status = organizations.create_account(Email="member@example.com", AccountName="member")["CreateAccountStatus"]
    member_id = organizations.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]

    def deploy(account: str, parameters: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{endpoint}/moto-api/bulwark/template/roles",
            data=json.dumps({"account": account, "parameters": parameters}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        return json.load(urllib.request.urlopen(request))

    home_stack = deploy(home.id, {"OrgRole": "BulwarkMember", "OrgId": org_id})
    member_stack = deploy(member_id, {"Deployment": "member", "OrgRole": "BulwarkMember", "OrgId": org_id, "HomeAccountId": home.id})

    # And a member stack that names no home account is refused, as CloudFormation checks
    # the template's rules before it makes anything
    with pytest.raises(urllib.error.HTTPError) as refused:
        deploy(member_id, {"Deployment": "member", "OrgRole": "BulwarkMember", "OrgId": org_id})
    assert refused.value.code == 400
    assert "HomeAccountId" in refused.value.read().decode()

    # When the member stack is deployed: only its four roles
    assert sorted(member_stack["roles"]) == ["BackupServiceRole", "MemberRole", "RestoreRole", "S3ReplicationRole"]
    member_role = member_stack["roles"]["MemberRole"]
    assert member_role == f"arn:aws:iam::{member_id}:role/BulwarkMember"

    # Then the home stack's discover function enters the member account through it
    discover = aws("sts").assume_role(RoleArn=home_stack["roles"]["DiscoverFunctionRole"], RoleSessionName="discover")["Credentials"]
    entered = aws("sts", credentials=_credentials(discover)).assume_role(RoleArn=member_role, RoleSessionName="sweep")
    assert entered["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{member_id}:assumed-role/BulwarkMember/")

    # And a role of the home account not named after the stack does not, even allowed to
    outsider = home.role("ops-admin", ASSUME_ANY)
    assert _denied(lambda: aws("sts", credentials=outsider).assume_role(RoleArn=member_role, RoleSessionName="outside"))["code"] == "AccessDenied"
    # Nor does a role named like Bulwark's in an account outside the organization
    stranger = Account(aws)
    imposter = stranger.role("bulwark-discover", ASSUME_ANY)
    assert _denied(lambda: aws("sts", credentials=imposter).assume_role(RoleArn=member_role, RoleSessionName="outside"))["code"] == "AccessDenied"


def test_an_operation_without_a_known_action_is_refused_loudly(monkeypatch: Any) -> None:
    # Every operation the project sends maps today; a catalogue without DynamoDB's ListTables
    # shows what an unmapped one gets: a refusal that names it, never a silent allow.
    privileges = dict(iam_actions.catalogue("dynamodb")["privileges"])
    del privileges["ListTables"]
    monkeypatch.setattr(iam_actions, "catalogue", lambda prefix: {"privileges": privileges, "resources": {}})
    monkeypatch.setattr(iam_actions, "_by_documentation", lambda prefix: {})
    with pytest.raises(iam_actions.Refused, match="no IAM action is known for dynamodb:ListTables"):
        iam_actions.needs_of(_FakeRequest("dynamodb", "ListTables"))


class _FakeRequest:
    def __init__(self, signing_name: str, operation: str):
        self.signing_name = signing_name
        self.operation = type("Op", (), {"name": operation})()
        self.params: dict[str, Any] = {}
        self.region = REGION
        self.account = "123456789012"


def test_the_template_roles_are_made_from_the_template(endpoint: str, aws: Any) -> None:
    account = _account()
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/template/roles",
        data=json.dumps({"account": account, "parameters": {"OrgRole": "Member", "OrgId": "o-aaaaaaaaaa"}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    answer = json.load(urllib.request.urlopen(request))
    assert answer["functions"]["DiscoverFunction"] == "DiscoverFunctionRole"
    assert answer["resources"]["InventoryTable"] == "bulwark-InventoryTable"
    statements = {s.get("Sid"): s for p in answer["policies"]["DiscoverFunctionRole"] for s in p["PolicyDocument"]["Statement"]}
    assert statements["AssumeMemberRole"]["Resource"] == "arn:aws:iam::*:role/Member"
    assert statements["Inventory"]["Resource"] == [
        f"arn:aws:dynamodb:us-east-1:{account}:table/bulwark-InventoryTable",
        f"arn:aws:dynamodb:us-east-1:{account}:table/bulwark-InventoryTable/index/*",
    ]
    creds = aws("sts").assume_role(RoleArn=answer["roles"]["DiscoverFunctionRole"], RoleSessionName="discover")["Credentials"]
    ddb = aws("dynamodb", REGION, credentials=_credentials(creds))
    assert "dynamodb:CreateTable" in _denied(lambda: ddb.create_table(
        TableName="bulwark-InventoryTable",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    ))["message"]


def test_the_template_backup_role_has_aws_managed_policies(endpoint: str, aws: Any) -> None:
    """AWS Backup's service role, which the template creates with AWS's managed policies for
    backups and restores: they are attached (moto knows AWS managed policies only when loaded)."""
    account = _account()
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/template/roles",
        data=json.dumps({"account": account, "parameters": {"OrgRole": "Member", "OrgId": "o-aaaaaaaaaa", "CreateBackupRole": "true"}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    answer = json.load(urllib.request.urlopen(request))
    assert answer["roles"]["BackupServiceRole"] == f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole"
    creds = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="admin")["Credentials"]
    attached = aws("iam", credentials=_credentials(creds)).list_attached_role_policies(RoleName="AWSBackupDefaultServiceRole")
    assert sorted(p["PolicyName"] for p in attached["AttachedPolicies"]) == [
        "AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores",
        "AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore",
    ]
    function_role = answer["roles"]["DiscoverFunctionRole"].rsplit("/", 1)[-1]
    assert aws("iam", credentials=_credentials(creds)).list_attached_role_policies(RoleName=function_role)["AttachedPolicies"] == []


def test_unknown_actions_are_listed(endpoint: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/iam/unknown-actions",
        data=json.dumps({"actions": ["dynamodb:PutItem", "dynamodb:TransactWriteItems", "s3:*", "kms:GenerateDataKey*", "s3:Nothing*", "backup-storage:MountCapsule"]}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    answer = json.load(urllib.request.urlopen(request))
    assert answer["unknown"] == ["dynamodb:TransactWriteItems", "s3:Nothing*"]
    assert answer["actions"]["dynamodb:PutItem"] == {"access_level": "Write", "mutating": True, "resource_types": ["table"]}
    assert answer["actions"]["backup-storage:MountCapsule"]["resource_types"] == []


# --- Policy evaluation on its own -------------------------------------------------------

def _policy(*statements: dict[str, Any]) -> list[str]:
    return [json.dumps({"Version": "2012-10-17", "Statement": list(statements)})]


def test_evaluation_allow_deny_and_implicit_deny() -> None:
    allow = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}
    assert policy_eval.evaluate(_policy(allow), "s3:GetObject", "arn:aws:s3:::b/k", {}).effect == policy_eval.ALLOW
    assert policy_eval.evaluate(_policy(allow), "S3:getobject", "arn:aws:s3:::b/k", {}).effect == policy_eval.ALLOW
    assert policy_eval.evaluate(_policy(allow), "s3:PutObject", "arn:aws:s3:::b/k", {}).effect == policy_eval.IMPLICIT_DENY
    assert policy_eval.evaluate(_policy(allow), "s3:GetObject", "arn:aws:s3:::B/k", {}).effect == policy_eval.IMPLICIT_DENY
    deny = {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}
    assert policy_eval.evaluate(_policy(allow, deny), "s3:GetObjectTagging", "arn:aws:s3:::b/k", {}).effect == policy_eval.EXPLICIT_DENY
    not_resource = {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::secret/*"}
    assert policy_eval.evaluate(_policy(not_resource), "s3:GetObject", "arn:aws:s3:::secret/x", {}).effect == policy_eval.IMPLICIT_DENY
    assert policy_eval.evaluate(_policy(not_resource), "s3:GetObject", "arn:aws:s3:::open/x", {}).effect == policy_eval.ALLOW


def test_evaluation_conditions() -> None:
    def allowed(condition: dict[str, Any], context: dict[str, Any]) -> bool:
        statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
        return policy_eval.evaluate(_policy(statement), "x:Y", "*", context).effect == policy_eval.ALLOW

    passed = {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}}
    assert allowed(passed, {"iam:PassedToService": "backup.amazonaws.com"})
    assert not allowed(passed, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(passed, {})
    assert allowed({"StringEqualsIfExists": {"iam:PassedToService": "backup.amazonaws.com"}}, {})
    assert allowed({"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/admin-*", "arn:aws:iam::*:role/x"]}}, {"aws:PrincipalArn": "arn:aws:iam::1:role/admin-a"})
    assert not allowed({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}}, {"aws:PrincipalArn": "arn:aws:iam::1:role/admin-a"})
    assert allowed({"Null": {"aws:ResourceTag/team": "true"}}, {})
    assert allowed({"ForAllValues:StringLike": {"aws:TagKeys": ["bulwark:*"]}}, {"aws:TagKeys": ["bulwark:tier"]})
    assert not allowed({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["b"]})
    with pytest.raises(policy_eval.Unsupported):
        allowed({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"})


def test_conditions_on_request_tags_and_key_aliases(account: Account) -> None:
    kms_admin = account.client("kms")
    aliased = kms_admin.create_key()["KeyMetadata"]["KeyId"]
    kms_admin.create_alias(AliasName="alias/bulwark-backup", TargetKeyId=aliased)
    other = kms_admin.create_key()["KeyMetadata"]["KeyId"]
    creds = account.role(
        "keys",
        {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestTag/bulwark:managed": "true"}}},
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": f"arn:aws:kms:*:{account.id}:key/*",
         "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/bulwark-backup"}}},
    )
    kms = account.client("kms", creds)
    assert "kms:CreateKey" in _denied(lambda: kms.create_key())["message"]
    kms.create_key(Tags=[{"TagKey": "bulwark:managed", "TagValue": "true"}])
    assert kms.describe_key(KeyId="alias/bulwark-backup")["KeyMetadata"]["KeyId"] == aliased
    assert "kms:DescribeKey" in _denied(lambda: kms.describe_key(KeyId=other))["message"]
    # An alias that names no key is KMS's NotFoundException, as in AWS
    assert _denied(lambda: kms.describe_key(KeyId="alias/none"))["code"] == "NotFoundException"


def test_conditions_on_a_stores_tags_its_tag_keys_and_a_buckets_owner(account: Account) -> None:
    """aws:ResourceTag/<key> is the store's tags before the request; aws:TagKeys the keys a
    request writes or removes, through the Tagging API too; s3:ResourceAccount the bucket's
    owner."""
    rds_admin = account.client("rds")
    for name in ("tagged", "untagged"):
        rds_admin.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                                     MasterUsername="admin", MasterUserPassword="password1", AllocatedStorage=20)
    tagged = f"arn:aws:rds:{REGION}:{account.id}:db:tagged"
    untagged = f"arn:aws:rds:{REGION}:{account.id}:db:untagged"
    rds_admin.add_tags_to_resource(ResourceName=tagged, Tags=[{"Key": "bulwark:tier", "Value": "gold"}])
    account.client("s3").create_bucket(Bucket=f"owned-{account.id}")
    creds = account.role(
        "stores",
        {"Effect": "Allow", "Action": "rds:ModifyDBInstance", "Resource": f"arn:aws:rds:*:{account.id}:db:*",
         "Condition": {"Null": {"aws:ResourceTag/bulwark:tier": "false"}}},
        {"Effect": "Allow", "Action": ["tag:TagResources", "tag:UntagResources"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["rds:AddTagsToResource", "rds:RemoveTagsFromResource"], "Resource": f"arn:aws:rds:*:{account.id}:db:*",
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": "bulwark:tier"}}},
        {"Effect": "Allow", "Action": "s3:GetBucketVersioning", "Resource": "arn:aws:s3:::*",
         "Condition": {"StringEquals": {"s3:ResourceAccount": account.id}}},
    )
    rds = account.client("rds", creds)
    rds.modify_db_instance(DBInstanceIdentifier="tagged", BackupRetentionPeriod=7, ApplyImmediately=True)
    denied = _denied(lambda: rds.modify_db_instance(DBInstanceIdentifier="untagged", BackupRetentionPeriod=7, ApplyImmediately=True))
    assert f"rds:ModifyDBInstance on resource: {untagged}" in denied["message"]

    tagging = account.client("resourcegroupstaggingapi", creds)
    tagging.tag_resources(ResourceARNList=[untagged], Tags={"bulwark:tier": "silver"})
    rds.modify_db_instance(DBInstanceIdentifier="untagged", BackupRetentionPeriod=7, ApplyImmediately=True)
    assert "rds:AddTagsToResource" in _denied(lambda: tagging.tag_resources(ResourceARNList=[tagged], Tags={"owner": "me"}))["message"]
    assert "rds:RemoveTagsFromResource" in _denied(lambda: tagging.untag_resources(ResourceARNList=[tagged], TagKeys=["owner"]))["message"]
    tagging.untag_resources(ResourceARNList=[untagged], TagKeys=["bulwark:tier"])
    assert "rds:ModifyDBInstance" in _denied(lambda: rds.modify_db_instance(DBInstanceIdentifier="untagged", BackupRetentionPeriod=1, ApplyImmediately=True))["message"]

    s3 = account.client("s3", creds)
    assert s3.get_bucket_versioning(Bucket=f"owned-{account.id}")["ResponseMetadata"]["HTTPStatusCode"] == 200
    other = Account(account.aws)
    other.client("s3").create_bucket(Bucket=f"owned-{other.id}")
    assert "s3:GetBucketVersioning" in _denied(lambda: s3.get_bucket_versioning(Bucket=f"owned-{other.id}"))["message"]


# --- Session policies ------------------------------------------------------------------

# The failover drill's session: everything the role allows, but nothing signed for us-east-1.
ISOLATED = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
]})
EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def _stores(account: Account, region: str) -> None:
    account.client("dynamodb", region=region).create_table(
        TableName="inventory",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    account.client("s3", region=region).create_bucket(Bucket=f"data-{region}-{account.id}", **location)


def test_a_session_policy_isolates_a_session_from_us_east_1(account: Account) -> None:
    """The failover drill: a session policy that denies whatever is signed for us-east-1 (the
    global IAM and Route 53 included) leaves the other regions to what the role allows."""
    for region in ("us-east-1", "us-west-2"):
        _stores(account, region)
    account.role("operator", EVERYTHING)
    plain = account.assume("operator")
    isolated = account.assume("operator", Policy=ISOLATED)

    # Without a session policy the role's permissions are the session's, in us-east-1 too.
    assert account.client("dynamodb", plain).describe_table(TableName="inventory")["Table"]["TableName"] == "inventory"
    assert account.client("s3", plain).list_objects_v2(Bucket=f"data-us-east-1-{account.id}")["KeyCount"] == 0

    ddb = _denied(lambda: account.client("dynamodb", isolated).describe_table(TableName="inventory"))
    assert (ddb["code"], ddb["status"]) == ("AccessDeniedException", 400)
    assert ddb["message"] == (
        f"User: arn:aws:sts::{account.id}:assumed-role/operator/operator is not authorized to perform: dynamodb:DescribeTable"
        f" on resource: arn:aws:dynamodb:us-east-1:{account.id}:table/inventory with an explicit deny in a session policy (statement 1)"
    )
    s3 = _denied(lambda: account.client("s3", isolated).list_objects_v2(Bucket=f"data-us-east-1-{account.id}"))
    assert (s3["code"], s3["status"]) == ("AccessDenied", 403)
    assert "s3:ListBucket" in s3["message"] and "explicit deny in a session policy" in s3["message"]
    # IAM and Route 53: their global endpoints are signed for us-east-1, as the product signs them.
    assert "explicit deny in a session policy" in _denied(lambda: account.client("iam", isolated).get_role(RoleName="operator"))["message"]
    assert "explicit deny in a session policy" in _denied(lambda: account.client("route53", isolated).list_hosted_zones())["message"]
    # Who am I needs no permission, in any region.
    assert account.client("sts", isolated).get_caller_identity()["Account"] == account.id

    west = "us-west-2"
    assert account.client("dynamodb", isolated, west).describe_table(TableName="inventory")["Table"]["TableArn"].startswith(f"arn:aws:dynamodb:{west}:")
    account.client("dynamodb", isolated, west).put_item(TableName="inventory", Item={"pk": {"S": "a"}})
    assert account.client("s3", isolated, west).list_objects_v2(Bucket=f"data-{west}-{account.id}")["KeyCount"] == 0


def test_a_session_policy_cannot_grant_what_the_role_lacks(account: Account) -> None:
    table = _table(account)
    account.role("reader", {"Effect": "Allow", "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem"], "Resource": table})
    wide = account.assume("reader", Policy=json.dumps({"Version": "2012-10-17", "Statement": [EVERYTHING]}))
    ddb = account.client("dynamodb", wide)
    assert ddb.describe_table(TableName="inventory")["Table"]["TableName"] == "inventory"
    denied = _denied(lambda: ddb.put_item(TableName="inventory", Item={"pk": {"S": "a"}}))
    assert denied["message"].endswith("because no identity-based policy allows the dynamodb:PutItem action")

    # and it narrows: what the role allows but the session policy does not is denied
    narrow = account.assume("reader", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}]}))
    ddb = account.client("dynamodb", narrow)
    assert "Item" not in ddb.get_item(TableName="inventory", Key={"pk": {"S": "a"}})
    denied = _denied(lambda: ddb.describe_table(TableName="inventory"))
    assert denied["message"] == (
        f"User: arn:aws:sts::{account.id}:assumed-role/reader/reader is not authorized to perform: dynamodb:DescribeTable"
        f" on resource: {table} because no session policy allows the dynamodb:DescribeTable action"
    )
    # An explicit deny in the role's policies is reported before the session policy's silence.
    account.client("iam").put_role_policy(RoleName="reader", PolicyName="deny", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:DescribeTable", "Resource": "*"}]}))
    assert "with an explicit deny in an identity-based policy" in _denied(lambda: ddb.describe_table(TableName="inventory"))["message"]


def test_managed_session_policies_limit_the_session(account: Account) -> None:
    table = _table(account)
    account.role("managed", EVERYTHING)
    describe = account.client("iam").create_policy(PolicyName="describe-only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": table}]}))["Policy"]["Arn"]
    ddb = account.client("dynamodb", account.assume("managed", PolicyArns=[{"arn": describe}]))
    assert ddb.describe_table(TableName="inventory")["Table"]["TableName"] == "inventory"
    assert _denied(lambda: ddb.list_tables())["message"].endswith("because no session policy allows the dynamodb:ListTables action")

    # An AWS managed policy, and the inline policy with it: both limit, each Deny denies.
    read_only = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"
    no_scan = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "*"}]})
    ddb = account.client("dynamodb", account.assume("managed", PolicyArns=[{"arn": read_only}], Policy=no_scan))
    assert "inventory" in ddb.list_tables()["TableNames"]
    assert "explicit deny in a session policy" in _denied(lambda: ddb.scan(TableName="inventory"))["message"]
    assert "because no session policy allows the dynamodb:PutItem action" in _denied(
        lambda: ddb.put_item(TableName="inventory", Item={"pk": {"S": "a"}}))["message"]


def test_a_chained_session_carries_its_own_session_policy_only(account: Account) -> None:
    """Role chaining: the isolated session may assume another role (through a regional STS
    endpoint outside us-east-1); that session is limited by its own session policy, not by
    the one of the session that assumed it."""
    _stores(account, "us-east-1")
    account.role("first", EVERYTHING)
    account.role("second", EVERYTHING)
    isolated = account.assume("first", Policy=ISOLATED)
    assert "explicit deny in a session policy" in _denied(lambda: account.assume("second", isolated))["message"]

    chained = account.assume("second", isolated, region="us-west-2")
    assert account.client("dynamodb", chained).describe_table(TableName="inventory")["Table"]["TableName"] == "inventory"
    narrowed = account.assume("second", isolated, region="us-west-2", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}]}))
    ddb = account.client("dynamodb", narrowed)
    assert "inventory" in ddb.list_tables()["TableNames"]
    assert "because no session policy allows the dynamodb:DescribeTable action" in _denied(
        lambda: ddb.describe_table(TableName="inventory"))["message"]


def test_the_organization_admin_role_is_limited_by_a_session_policy(aws: Any) -> None:
    """OrganizationAccountAccessRole, made on first use with Action *, is no exception."""
    account_id = _account()
    creds = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{iam.ADMIN_ROLE}", RoleSessionName="drill", Policy=ISOLATED
    )["Credentials"]
    isolated = _credentials(creds)
    denied = _denied(lambda: aws("dynamodb", "us-east-1", credentials=isolated).list_tables())
    assert denied["message"] == (
        f"User: arn:aws:sts::{account_id}:assumed-role/{iam.ADMIN_ROLE}/drill is not authorized to perform:"
        " dynamodb:ListTables on resource: * with an explicit deny in a session policy (statement 1)"
    )
    assert aws("dynamodb", "us-west-2", credentials=isolated).list_tables()["TableNames"] == []


def test_assume_role_refuses_session_policies_aws_refuses(account: Account) -> None:
    account.role("limits", EVERYTHING)
    malformed = _denied(lambda: account.assume("limits", Policy="{not json"))
    assert (malformed["code"], malformed["status"]) == ("MalformedPolicyDocument", 400)
    no_effect = _denied(lambda: account.assume("limits", Policy=json.dumps({"Statement": [{"Action": "*", "Resource": "*"}]})))
    assert no_effect["code"] == "MalformedPolicyDocument"

    statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": f"arn:aws:dynamodb:us-east-1:{account.id}:table/t"}
    long = json.dumps({"Version": "2012-10-17", "Statement": [statement] * 25})
    assert len(long) > 2048
    too_long = _denied(lambda: account.assume("limits", Policy=long))
    assert (too_long["code"], too_long["status"]) == ("ValidationError", 400)
    assert too_long["message"].endswith("at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048")
    arns = [{"arn": f"arn:aws:iam::{account.id}:policy/p{i}"} for i in range(11)]
    too_many = _denied(lambda: account.assume("limits", PolicyArns=arns))
    assert "at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10" in too_many["message"]
