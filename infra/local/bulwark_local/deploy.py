"""Deploy infra/aws/template.yaml itself to the local AWS, as `sam deploy` deploys it to AWS.

    POST /moto-api/bulwark/template/deploy
         {"account": "<12 digits>", "region": "us-east-1",
          "parameters": {...},                         optional: template parameters
          "stack": "bulwark",                          optional
          "binaries": "/path/to/target/debug"}         the functions' built binaries

The SAM transform is done offline (infra/aws/sam_transform.py). The parameters are checked
against their AllowedValues and AllowedPattern, and the template's Rules are evaluated, as
CloudFormation does before it creates anything (a failed assertion refuses the deploy with
its AssertDescription). Each resource of the result is then created through the local AWS's
own API, as the account's administrator, so each request is validated as AWS would validate
it: KMS keys, the DynamoDB table or global table (created in the stack's region, then a
replica added in each other region of its Replicas by UpdateTable's ReplicaUpdates, which the
local AWS's global tables replicate), the SNS topic, the IAM roles (template.py), the Lambda
functions, the state machine, the EventBridge rules and their targets, the CloudWatch alarms.
A resource whose condition is false is skipped, as CloudFormation skips it; a type this deploy
step does not create is refused, with its name. A redeploy updates what exists (policies,
code, definitions, rules, targets, a global table's replicas).

Each function runs its real binary, `<binaries>/<name>`, where `<name>` is the directory its
CodeUri names (target/lambda/<name>/), through the Runtime API under its template role
(runtime_api.py). The answer names every resource created and its physical id, and the
template's Outputs whose condition holds:
{"resources": {...}, "functions": {...}, "state_machines": {...}, "rules": {...},
 "outputs": {...}}.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError, ParamValidationError

from bulwark_local import iam, runtime_api, template

PATH = "/moto-api/bulwark/template/deploy"

# The order CloudFormation's dependencies give these types in this template.
ORDER = [
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::Backup::Framework",
    "AWS::Backup::ReportPlan",
    "AWS::SNS::Topic",
    "AWS::IAM::Role",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::Function",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
    "AWS::Lambda::Permission",
    "AWS::Config::ConfigRule",
]


# The replicas each stack's global table was last deployed with, as CloudFormation keeps them
# in the stack: (account, region, stack, logical id) -> regions.
_stack_replicas: dict[tuple[str, str, str, str], set[str]] = {}


class DeployError(Exception):
    """A resource the deploy could not create: its logical id and AWS's answer."""


def _placeholder_zip() -> bytes:
    # Lambda wants a deployment package; the code that runs is the local binary.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n# runs the local binary: see bulwark_local/runtime_api.py\n")
    return buffer.getvalue()


def _tags(tags: Any, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: t["Key"], value: t["Value"]} for t in tags or []]


