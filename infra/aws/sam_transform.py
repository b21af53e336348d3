"""The SAM transform of template.yaml, offline, as `sam deploy` would have AWS do it.

    python infra/aws/sam_transform.py [--region R] [--parameter K=V ...] > template.json

aws-sam-translator turns the SAM resources into CloudFormation (functions into functions and
roles with their policies, the state machine with its role, the schedule and event rules).
Local CodeUri and DefinitionUri stand in for the packaged artifacts: a placeholder S3 URI
whose key is the code directory's name (target/lambda/<binary>/ -> <binary>.zip, which the
local deploy runs as that binary), and the definition read from its file. Used by the linters (infra/aws/lint/run) and by the
local AWS, which creates the template's roles from the result (infra/local/bulwark_local/template.py).
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    parameters = dict(p.split("=", 1) for p in args.parameter)
    json.dump(transform(args.template, args.region, parameters), sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
