"""`make demo`'s failover: the demo's application failed over to its DR region, drilled first.

    python infra/local/demo_failover.py --bulwark target/debug/bulwark --config .local-aws/demo-failover.toml

The application `orders` is the demo's critical stores in the home region (from `bulwark inventory --format json`),
listed by ARN. Its switches, as they are before the failover: a CNAME in a hosted zone pointing at the primary
database, and an SSM parameter in the DR region naming the primary table. Databases restore in the DR region into a
DB subnet group of their own, made here. The configuration (the built-in one, the application, the DR region's
restore prerequisites) is written to --config. Then: `failover plan`, `failover drill`, `failover execute` with the
plan's hash and --confirm, and `failover readiness`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

HOME = "us-east-1"
ZONE = "acme.example"
RECORD = "orders-db.acme.example"
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


def switches(dr_region: str, database: str, table: str) -> str:
    """The record and the parameter as they are before any failover; the zone's id."""
    route53 = boto3.client("route53", region_name=HOME)
    zone = route53.create_hosted_zone(Name=ZONE, CallerReference=f"demo-{os.getpid()}")["HostedZone"]["Id"].split("/")[-1]
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": RECORD, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": f"{database}.primary.acme.example"}]}}]},
    )
    boto3.client("ssm", region_name=dr_region).put_parameter(Name=PARAMETER, Value=table, Type="String", Overwrite=True)
    return zone


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
    # The built-in configuration, which the demo ran with so far.
    base = (Path(__file__).resolve().parents[2] / "crates/core/default-config.toml").read_text()
    dr_region = "us-west-2"
    group, security_group = network(dr_region)
    zone = switches(dr_region, database["name"], table["name"])
    arns = ", ".join(json.dumps(r["arn"]) for r in stores)
    Path(args.config).write_text(
        f"{base}\n"
        f'[restore_prerequisites."{dr_region}"]\ndb_subnet_group = "{group}"\nsecurity_groups = ["{security_group}"]\n\n'
        f'[[applications]]\nname = "orders"\nprimary_region = "{HOME}"\ndr_region = "{dr_region}"\nstores = {{ arns = [{arns}] }}\n'
        f'[[applications.switches]]\nkind = "route53"\nzone_id = "{zone}"\nname = "{RECORD}"\ntype = "CNAME"\nttl = 60\n'
        f'value = "{{{database["name"]}.endpoint}}"\n'
        f'[[applications.switches]]\nkind = "ssm"\nparameter = "{PARAMETER}"\nvalue = "{{{table["name"]}.name}}"\n'
    )
    print(f"the application orders: {len(stores)} critical stores of us-east-1, a CNAME {RECORD}, the parameter {PARAMETER}")
    print(f"(configuration: {args.config})\n", flush=True)

    run(args.bulwark, args.config, "failover", "plan", "--app", "orders")
    print("\n== the drill: everything but the switches, every restored copy deleted", flush=True)
    drill = subprocess.run([args.bulwark, "--config", args.config, "failover", "drill", "--app", "orders"])
    if drill.returncode != 0:
        print("the drill failed: no failover")
        return 1
    plan = json.loads(run(args.bulwark, args.config, "failover", "plan", "--app", "orders", "--format", "json", capture=True).stdout)
    hash_ = plan["plan"]["hash"][:16]
    print(f"plan hash {hash_}\n")
    print("== the failover, with the plan's hash and --confirm", flush=True)
    executed = subprocess.run([
        args.bulwark, "--config", args.config, "failover", "execute", "--app", "orders", "--plan-hash", hash_,
        "--confirm", "--reason", "make demo: us-east-1 is down", "--requested-by", "demo", "--poll-seconds", "0.2",
    ])
    record = boto3.client("route53", region_name=HOME).list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    value = next((s["ResourceRecords"][0]["Value"] for s in record if s["Name"] == RECORD + "."), "?")
    parameter = boto3.client("ssm", region_name=dr_region).get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    print(f"\n{RECORD} now answers {value}; {PARAMETER} = {parameter}")
    print("\n== readiness: could each application, and each store with a cross-region copy, fail over now?", flush=True)
    run(args.bulwark, args.config, "failover", "readiness")
    return executed.returncode


if __name__ == "__main__":
    sys.exit(main())