class Deployment:
    def __init__(self, account: str, region: str, parameters: dict[str, str], stack: str, binaries: Path):
        self.account, self.region, self.stack, self.binaries = account, region, stack, binaries
        self.cfn, self.resolver = template.stack_template(account, region, parameters, stack)
        self.resolver.check_parameters(parameters)
        self.resolver.check_rules()
        iam.ensure_admin_role(account, self.resolver.partition)
        admin = runtime_api.credentials(account, region, f"arn:{self.resolver.partition}:iam::{account}:role/{iam.ADMIN_ROLE}", "deploy")
        self.session = boto3.session.Session(
            aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=admin["AWS_SESSION_TOKEN"],
            region_name=region,
        )
        self.endpoint = f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4566')}"
        self.answer: dict[str, Any] = {"resources": {}, "functions": {}, "state_machines": {}, "rules": {}}

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    def run(self) -> dict[str, Any]:
        resources = self.cfn["Resources"]
        unknown = sorted({r["Type"] for r in resources.values()} - set(ORDER))
        if unknown:
            raise DeployError(f"the local deploy does not create {', '.join(unknown)}")
        roles_done = False
        for kind in ORDER:
            for logical_id, resource in resources.items():
                if resource["Type"] != kind:
                    continue
                if "Condition" in resource and not self.resolver.condition(resource["Condition"]):
                    continue
                if kind == "AWS::IAM::Role":
                    if not roles_done:
                        roles = template.create_roles(self.cfn, self.resolver, self.account, self.region, self.stack)
                        self.answer["resources"].update({k: v for k, v in roles["roles"].items()})
                        roles_done = True
                    continue
                props = self.resolver.resolve(resource.get("Properties", {}))
                try:
                    getattr(self, "_" + kind.split("::")[1].lower() + "_" + kind.split("::")[2].lower())(logical_id, props)
                except (ClientError, ParamValidationError) as err:
                    raise DeployError(f"{logical_id} ({kind}): {err}") from err
        self.answer["outputs"] = self.resolver.outputs()
        return self.answer

    def _created(self, logical_id: str, ref: str, attributes: dict[str, str]) -> None:
        self.resolver.created[logical_id] = (ref, attributes)
        self.answer["resources"][logical_id] = ref

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        kms = self.client("kms")
        alias = f"alias/{self.stack}-{logical_id}"
        try:
            key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(props["KeyPolicy"]))
        except kms.exceptions.NotFoundException:
            key_id = kms.create_key(
                Description=props.get("Description", ""),
                Policy=json.dumps(props["KeyPolicy"]),
                Tags=_tags(props.get("Tags"), "TagKey", "TagValue"),
            )["KeyMetadata"]["KeyId"]
            # The alias finds the key again on a redeploy (CloudFormation keeps it in the stack).
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key_id)
        arn = f"arn:{self.resolver.partition}:kms:{self.region}:{self.account}:key/{key_id}"
        self._created(logical_id, key_id, {"Arn": arn, "KeyId": key_id})

    def _dynamodb_table(self, logical_id: str, props: dict[str, Any]) -> None:
        ddb = self.client("dynamodb")
        name, attributes = self.resolver.physical(logical_id)
        create = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes") if k in props}
        if "SSESpecification" in props:
            # CloudFormation's SSEEnabled is the API's Enabled.
            sse = dict(props["SSESpecification"])
            sse["Enabled"] = sse.pop("SSEEnabled", True)
            create["SSESpecification"] = sse
        try:
            ddb.create_table(TableName=name, **create)
        except ddb.exceptions.ResourceInUseException:
            pass
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        self._created(logical_id, name, attributes)

    # The replica settings this deploy applies; CloudFormation has more (capacity, contributor
    # insights, table class, ...), which are refused by name rather than ignored.
    REPLICA_SETTINGS = {"Region", "PointInTimeRecoverySpecification", "SSESpecification", "DeletionProtectionEnabled", "Tags"}

    def _dynamodb_globaltable(self, logical_id: str, props: dict[str, Any]) -> None:
        # CloudFormation creates the table in the stack's region and adds each other replica
        # (version 2019.11.21); a replica the stack listed before and no longer does is removed
        # (one added outside the stack, by `bulwark init` say, is left alone). The stack's
        # region must be one of the replicas, and more than one needs the stream.
        name, attributes = self.resolver.physical(logical_id)
        replicas = {r["Region"]: r for r in props.get("Replicas", [])}
        if self.region not in replicas:
            # CloudFormation's words (quoted in aws-cloudformation/rain#339).
            raise DeployError(f"{logical_id}: Invalid request provided: The Replicas section must contain an entry for the current region")
        if len(replicas) != len(props.get("Replicas", [])):
            raise DeployError(f"{logical_id}: a region is listed twice in Replicas")
        for replica in replicas.values():
            unknown = set(replica) - self.REPLICA_SETTINGS
            if unknown:
                raise DeployError(f"{logical_id}: the local deploy does not apply the replica settings {', '.join(sorted(unknown))}")
        if len(replicas) > 1 and "StreamSpecification" not in props:
            raise DeployError(f"{logical_id}: StreamSpecification is required with more than one replica")
        ddb = self.client("dynamodb")
        create = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes", "LocalSecondaryIndexes") if k in props}
        if "StreamSpecification" in props:
            create["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": props["StreamSpecification"]["StreamViewType"]}
        if "SSESpecification" in props:
            sse = props["SSESpecification"]
            if sse.get("SSEEnabled"):
                create["SSESpecification"] = {"Enabled": True, "SSEType": sse.get("SSEType", "KMS")}
                key = replicas[self.region].get("SSESpecification", {}).get("KMSMasterKeyId")
                if key:
                    create["SSESpecification"]["KMSMasterKeyId"] = key
        stack_key = (self.account, self.region, self.stack, logical_id)
        try:
            ddb.create_table(TableName=name, **create)
            _stack_replicas.pop(stack_key, None)  # a new table (after a reset, say): a creation
        except ddb.exceptions.ResourceInUseException:
            pass
        described = ddb.describe_table(TableName=name)["Table"]
        have = {r["RegionName"] for r in described.get("Replicas", [])} or {self.region}
        listed = _stack_replicas.get(stack_key)
        if listed is not None and len(set(replicas) ^ listed) > 1:
            # "You can add or remove replicas after table creation, but you can only add or
            # remove a single replica in each update" (the Replicas property).
            raise DeployError(f"{logical_id}: only one replica can be added or removed in each update, not {', '.join(sorted(set(replicas) ^ listed))}")
        for region in [r for r in replicas if r not in have]:
            action: dict[str, Any] = {"RegionName": region}
            key = replicas[region].get("SSESpecification", {}).get("KMSMasterKeyId")
            if key:
                action["KMSMasterKeyId"] = key
            ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": action}])
        for region in sorted(((listed or set()) & have) - set(replicas)):
            ddb.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": region}}])
        _stack_replicas[stack_key] = set(replicas)
        # Point-in-time recovery, deletion protection and tags are each replica's own: DynamoDB
        # does not synchronize them.
        for region, replica in replicas.items():
            regional = self.session.client("dynamodb", region_name=region, endpoint_url=self.endpoint)
            if replica.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
                regional.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
            if "DeletionProtectionEnabled" in replica:
                regional.update_table(TableName=name, DeletionProtectionEnabled=bool(replica["DeletionProtectionEnabled"]))
            if replica.get("Tags"):
                arn = f"arn:{self.resolver.partition}:dynamodb:{region}:{self.account}:table/{name}"
                regional.tag_resource(ResourceArn=arn, Tags=_tags(replica["Tags"]))
        stream = ddb.describe_table(TableName=name)["Table"].get("LatestStreamArn")
        self._created(logical_id, name, {**attributes, **({"StreamArn": stream} if stream else {})})
        self.answer.setdefault("replicas", {})[logical_id] = sorted(replicas)

    def _backup_framework(self, logical_id: str, props: dict[str, Any]) -> None:
        """CloudFormation's control scope tags are a list of Key/Value; the API's a map."""
        backup = self.client("backup")
        controls = []
        for control in props.get("FrameworkControls", []):
            control = dict(control)
            scope = dict(control.get("ControlScope") or {})
            if "Tags" in scope:
                scope["Tags"] = {t["Key"]: t["Value"] for t in scope["Tags"]}
                control["ControlScope"] = scope
            controls.append(control)
        name = props["FrameworkName"]
        try:
            arn = backup.create_framework(
                FrameworkName=name, FrameworkDescription=props.get("FrameworkDescription", ""), FrameworkControls=controls
            )["FrameworkArn"]
        except backup.exceptions.AlreadyExistsException:
            arn = backup.describe_framework(FrameworkName=name)["FrameworkArn"]
        self._created(logical_id, name, {"FrameworkArn": arn})

    def _backup_reportplan(self, logical_id: str, props: dict[str, Any]) -> None:
        """AWS Backup creates the plan; it never delivers a report here (FIDELITY.md)."""
        backup = self.client("backup")
        create = {k: props[k] for k in ("ReportPlanName", "ReportPlanDescription", "ReportDeliveryChannel", "ReportSetting") if k in props}
        arn = backup.create_report_plan(**create)["ReportPlanArn"]
        self._created(logical_id, arn, {"ReportPlanArn": arn})

    def _s3_bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        s3 = self.client("s3")
        name, attributes = self.resolver.physical(logical_id)
        create: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if props.get("ObjectLockEnabled"):
            create["ObjectLockEnabledForBucket"] = True
        try:
            s3.create_bucket(**create)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]})
        if "BucketEncryption" in props:
            # CloudFormation's rules name the default ServerSideEncryptionByDefault; the API's
            # ApplyServerSideEncryptionByDefault, wrapped in Rules.
            rules = [
                {("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v for k, v in rule.items()}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "ObjectLockConfiguration" in props:
            lock = props["ObjectLockConfiguration"]
            retention = lock["Rule"]["DefaultRetention"]
            s3.put_object_lock_configuration(
                Bucket=name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": lock["ObjectLockEnabled"],
                    "Rule": {"DefaultRetention": {"Mode": retention["Mode"], "Days": int(retention["Days"])}},
                },
            )
        self._created(logical_id, name, attributes)

    def _sns_topic(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("TopicName") or self.resolver.physical(logical_id)[1]["TopicName"]
        topic_attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if "KmsMasterKeyId" in props else {}
        arn = self.client("sns").create_topic(Name=name, Attributes=topic_attributes)["TopicArn"]
        self._created(logical_id, arn, {"TopicArn": arn, "TopicName": name})

    def _cloudwatch_alarm(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.pop("AlarmName", f"{self.stack}-{logical_id}")
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **props)
        self._created(logical_id, name, {})

    def _lambda_function(self, logical_id: str, props: dict[str, Any]) -> None:
        aws_lambda = self.client("lambda")
        name, attributes = self.resolver.physical(logical_id)
        binary = self.binaries / Path(props["Code"]["S3Key"]).stem
        if not binary.is_file():
            raise DeployError(f"{logical_id}: no binary {binary}: build the functions first (cargo build)")
        settings = {
            "Role": props["Role"],
            "Handler": props.get("Handler", "bootstrap"),
            "Runtime": props["Runtime"],
            "Timeout": props.get("Timeout", 3),
            "MemorySize": props.get("MemorySize", 128),
            "Environment": {"Variables": {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}},
        }
        try:
            arn = aws_lambda.create_function(
                FunctionName=name, Code={"ZipFile": _placeholder_zip()}, Description=props.get("Description", ""), **settings
            )["FunctionArn"]
        except aws_lambda.exceptions.ResourceConflictException:
            arn = aws_lambda.update_function_configuration(FunctionName=name, **settings)["FunctionArn"]
        if "ReservedConcurrentExecutions" in props:
            aws_lambda.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=props["ReservedConcurrentExecutions"])
        runtime_api.register(runtime_api.Function(
            name=name,
            arn=arn,
            binary=binary,
            role_arn=props["Role"],
            account=self.account,
            region=self.region,
            environment=settings["Environment"]["Variables"],
            timeout_seconds=int(settings["Timeout"]),
            memory_mb=int(settings["MemorySize"]),
        ))
        self._created(logical_id, name, {**attributes, "Arn": arn})
        self.answer["functions"][logical_id] = {"name": name, "arn": arn, "binary": str(binary)}

    def _stepfunctions_statemachine(self, logical_id: str, props: dict[str, Any]) -> None:
        sfn = self.client("stepfunctions")
        definition = props.get("DefinitionString") or json.dumps(props["Definition"])
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        if re.search(r"\$\{[A-Za-z0-9]+\}", definition):
            raise DeployError(f"{logical_id}: the definition keeps {re.search(r'[$][{][A-Za-z0-9]+[}]', definition).group(0)}")
        arn, attributes = self.resolver.physical(logical_id)
        try:
            sfn.create_state_machine(name=attributes["Name"], definition=definition, roleArn=props["RoleArn"])
        except sfn.exceptions.StateMachineAlreadyExists:
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=props["RoleArn"])
        self._created(logical_id, arn, attributes)
        self.answer["state_machines"][logical_id] = arn

    def _events_rule(self, logical_id: str, props: dict[str, Any]) -> None:
        events = self.client("events")
        name = props.get("Name") or f"{self.stack}-{logical_id}"[:64]
        rule: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "ScheduleExpression" in props:
            rule["ScheduleExpression"] = props["ScheduleExpression"]
        if "EventPattern" in props:
            rule["EventPattern"] = json.dumps(props["EventPattern"])
        if "Description" in props:
            rule["Description"] = props["Description"]
        arn = events.put_rule(**rule)["RuleArn"]
        targets = props.get("Targets", [])
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        self._created(logical_id, name, {"Arn": arn})
        self.answer["rules"][logical_id] = {"name": name, "arn": arn, "schedule": props.get("ScheduleExpression")}


    def _config_configrule(self, logical_id: str, props: dict[str, Any]) -> None:
        # A custom rule names its function: created after it (and after its permission).
        name = props.get("ConfigRuleName") or f"{self.stack}-{logical_id}"
        self.client("config").put_config_rule(ConfigRule={**props, "ConfigRuleName": name})
        self._created(logical_id, name, {})
        self.answer.setdefault("config_rules", {})[logical_id] = name

    def _lambda_permission(self, logical_id: str, props: dict[str, Any]) -> None:
        # EventBridge's right to invoke a function (a Schedule event's): created as AWS keeps it;
        # the local EventBridge does not consult it when it delivers.
        aws_lambda = self.client("lambda")
        statement = {
            "FunctionName": props["FunctionName"],
            "StatementId": logical_id[:100],
            "Action": props["Action"],
            "Principal": props["Principal"],
        }
        if "SourceArn" in props:
            statement["SourceArn"] = props["SourceArn"]
        try:
            aws_lambda.add_permission(**statement)
        except aws_lambda.exceptions.ResourceConflictException:
            pass  # a deployment again: the statement is there
        self._created(logical_id, logical_id, {})


_lock = threading.Lock()


def deploy(account: str, region: str, parameters: dict[str, str], stack: str, binaries: Path) -> dict[str, Any]:
    with _lock:
        return Deployment(account, region, parameters, stack, binaries).run()


def _deploy_request(body: dict[str, Any]) -> dict[str, Any]:
    binaries = Path(str(body.get("binaries") or os.environ.get("BULWARK_LOCAL_LAMBDA_BINARIES", "")))
    return deploy(*template.stack_request(body), binaries)


control = template.post_endpoint(PATH, _deploy_request, (DeployError, template.TemplateError))


def install() -> None:
    import moto.moto_api._internal.urls

    moto.moto_api._internal.urls.url_paths["{0}" + PATH] = control
