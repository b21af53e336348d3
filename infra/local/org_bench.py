"""The organization-scale benchmark `make bench` runs: one estate in many accounts and regions,
swept by each discovery source.

    python infra/local/org_bench.py --endpoint URL --bulwark PATH [--accounts 20]
        [--regions us-east-1,eu-west-1,us-west-2,ap-southeast-2] [--size 20000] [--seed 1]
        [--sources api,config,aggregator] [--json]

On a freshly reset local AWS: an organization of --accounts accounts (the caller's and
--accounts - 1 members made with CreateAccount, each entered through
OrganizationAccountAccessRole), estate.py's estate of --size stores dealt over them, a
configuration recorder recording every supported type in each account and region, and an
aggregator over the organization in the first region. Then, for each source, into a state table
of its own: `bulwark discover` (the organization through OrganizationAccountAccessRole) twice,
each measured for wall time and peak RSS, with the AWS calls by operation and the inventory
records written; then `bulwark inventory` against the manifest (recall, tags) and against the
other sources' inventories (the same rows). Exits 1 when a source's recall is below 100%, a
second sweep writes a record, or the sources' inventories differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

import estate
from bench import compare, is_state_call, measured

ADMIN_ROLE = "OrganizationAccountAccessRole"
AGGREGATOR = "bulwark-bench"
DEFAULT_REGIONS = "us-east-1,eu-west-1,us-west-2,ap-southeast-2"
# What the inventory records of a store regardless of when it was swept: compared across sources.
SWEEP_TIMES = {"first_seen", "last_seen"}


def organization(endpoint: str, region: str, accounts: int) -> list[tuple[str, dict[str, str]]]:
    """The caller's organization with `accounts` accounts: each id with its credentials."""
    base = {
        "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    }
    session = boto3.session.Session(**base)
    client = lambda service: session.client(service, region_name=region, endpoint_url=endpoint)  # noqa: E731
    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    management = client("sts").get_caller_identity()["Account"]
    out = [(management, base)]
    for n in range(1, accounts):
        made = org.create_account(AccountName=f"workload-{n:02d}", Email=f"workload-{n:02d}@example.com")
        member = made["CreateAccountStatus"]["AccountId"]
        creds = client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{member}:role/{ADMIN_ROLE}", RoleSessionName="org-bench", DurationSeconds=43200
        )["Credentials"]
        out.append((member, {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }))
    return out


def record_everything(endpoint: str, account: str, credentials: dict[str, str], regions: list[str]) -> None:
    session = boto3.session.Session(**credentials)
    for region in regions:
        config = session.client("config", region_name=region, endpoint_url=endpoint)
        config.put_configuration_recorder(ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
            "recordingGroup": {"allSupported": True},
        })
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": f"config-{account}"})
        config.start_configuration_recorder(ConfigurationRecorderName="default")


