"""The SAM transform of template.yaml, offline, as `sam deploy` would have AWS do it.

    python infra/aws/sam_transform.py [--region R] [--parameter K=V ...] > template.json
    python infra/aws/sam_transform.py --member > member.json


aws-sam-translator turns the SAM resources into CloudFormation (functions into functions and
roles with their policies, the state machine with its role, the schedule and event rules).
Local CodeUri and DefinitionUri stand in for the packaged artifacts: a placeholder S3 URI
whose key is the code directory's name (target/lambda/<binary>/ -> <binary>.zip, which the
local deploy runs as that binary), and the definition read from its file. Used by the linters (infra/aws/lint/run) and by the
local AWS, which creates the template's roles from the result (infra/local/bulwark_local/template.py).

`--member` writes the member stack's template (Deployment=member) for a StackSet, which with
service-managed permissions cannot take a template that uses a transform ("CloudFormation
StackSets doesn't currently support creating or updating stack sets with service-managed
permissions from templates that reference macros", *Overview of CloudFormation macros*): the
transform's result, with only the resources and outputs whose condition holds in a member
stack (every resource's condition says which deployments make it), the conditions, parameters
and rules they use, and Deployment's default `member`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent / "template.yaml"


def transform(template: Path = TEMPLATE, region: str = "us-east-1", parameters: dict[str, str] | None = None) -> dict[str, Any]:
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(template.read_text())
    for logical_id, resource in sam.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if isinstance(properties.get("CodeUri"), str):
            properties["CodeUri"] = f"s3://bulwark-local-artifacts/{Path(properties['CodeUri']).name}.zip"
        if isinstance(properties.get("DefinitionUri"), str):
            properties["Definition"] = json.loads((template.parent / properties.pop("DefinitionUri")).read_text())
    # The region only fills the transform's pseudo parameters; nothing is called.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    return translator.translate(sam, parameter_values=dict(parameters or {}), get_managed_policy_map=lambda: {})


def _holds(cfn: dict[str, Any], name: str, values: dict[str, Any]) -> bool:
    """A condition of the template, for the given parameter values: the condition functions
    and what this template's conditions compare (Ref of parameters, Fn::Sub, Fn::Split,
    Fn::Select)."""

    def value(node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            return node
        (key, arg), = node.items()
        if key == "Ref":
            return values[arg]
        if key == "Condition":
            return _holds(cfn, arg, values)
        if key == "Fn::Equals":
            return str(value(arg[0])) == str(value(arg[1]))
        if key == "Fn::Not":
            return not value(arg[0])
        if key == "Fn::And":
            return all(value(a) for a in arg)
        if key == "Fn::Or":
            return any(value(a) for a in arg)
        if key == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(values[m.group(1)]), arg)
        if key == "Fn::Split":
            return str(value(arg[1])).split(arg[0])
        if key == "Fn::Select":
            return value(arg[1])[int(value(arg[0]))]
        raise ValueError(f"condition {name}: {key} is not evaluated here")

    return bool(value(cfn["Conditions"][name]))


def _names(*nodes: Any) -> tuple[set[str], set[str]]:
    """The names the nodes refer to: by Ref or Fn::Sub (parameters, resources, pseudo
    parameters), and by Condition or Fn::If (conditions)."""
    refs: set[str] = set()
    conditions: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, arg in node.items():
                if key == "Ref" and isinstance(arg, str):
                    refs.add(arg)
                elif key == "Condition" and isinstance(arg, str):
                    conditions.add(arg)
                elif key == "Fn::If":
                    conditions.add(arg[0])
                elif key == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    refs.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
                walk(arg)

    for node in nodes:
        walk(node)
    return refs, conditions


def member_stack(cfn: dict[str, Any]) -> dict[str, Any]:
    """The transformed template as a member stack: what a member stack does not make dropped,
    with the conditions, parameters and rules that no longer apply."""
    parameters = cfn["Parameters"]
    parameters["Deployment"]["Default"] = "member"
    values = {name: spec.get("Default", "") for name, spec in parameters.items()}

    def kept(section: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in section.items() if "Condition" not in v or _holds(cfn, v["Condition"], values)}

    cfn["Resources"] = kept(cfn["Resources"])
    cfn["Outputs"] = kept(cfn.get("Outputs", {}))
    # What is left refers to some of the conditions and parameters: only those stay, and the
    # rules on them.
    conditions: set[str] = set()
    pending = [c for r in [*cfn["Resources"].values(), *cfn["Outputs"].values()] for c in [r.get("Condition")] if c]
    pending += list(_names(cfn["Resources"], cfn["Outputs"])[1])
    while pending:
        name = pending.pop()
        if name not in conditions:
            conditions.add(name)
            pending += list(_names(cfn["Conditions"][name])[1])
    cfn["Conditions"] = {k: v for k, v in cfn["Conditions"].items() if k in conditions}
    used = _names(cfn["Resources"], cfn["Outputs"], cfn["Conditions"])[0]
    cfn["Parameters"] = {k: v for k, v in parameters.items() if k in used}
    cfn["Rules"] = {k: v for k, v in cfn.get("Rules", {}).items() if _names(v)[0] <= used}
    cfn["Description"] = "Bulwark's member stack: the organization role, AWS Backup's role and the restore role (infra/aws/template.yaml, Deployment=member)."
    return cfn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--member", action="store_true", help="the member stack's template, for a StackSet")
    args = parser.parse_args(argv)
    parameters = dict(p.split("=", 1) for p in args.parameter)
    cfn = transform(args.template, args.region, parameters)
    json.dump(member_stack(cfn) if args.member else cfn, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
