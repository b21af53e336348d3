"""The deployment template's IAM roles, created on the local AWS from infra/aws/template.yaml
itself, so that tests run each function's code under exactly what the template grants.

    POST /moto-api/bulwark/template/roles
         {"account": "<12 digits>", "region": "us-east-1",
          "parameters": {"OrgRole": "..."},            optional: template parameters
          "stack": "bulwark"}                           optional: the role names' prefix

The SAM transform is done offline by aws-sam-translator, as `sam deploy` would have it done
(infra/aws/sam_transform.py). Every AWS::IAM::Role
of the transformed template is then created (or its inline policies replaced) in the
account, with the template's intrinsic functions resolved: Ref and Fn::GetAtt of parameters,
pseudo parameters and the template's own resources (their physical names: the name properties
the template gives, else `<stack>-<logical id>`), Fn::Sub, Fn::Join, Fn::Split, Fn::Select,
Fn::If and the condition functions. A role the template does not name is named
`<stack>-<region>-<logical id>`: IAM is global, and CloudFormation's generated names are unique
per stack, so that the same stack in two regions of an account (a home and a recovery stack)
has roles of its own in each. A role's `ManagedPolicyArns` are attached (AWS managed ones
too: AWS Backup's service role restores with AWSBackupServiceRolePolicyForRestores), except
those the transform attaches to function roles (AWSLambdaBasicExecutionRole,
AWSXrayWriteOnlyAccess): they grant only CloudWatch Logs and X-Ray, which the functions' code
never calls itself.

The answer maps each role's logical id to its ARN, each function's logical id to its role's
logical id, each resource's logical id to its physical name (its Ref), and each role's
logical id to its inline policies as created, for the resources whose condition holds:
{"roles": {...}, "functions": {...}, "resources": {...}, "policies": {...}}.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from moto.iam.models import iam_backends
from moto.utilities.utils import get_partition

PATH = "/moto-api/bulwark/template/roles"
TEMPLATE = Path(__file__).resolve().parents[2] / "aws" / "template.yaml"
JSON = {"Content-Type": "application/json"}


class TemplateError(Exception):
    pass


@lru_cache(maxsize=8)
def transformed(template: str, region: str, parameters: str) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes (cached by its inputs)."""
    sys.path.insert(0, str(TEMPLATE.parent))
    from sam_transform import transform

    return transform(Path(template), region, json.loads(parameters))


