"""`make demo`'s central backup account: the critical tier's copies landing in another account.

    python infra/local/demo_central.py --bulwark target/debug/bulwark [--region us-east-1]

The demo account becomes an organization's management account, and a new member account its
central backup account. `bulwark apply`, with a configuration whose critical tier keeps a copy
there for 7 years, makes the central vault in that account (reached through the organization's
OrganizationAccountAccessRole) and adds the copy to the critical plans; the local AWS runs the
plans, and the central vault is listed from inside the central account. Then `bulwark report`
judges the cross-account control for the critical stores. Exits non-zero when no copy lands.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
VAULT = "bulwark-central"
ORG_ROLE = "OrganizationAccountAccessRole"


def client(service: str, region: str, **credentials: str) -> Any:
    return boto3.client(
        service, region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), **credentials
    )


def organization(region: str) -> str:
    orgs = client("organizations", region)
    try:
        return orgs.describe_organization()["Organization"]["Id"]
    except ClientError:
        return orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]


def central_account(region: str) -> str:
    orgs = client("organizations", region)
    status = orgs.create_account(Email="central-backup@example.com", AccountName="central-backup")
    return orgs.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]


def bulwark(binary: str, config: Path, *args: str) -> str:
    env = {**os.environ, "BULWARK_CONFIG": str(config), "BULWARK_ORG_ROLE": ORG_ROLE}
    done = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bulwark {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulwark", required=True)
    parser.add_argument("--region", default="us-east-1", help="the central vault's region")
    parser.add_argument("--regions", default="us-east-1,eu-west-1", help="where the plans run")
    args = parser.parse_args()
    region = args.region
    account = client("sts", region).get_caller_identity()["Account"]
    org_id = organization(region)
    central = central_account(region)
    text = (ROOT / "crates/core/default-config.toml").read_text().replace(
        "[tiers.critical]\n", '[tiers.critical]\ncentral_retention = "2555d"\n', 1
    )
    text += f'\n[central_backup]\naccount = "{central}"\norganization_id = "{org_id}"\nregion = "{region}"\n'
    config = ROOT / ".local-aws/demo-central.toml"
    config.write_text(text)
    print(f"organization {org_id}: the demo account {account} and the central backup account {central}")
    print("critical keeps a copy there 7 years (central_retention = \"2555d\", [central_backup])")

    applied = bulwark(args.bulwark, config, "apply").strip().splitlines()
    print("bulwark apply:", applied[-1] if applied else "")

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    for plans_region in args.regions.split(","):
        request = urllib.request.Request(
            f"{endpoint}/moto-api/bulwark/backup/run-plans?account={account}&region={plans_region}",
            method="POST",
            data=b"{}",
        )
        urllib.request.urlopen(request).read()

    creds = client("sts", region).assume_role(
        RoleArn=f"arn:aws:iam::{central}:role/{ORG_ROLE}", RoleSessionName="demo"
    )["Credentials"]
    backup = client(
        "backup",
        region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    deadline = time.time() + 60
    points: list[dict[str, Any]] = []
    while time.time() < deadline:
        time.sleep(2)
        points = [
            p
            for p in backup.list_recovery_points_by_backup_vault(BackupVaultName=VAULT)["RecoveryPoints"]
            if p["Status"] == "COMPLETED"
        ]
        if points:
            break
    if not points:
        sys.exit(f"no copy landed in {central}'s vault {VAULT}")
    print(f"in account {central}, vault {VAULT} ({region}), listed from inside that account:")
    for p in points:
        print(f"  {p['ResourceArn']}  kept {p['Lifecycle']['DeleteAfterDays']} days  ({p['RecoveryPointArn']})")

    report = json.loads(bulwark(args.bulwark, config, "report", "--format", "json"))
    critical = [a for a in report["assets"] if a.get("tier") == "critical"]
    verdicts = {
        (a["name"], a["arn"]): c
        for a in critical
        for c in a["controls"]
        if c["control"] == "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT"
    }
    compliant = sorted(name for (name, _), c in verdicts.items() if c["status"] == "compliant")
    print(
        f"bulwark report: BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT compliant for {len(compliant)} "
        f"of {len(critical)} critical stores ({', '.join(compliant)})"
    )
    for (_, arn), verdict in sorted(verdicts.items()):
        if verdict["status"] != "compliant":
            print(f"  {arn}: {verdict['status']}: {verdict.get('reason') or verdict.get('why')}")


if __name__ == "__main__":
    main()
