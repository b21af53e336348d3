"""`make demo`'s failover: the demo's application failed over to its DR region, drilled first.

    python infra/local/demo_failover.py --bulwark target/debug/bulwark --config .local-aws/demo-failover.toml

The application `orders` is the demo's critical stores in the home region (from `bulwark inventory --format json`),
listed by ARN. Its switches, as they are before the failover: an SSM parameter in the DR region that clients read the
database's address from, and a Route 53 ARC routing control of the DR region's cell, Off. Databases restore in the DR
region into a DB subnet group of their own, made here. The configuration (the built-in one, the application, the DR
region's restore prerequisites) is written to --config. Then, every failover command from the DR region: a drill
isolated from us-east-1; us-east-1 taken down (the local AWS answers every call signed for it with 503); the plan asked
from us-east-1 out of habit, which says in one line where to run it; the plan and the failover from us-west-2; us-east-1
back; `failover readiness`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3

HOME = "us-east-1"
PARAMETER = "/acme/orders/table"


def run(bulwark: str, config: str, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    command = [bulwark, "--config", config, *args]
    print(f"$ bulwark {' '.join(args)}", flush=True)
    return subprocess.run(command, check=True, text=True, capture_output=capture)


def network(dr_region: str) -> tuple[str, str]:
    """A VPC, two subnets, a DB subnet group and a security group in the DR region."""
    ec2 = boto3.client("ec2", region_name=dr_region)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{dr_region}{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    group = "orders-dr"
    boto3.client("rds", region_name=dr_region).create_db_subnet_group(
        DBSubnetGroupName=group, DBSubnetGroupDescription="orders, failed over", SubnetIds=subnets
    )
    security_group = ec2.create_security_group(GroupName="orders-dr", Description="orders, failed over", VpcId=vpc)["GroupId"]
    return group, security_group


def routing_control(dr_region: str) -> tuple[str, list[dict[str, str]]]:
    """A Route 53 ARC cluster and a routing control for the DR region's cell, Off: its ARN and the
    cluster's endpoints (ARC's configuration API answers in us-west-2 only)."""
    arc = boto3.client("route53-recovery-control-config", region_name="us-west-2")
    cluster = arc.create_cluster(ClusterName="acme-orders")["Cluster"]["ClusterArn"]
    endpoints = arc.describe_cluster(ClusterArn=cluster)["Cluster"]["ClusterEndpoints"]
    control = arc.create_routing_control(ClusterArn=cluster, RoutingControlName=f"orders-{dr_region}")
    return control["RoutingControl"]["RoutingControlArn"], endpoints


def routing_control_state(arn: str, endpoints: list[dict[str, str]]) -> str:
    """The routing control's state, through the first endpoint that answers."""
    for endpoint in endpoints:
        client = boto3.client(
            "route53-recovery-cluster", region_name=endpoint["Region"], endpoint_url=endpoint["Endpoint"]
        )
        try:
            return client.get_routing_control_state(RoutingControlArn=arn)["RoutingControlState"]
        except Exception:  # noqa: BLE001 - an endpoint in the region that is down: the next one
            continue
    return "?"