class Resolver:
    """CloudFormation's intrinsic functions, for the values IAM roles use."""

    def __init__(self, template: dict[str, Any], account: str, region: str, stack: str, parameters: dict[str, str]):
        self.template = template
        self.stack = stack
        partition = get_partition(region)
        self.values: dict[str, Any] = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": partition,
            "AWS::StackName": stack,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no value and no default")
            # A list parameter's Ref is its items, as CloudFormation splits them.
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [item.strip() for item in value.split(",")]
            self.values[name] = value
        self.account, self.region, self.partition = account, region, partition
        # Resources a deployment created: their Ref and attributes as AWS gave them.
        self.created: dict[str, tuple[str, dict[str, str]]] = {}

    def physical(self, logical_id: str) -> tuple[str, dict[str, str]]:
        """A resource's Ref and attributes."""
        if logical_id in self.created:
            return self.created[logical_id]
        resource = self.template["Resources"].get(logical_id)
        if resource is None:
            raise TemplateError(f"no resource or parameter {logical_id}")
        kind, props = resource["Type"], resource.get("Properties", {})
        p, r, a = self.partition, self.region, self.account
        default = f"{self.stack}-{logical_id}"
        if kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            # A global table's Ref is its name, its Arn the replica's in the stack's region.
            name = self.resolve(props.get("TableName")) or default
            return name, {"Arn": f"arn:{p}:dynamodb:{r}:{a}:table/{name}"}
        if kind == "AWS::S3::Bucket":
            # AWS generates a globally unique name; locally the account and region make it so.
            name = self.resolve(props.get("BucketName", f"{default}-{a}-{r}".lower()[:63]))
            return name, {"Arn": f"arn:{p}:s3:::{name}"}
        if kind == "AWS::SNS::Topic":
            name = self.resolve(props.get("TopicName", default))
            arn = f"arn:{p}:sns:{r}:{a}:{name}"
            return arn, {"TopicArn": arn, "TopicName": name}
        if kind == "AWS::Lambda::Function":
            name = self.resolve(props.get("FunctionName", default))
            return name, {"Arn": f"arn:{p}:lambda:{r}:{a}:function:{name}"}
        if kind == "AWS::StepFunctions::StateMachine":
            name = self.resolve(props.get("StateMachineName", default))
            arn = f"arn:{p}:states:{r}:{a}:stateMachine:{name}"
            return arn, {"Arn": arn, "Name": name}
        if kind == "AWS::IAM::Role":
            name = self.resolve(props.get("RoleName")) or role_name(self.stack, r, logical_id)
            return name, {"Arn": f"arn:{p}:iam::{a}:role{props.get('Path', '/')}{name}"}
        if kind == "AWS::KMS::Key":
            # AWS picks a key's id; locally it is derived from the stack and logical id.
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account}/{self.stack}/{logical_id}"))
            return key_id, {"Arn": f"arn:{p}:kms:{r}:{a}:key/{key_id}", "KeyId": key_id}
        if kind == "AWS::Events::Rule":
            name = self.resolve(props.get("Name", default))
            return name, {"Arn": f"arn:{p}:events:{r}:{a}:rule/{name}"}
        raise TemplateError(f"{logical_id}: no physical name is known for {kind}")

    def ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        return self.physical(name)[0]

    def get_att(self, logical_id: str, attribute: str) -> str:
        attributes = self.physical(logical_id)[1]
        if attribute not in attributes:
            raise TemplateError(f"{logical_id}.{attribute} is not known")
        return attributes[attribute]

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def check_parameters(self, parameters: dict[str, str]) -> None:
        """Each given parameter is one the template has, and within its AllowedValues and
        AllowedPattern, as CloudFormation checks them."""
        specs = self.template.get("Parameters", {})
        for name, value in parameters.items():
            if name not in specs:
                raise TemplateError(f"parameter {name} is not in the template")
            spec, text = specs[name], str(value)
            if "AllowedValues" in spec and text not in [str(v) for v in spec["AllowedValues"]]:
                raise TemplateError(f"parameter {name}: {text!r} is not one of {spec['AllowedValues']}")
            if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], text):
                raise TemplateError(f"parameter {name}: {text!r} does not match {spec['AllowedPattern']}")

    def check_rules(self) -> None:
        """The template's Rules, as CloudFormation checks them before it creates anything: a
        rule whose RuleCondition holds (or that has none) needs each Assert to hold, else the
        deploy fails with its AssertDescription. Only the functions this template's rules use
        are known (Ref of parameters, Fn::Equals, Fn::Not, Fn::And, Fn::Or)."""
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not self.resolve(assertion["Assert"]):
                    raise TemplateError(f"rule {name}: {assertion.get('AssertDescription', 'an assertion failed')}")

    def outputs(self) -> dict[str, Any]:
        """The template's Outputs, those whose condition holds, with their values resolved."""
        return {
            name: self.resolve(output["Value"])
            for name, output in self.template.get("Outputs", {}).items()
            if "Condition" not in output or self.condition(output["Condition"])
        }

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self.sub(arg[0], {k: self.resolve(v) for k, v in arg[1].items()})
                return self.sub(arg, {})
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                # CloudFormation compares strings: a Number parameter's "0" equals a literal 0.
                left, right = (_scalar(self.resolve(v)) for v in arg)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                if not isinstance(arg[0], str):
                    raise TemplateError("Fn::Join's delimiter must be a string")
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::Select":
                index, items = self.resolve(arg[0]), self.resolve(arg[1])
                if not isinstance(items, list) or not 0 <= int(index) < len(items):
                    raise TemplateError(f"Fn::Select: no item {index} in {items!r}")
                return items[int(index)]
            if key == "Fn::Split":
                delimiter, text = arg[0], self.resolve(arg[1])
                if not isinstance(delimiter, str) or not isinstance(text, str):
                    raise TemplateError("Fn::Split takes a delimiter and a string")
                return text.split(delimiter)
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not resolved here")
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not None}


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def role_name(stack: str, region: str, logical_id: str) -> str:
    """A role's name when the template gives none: the stack, the region and the logical id,
    within IAM's 64 characters (a hash of the whole in place of what does not fit)."""
    name = f"{stack}-{region}-{logical_id}"
    if len(name) <= 64:
        return name
    digest = uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:12]
    return f"{name[:51]}-{digest}"


_lock = threading.Lock()


def deploy_roles(account: str, region: str, parameters: dict[str, str], stack: str = "bulwark", template: Path = TEMPLATE) -> dict[str, Any]:
    with _lock:
        return _deploy_roles(account, region, parameters, stack, template)


def stack_template(account: str, region: str, parameters: dict[str, str], stack: str, template: Path = TEMPLATE) -> tuple[dict[str, Any], Resolver]:
    """The transformed template (a copy of its own) and a resolver for its intrinsics."""
    cfn = copy.deepcopy(transformed(str(template), region, json.dumps(parameters, sort_keys=True)))
    return cfn, Resolver(cfn, account, region, stack, parameters)


