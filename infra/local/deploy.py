"""Deploy infra/aws/template.yaml to the local AWS that AWS_ENDPOINT_URL names, into the
account of the current credentials, with the functions running the built binaries.

    python infra/local/deploy.py --binaries target/debug [--region us-east-1] [--parameter K=V ...]

Prints what was created. A template the transform or the local AWS refuses stops the deploy
with the resource and the reason (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3


def deploy(endpoint: str, binaries: Path, region: str, parameters: dict[str, str]) -> dict[str, Any]:
    account = boto3.client("sts", region_name=region, endpoint_url=endpoint).get_caller_identity()["Account"]
    body = {"account": account, "region": region, "parameters": parameters, "binaries": str(binaries.resolve())}
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/template/deploy",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        raise SystemExit(f"deploy refused: {json.load(err).get('Error', err.reason)}") from err


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--binaries", type=Path, required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    parameters = dict(p.split("=", 1) for p in args.parameter)
    answer = deploy(args.endpoint, args.binaries, args.region, parameters)
    for logical_id, physical in answer["resources"].items():
        print(f"  {logical_id:<42} {physical}")
    for logical_id, function in answer["functions"].items():
        print(f"  {logical_id:<42} runs {function['binary']}")


if __name__ == "__main__":
    sys.exit(main())