def local_aws(path: str, body: dict | None = None, method: str = "POST") -> None:
    """A control call to the local AWS (its faults, its replication)."""
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    request = urllib.request.Request(
        f"{endpoint}{path}", data=json.dumps(body or {}).encode(), method=method,
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulwark", required=True, help="the CLI binary")
    parser.add_argument("--config", required=True, help="where the configuration file is written")
    args = parser.parse_args()
    rows = json.loads(subprocess.run([args.bulwark, "inventory", "--format", "json"], check=True, capture_output=True, text=True).stdout)
    stores = [r for r in rows if r.get("tier") == "critical" and r.get("state") == "present" and r.get("region") == HOME]
    database = next((r for r in stores if r["kind"] in ("aurora", "rds")), None)
    table = next((r for r in stores if r["kind"] == "dynamodb"), None)
    if database is None or table is None:
        print("the demo estate has no critical database and table in us-east-1: no failover to show")
        return 1
    account = boto3.client("sts", region_name=HOME).get_caller_identity()["Account"]
    # The built-in configuration, which the demo ran with so far.
    base = (Path(__file__).resolve().parents[2] / "crates/core/default-config.toml").read_text()
    dr_region = "us-west-2"
    group, security_group = network(dr_region)
    boto3.client("ssm", region_name=dr_region).put_parameter(Name=PARAMETER, Value=table["name"], Type="String", Overwrite=True)
    control, endpoints = routing_control(dr_region)
    cluster_endpoints = ", ".join(f'{{ url = "{e["Endpoint"]}", region = "{e["Region"]}" }}' for e in endpoints)
    arns = ", ".join(json.dumps(r["arn"]) for r in stores)
    Path(args.config).write_text(
        f"{base}\n"
        f'[restore_prerequisites."{dr_region}"]\ndb_subnet_group = "{group}"\nsecurity_groups = ["{security_group}"]\n\n'
        f'[[applications]]\nname = "orders"\nprimary_region = "{HOME}"\ndr_region = "{dr_region}"\nstores = {{ arns = [{arns}] }}\n'
        f'[[applications.switches]]\nkind = "ssm"\nparameter = "{PARAMETER}"\nvalue = "{{{database["name"]}.endpoint}}"\n'
        f'[[applications.switches]]\nkind = "routing_control"\narn = "{control}"\ncluster_endpoints = [{cluster_endpoints}]\nvalue = "On"\n'
    )
    print(f"the application orders: {len(stores)} critical stores of us-east-1, the parameter {PARAMETER} (the database "
          f"clients connect to), and the ARC routing control of the {dr_region} cell, Off")
    print(f"(configuration: {args.config})\n", flush=True)
    # Every failover command runs from the DR region, where the state table has its replica.
    os.environ["AWS_REGION"] = dr_region
    local_aws("/moto-api/bulwark/dynamodb/replication/flush")

    print(f"== the drill, from {dr_region}, isolated from {HOME}: every call to {HOME} denied, every restored copy deleted", flush=True)
    drill = subprocess.run([
        args.bulwark, "--config", args.config, "failover", "drill", "--app", "orders", "--isolate-primary",
        "--isolation-role", f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
    ])
    if drill.returncode != 0:
        print("the drill failed: no failover")
        return 1

    print(f"\n== {HOME} goes down: the local AWS answers every call signed for it with 503, IAM, Route 53 and STS's "
          f"global endpoint included", flush=True)
    local_aws("/moto-api/bulwark/faults", {
        "account": account, "service": "*", "region": HOME, "status": 503, "code": "ServiceUnavailable",
        "message": f"{HOME} is down",
    })
    home = subprocess.run([args.bulwark, "--config", args.config, "failover", "plan", "--app", "orders"],
                          env={**os.environ, "AWS_REGION": HOME}, capture_output=True, text=True)
    print(f"$ AWS_REGION={HOME} bulwark failover plan --app orders\n{home.stderr.strip()}\n", flush=True)

    print(f"== the plan, from {dr_region}", flush=True)
    run(args.bulwark, args.config, "failover", "plan", "--app", "orders")
    plan = json.loads(run(args.bulwark, args.config, "failover", "plan", "--app", "orders", "--format", "json", capture=True).stdout)
    hash_ = plan["plan"]["hash"][:16]
    print(f"plan hash {hash_}\n")
    print(f"== the failover, from {dr_region}, with the plan's hash, --confirm and --primary-down", flush=True)
    executed = subprocess.run([
        args.bulwark, "--config", args.config, "failover", "execute", "--app", "orders", "--plan-hash", hash_,
        "--confirm", "--primary-down", "--reason", f"make demo: {HOME} is down (the local AWS answers 503)", "--requested-by", "demo",
        "--poll-seconds", "0.2",
    ])
    parameter = boto3.client("ssm", region_name=dr_region).get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    print(f"\n{PARAMETER} = {parameter}; the routing control is {routing_control_state(control, endpoints)}")

    print(f"\n== {HOME} is back", flush=True)
    local_aws(f"/moto-api/bulwark/faults?account={account}", method="DELETE")
    print("\n== readiness: could each application, and each store with a cross-region copy, fail over now?", flush=True)
    run(args.bulwark, args.config, "failover", "readiness")
    return executed.returncode


if __name__ == "__main__":
    sys.exit(main())