def aggregate(endpoint: str, management: str, regions: list[str]) -> None:
    config = boto3.client("config", region_name=regions[0], endpoint_url=endpoint,
                          aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                          aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    config.put_configuration_aggregator(
        ConfigurationAggregatorName=AGGREGATOR,
        OrganizationAggregationSource={
            "RoleArn": f"arn:aws:iam::{management}:role/config-aggregator",
            "AwsRegions": regions,
            "AllAwsRegions": False,
        },
    )


def seed(endpoint: str, members: list[tuple[str, dict[str, str]]], regions: list[str], size: int, seed_value: int,
         workers: int) -> list[dict[str, Any]]:
    """estate.py's estate, its stores dealt over the accounts in turn."""
    stores = estate.sized_estate(size, seed_value, regions)
    assets: list[dict[str, Any]] = []
    for n, (_, credentials) in enumerate(members):
        mine = stores[n::len(members)]
        assets.extend(estate.Seeder(endpoint, regions, workers, credentials).seed(mine))
    return assets


def sweep(bulwark: str, env: dict[str, str], source: str, table: str) -> dict[str, Any]:
    env = dict(env, BULWARK_TABLE=table, BULWARK_DISCOVERY_SOURCE="config" if source != "api" else "api")
    if source == "aggregator":
        env["BULWARK_CONFIG_AGGREGATOR"] = AGGREGATOR
    subprocess.run([bulwark, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    runs = []
    for _ in range(2):
        run = measured([bulwark, "discover", "--format", "json"], env)
        summary = json.loads(run.pop("stdout"))
        calls = summary["calls"]
        runs.append({
            **run,
            "records_written": summary["written"],
            "listing_calls": {op: n for op, n in sorted(calls.items()) if not is_state_call(op)},
            "state_calls": {op: n for op, n in sorted(calls.items()) if is_state_call(op)},
            "failures": len(summary.get("failures", [])),
            "config_fallbacks": len(summary.get("config_fallbacks", [])),
            "from_config": len(summary.get("from_config", [])),
        })
    inventory = json.loads(subprocess.run([bulwark, "inventory", "--format", "json"], env=env, check=True,
                                          capture_output=True, text=True).stdout)
    return {"first": runs[0], "second": runs[1], "inventory": inventory}


def comparable(inventory: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rows a source decides, by ARN: the bench's own state tables and sweep times aside."""
    return {
        row["arn"]: {k: v for k, v in row.items() if k not in SWEEP_TIMES}
        for row in inventory
        if not row["name"].startswith("bulwark-bench")
    }


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"Bulwark organization benchmark: {figures['size']} stores in {figures['accounts']} accounts x "
        f"{len(figures['regions'])} regions ({', '.join(figures['regions'])}), seeded in {figures['seed_seconds']} s",
        "",
    ]
    for source, run in figures["sources"].items():
        first, second, c = run["first"], run["second"], run["comparison"]
        lines += [
            f"source {source}: recall {c['found']}/{c['manifest']} = {c['recall']:.2%}, extra {len(c['extra'])}, "
            f"tags as written {c['found'] - len(c['tag_mismatches'])}/{c['found']}",
            f"  first sweep   wall {first['wall_seconds']:7.2f} s  peak RSS {first['peak_rss_mib']:6.1f} MiB  "
            f"CPU {first['cpu_seconds']:.2f} s  records written {first['records_written']}  "
            f"scopes/kinds from Config {first['from_config']}, fallbacks {first['config_fallbacks']}, failures {first['failures']}",
            *[f"    {op:<58} {n:>6}" for op, n in first["listing_calls"].items()],
            f"    {'AWS calls but the state table':<58} {sum(first['listing_calls'].values()):>6}",
            *[f"    {op + ' (state table)':<58} {n:>6}" for op, n in first["state_calls"].items()],
            f"  second sweep  wall {second['wall_seconds']:7.2f} s  peak RSS {second['peak_rss_mib']:6.1f} MiB  "
            f"CPU {second['cpu_seconds']:.2f} s  records written {second['records_written']} (target 0)  "
            f"AWS calls but the state table {sum(second['listing_calls'].values())}; state table "
            + ", ".join(f"{op} {n}" for op, n in second["state_calls"].items()),
            "",
        ]
    lines.append("inventories alike across sources: " + ("yes" if figures["sources_agree"] else "NO: " + "; ".join(figures["differences"][:10])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="a running local AWS; it is reset first")
    parser.add_argument("--bulwark", required=True, type=Path, help="the bulwark binary (a release build)")
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--regions", default=DEFAULT_REGIONS)
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sources", default="api,config,aggregator")
    parser.add_argument("--workers", type=int, default=16, help="threads seeding each account")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    say = (lambda *_: None) if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
    estate.reset(args.endpoint)
    started = time.monotonic()
    say(f"an organization of {args.accounts} accounts, {args.size} stores over {len(regions)} regions ...")
    accounts = organization(args.endpoint, regions[0], args.accounts)
    assets = seed(args.endpoint, accounts, regions, args.size, args.seed, args.workers)
    for account, credentials in accounts:
        record_everything(args.endpoint, account, credentials, regions)
    aggregate(args.endpoint, accounts[0][0], regions)
    seed_seconds = round(time.monotonic() - started, 2)
    manifest = {"account": accounts[0][0], "regions": regions, "assets": assets}

    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=args.endpoint,
        AWS_REGION=regions[0],
        AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        AWS_EC2_METADATA_DISABLED="true",
        BULWARK_REGIONS=",".join(regions),
        BULWARK_ORG_ROLE=ADMIN_ROLE,
    )
    env.pop("AWS_SESSION_TOKEN", None)
    results: dict[str, Any] = {}
    for source in sources:
        say(f"seeded in {seed_seconds} s; sweeping from {source} twice ...")
        table = f"bulwark-bench-{source}"
        run = sweep(str(args.bulwark), env, source, table)
        inventory = [row for row in run.pop("inventory") if not row["name"].startswith("bulwark-bench")]
        run["comparison"] = compare(manifest, inventory, table)
        run["rows"] = comparable(inventory)
        results[source] = run

    differences = []
    reference = next(iter(results.values()))["rows"] if results else {}
    for source, run in results.items():
        rows = run.pop("rows")
        for arn in sorted(set(reference) | set(rows)):
            if reference.get(arn) != rows.get(arn):
                differences.append(f"{source}: {arn}")
    for run in results.values():
        comparison = run["comparison"]
        for key in ("disagreements", "unknown_value_mismatches", "unclassified", "disagreements_by_expected_rule"):
            comparison.pop(key, None)
        comparison.pop("classification_agreement", None)
    figures = {
        "size": args.size,
        "accounts": args.accounts,
        "regions": regions,
        "seed_seconds": seed_seconds,
        "sources": results,
        "sources_agree": not differences,
        "differences": differences,
    }
    print(json.dumps(figures, indent=1) if args.json else report(figures))
    ok = not differences and all(
        r["comparison"]["recall"] == 1.0 and r["second"]["records_written"] == 0 for r in results.values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
