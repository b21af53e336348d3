"""Deploy infra/aws/template.yaml to the local AWS that AWS_ENDPOINT_URL names, into the
account of the current credentials, with the functions running the built binaries.

    python infra/local/deploy.py --binaries target/debug [--region us-east-1]
        [--dr-region us-west-2 ...] [--parameter K=V ...] [--recovery-parameter K=V ...]

The home stack is deployed first, in --region; with --dr-region, its state table gets a
replica in each DR region (StateReplicaRegions), and then a recovery stack (Deployment=recovery)
is deployed in each DR region, on the home stack's table (StateTableName, from its
InventoryTableName output) and sending AWS Backup's events home (HomeRegion), as
docs/deployment.md orders them. --parameter goes to every stack,
--recovery-parameter to the recovery stacks only (e.g. EvidenceLockDays, which a recovery stack
needs). Prints what each stack created. A template the transform or the local AWS refuses stops
the deploy with the resource and the reason (exit status 1).
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
        raise SystemExit(f"deploy refused ({region}): {json.load(err).get('Error', err.reason)}") from err


def deploy_all(
    endpoint: str,
    binaries: Path,
    region: str,
    dr_regions: list[str],
    parameters: dict[str, str],
    recovery_parameters: dict[str, str],
) -> list[tuple[str, str, dict[str, Any]]]:
    """The home stack, then a recovery stack in each DR region: (kind, region, answer) each."""
    home_parameters = dict(parameters)
    if dr_regions:
        home_parameters.setdefault("StateReplicaRegions", ",".join(dr_regions))
    home = deploy(endpoint, binaries, region, home_parameters)
    stacks = [("home", region, home)]
    shared = {k: v for k, v in parameters.items() if k not in ("StateReplicaRegions", "StateTableName")}
    for dr_region in dr_regions:
        recovery = {
            **shared,
            **recovery_parameters,
            "Deployment": "recovery",
            "StateTableName": home["outputs"]["InventoryTableName"],
            "HomeRegion": region,
        }
        stacks.append(("recovery", dr_region, deploy(endpoint, binaries, dr_region, recovery)))
    return stacks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--binaries", type=Path, required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--dr-region", action="append", default=[], metavar="REGION")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--recovery-parameter", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    parameters = dict(p.split("=", 1) for p in args.parameter)
    recovery_parameters = dict(p.split("=", 1) for p in args.recovery_parameter)
    stacks = deploy_all(args.endpoint, args.binaries, args.region, args.dr_region, parameters, recovery_parameters)
    for kind, region, answer in stacks:
        print(f"{kind} stack in {region}:")
        for logical_id, physical in answer["resources"].items():
            print(f"  {logical_id:<42} {physical}")
        for logical_id, function in answer["functions"].items():
            print(f"  {logical_id:<42} runs {function['binary']}")
        for name, value in answer.get("outputs", {}).items():
            print(f"  output {name:<35} {value}")


if __name__ == "__main__":
    sys.exit(main())