def _deploy_roles(account: str, region: str, parameters: dict[str, str], stack: str, template: Path) -> dict[str, Any]:
    cfn, resolver = stack_template(account, region, parameters, stack, template)
    # As CloudFormation, before anything is made.
    resolver.check_parameters(parameters)
    resolver.check_rules()
    return create_roles(cfn, resolver, account, region, stack, template)


# What the SAM transform attaches to a function's role: CloudWatch Logs and X-Ray only, which
# the functions' code never calls itself.
TRANSFORM_MANAGED_POLICIES = ("AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSXRayDaemonWriteAccess")


def _attach_managed(backend: Any, role_name: str, arns: list[str]) -> None:
    """The role's ManagedPolicyArns (AWS Backup's service role has AWS's managed policies for
    backups and restores), but those the transform adds to function roles."""
    attached = set(backend.get_role(role_name).managed_policies)
    for arn in arns:
        if arn.rsplit("/", 1)[-1] not in TRANSFORM_MANAGED_POLICIES and arn not in attached:
            backend.attach_role_policy(arn, role_name)


def create_roles(cfn: dict[str, Any], resolver: Resolver, account: str, region: str, stack: str, template: Path = TEMPLATE) -> dict[str, Any]:
    """Every IAM role of the transformed template, created (or its policies replaced)."""
    backend = iam_backends[account][get_partition(region)]
    roles: dict[str, str] = {}
    functions: dict[str, str] = {}
    resources: dict[str, str] = {}
    policies: dict[str, list[dict[str, Any]]] = {}
    for logical_id, resource in cfn["Resources"].items():
        # A resource whose condition is false is not in the stack (a recovery stack's).
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        try:
            resources[logical_id] = resolver.physical(logical_id)[0]
        except TemplateError:
            pass
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"].get("Role", {})
            if isinstance(role, dict) and "Fn::GetAtt" in role:
                functions[logical_id] = role["Fn::GetAtt"][0]
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resolver.resolve(resource["Properties"])
        name, attributes = resolver.physical(logical_id)
        try:
            role = backend.get_role(name)
        except Exception:
            role = backend.create_role(
                role_name=name,
                assume_role_policy_document=json.dumps(props["AssumeRolePolicyDocument"]),
                path=props.get("Path", "/"),
                permissions_boundary=None,
                description=f"{stack} {logical_id}, from {template.name}",
                tags=[],
                max_session_duration="3600",
            )
        # Replace in place, then drop what the template no longer has: a role in use is never
        # without its policies.
        policies[logical_id] = []
        for policy in props.get("Policies", []):
            document = dict(policy["PolicyDocument"])
            document.setdefault("Version", "2012-10-17")
            backend.put_role_policy(name, policy["PolicyName"], json.dumps(document))
            policies[logical_id].append({"PolicyName": policy["PolicyName"], "PolicyDocument": document})
        wanted = {p["PolicyName"] for p in policies[logical_id]}
        for stale in [p for p in role.policies if p not in wanted]:
            backend.delete_role_policy(name, stale)
        _attach_managed(backend, name, props.get("ManagedPolicyArns", []))
        roles[logical_id] = attributes["Arn"]
    return {"roles": roles, "functions": functions, "resources": resources, "policies": policies}


Control = Callable[[Any, str, Any], tuple[int, dict[str, str], str]]


def post_endpoint(path: str, handle: Callable[[dict[str, Any]], dict[str, Any]], errors: tuple[type[Exception], ...]) -> Control:
    """A control endpoint of the local AWS: POST a JSON body, get JSON back; the `errors`
    `handle` raises for a bad request are a 400 naming them."""

    def control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        if request.method != "POST":
            return 405, JSON, json.dumps({"Error": f"POST to {path}"})
        try:
            answer = handle(json.loads(request.data or b"{}"))
        except (ValueError, KeyError, *errors) as err:
            return 400, JSON, json.dumps({"Error": f"{type(err).__name__}: {err}"})
        return 200, JSON, json.dumps(answer)

    return control


def stack_request(body: dict[str, Any]) -> tuple[str, str, dict[str, str], str]:
    """The account, region, parameters and stack name a control request names."""
    account, region = str(body.get("account", "")), str(body.get("region", "us-east-1"))
    if not re.fullmatch(r"\d{12}", account):
        raise TemplateError(f"account must be 12 digits, not {account!r}")
    return account, region, dict(body.get("parameters") or {}), str(body.get("stack") or "bulwark")


control = post_endpoint(PATH, lambda body: deploy_roles(*stack_request(body)), (TemplateError,))


def install() -> None:
    import moto.moto_api._internal.urls

    moto.moto_api._internal.urls.url_paths["{0}" + PATH] = control
