"""Seed a local AWS with a deterministic estate of data stores, and write its manifest.

    python infra/local/estate.py --endpoint URL (--demo | --size N) [--seed S]
        [--regions us-east-1,eu-west-1] [--workers 16] [--reset] --manifest FILE

Every store kind Bulwark discovers (S3 buckets, RDS instances, Aurora clusters with one or
two member instances, DynamoDB tables, EFS file systems, EBS volumes), spread over the
regions, tagged with the mixtures real estates have: every vocabulary of the default
classification rules, keys and values in any case and with stray whitespace, empty and
unknown values, untagged stores, and the same names in two regions for the kinds whose
names are regional.

`--demo` is a fixed, readable estate of a few dozen stores; `--size N` is N stores drawn from
`--seed`. The same arguments always make the same estate; only the ids the server assigns
(EBS volume and EFS file system ids) differ between runs.

The manifest holds one entry per asset Bulwark should find (an Aurora cluster's members are
part of its cluster, not assets of their own) with its ARN, kind, region, name, tags and the
classification DESIGN.md's default precedence gives it, computed here from the rules as
written there and not from Bulwark's code.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

KINDS = ("s3", "rds", "aurora", "dynamodb", "efs", "ebs")
REGIONAL_NAMES = ("rds", "aurora", "dynamodb")
DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
SERVICES = ("s3", "rds", "dynamodb", "efs", "ec2")

# DESIGN.md, "Default precedence", as written there.
TIERS = ("critical", "important", "standard", "archival")
TIER_NUMBERS = {"tier1": "critical", "tier2": "important", "tier3": "standard", "tier4": "archival"}
DATA_CLASSES = {"restricted": "critical", "confidential": "important", "internal": "standard", "public": "standard"}
ENVIRONMENTS = {
    "prod": "critical",
    "production": "critical",
    "staging": "important",
    "test": "important",
    "dev": "standard",
    "development": "standard",
    "sandbox": None,
}
REPRODUCIBLE = "reproducible"
NAME_RULES = (
    (("prod", "production", "critical"), "critical"),
    (("customer", "order", "user"), "important"),
    (("backup", "archive"), "archival"),
    (("temp", "cache"), REPRODUCIBLE),
    (("log",), "standard"),
)
KNOWN_VALUES = {
    "reproducible": {"true", "false"},
    "backuprequired": {"true", "false"},
    "dataclassification": set(TIERS) | set(DATA_CLASSES),
    "backuptier": set(TIER_NUMBERS),
    "tier": set(TIER_NUMBERS),
    "environment": set(ENVIRONMENTS),
    "env": set(ENVIRONMENTS),
}


@dataclass
class Store:
    kind: str
    region: str
    name: str  # the bucket, instance, cluster or table name; "" for EBS and EFS (ids are assigned)
    tags: dict[str, str]
    members: int = 0  # Aurora member instances
    key: str = ""  # unique and stable within the estate


@dataclass
class Expected:
    tier: str | None
    reproducible: bool
    rule: str
    unknown: list[str] = field(default_factory=list)


def words(name: str) -> list[str]:
    """A name's words: split at non-alphanumerics, between letters and digits, at camelCase."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", name)]


def expected(store: Store) -> Expected:
    """The classification DESIGN.md's default precedence gives a store; first match wins."""
    tags = [(k.strip().lower(), v.strip().lower(), k) for k, v in store.tags.items()]
    unknown = sorted(k for nk, nv, k in tags if nk in KNOWN_VALUES and nv not in KNOWN_VALUES[nk])

    def value(*keys: str) -> str | None:
        return next((nv for nk, nv, _ in tags if nk in keys and nv in KNOWN_VALUES[nk]), None)

    def decided(tier: str | None, rule: str) -> Expected:
        if tier == REPRODUCIBLE:
            return Expected(None, True, rule, unknown)
        return Expected(tier, False, rule, unknown)

    if value("reproducible") == "true":
        return decided(REPRODUCIBLE, "reproducible")
    if value("backuprequired") == "false":
        return decided(None, "backup-not-required")
    data_class = value("dataclassification")
    if data_class in TIERS:
        return decided(data_class, "explicit-tier")
    number = value("backuptier", "tier")
    if number:
        return decided(TIER_NUMBERS[number], "explicit-tier")
    if data_class in DATA_CLASSES:
        return decided(DATA_CLASSES[data_class], "data-class")
    environment = value("environment", "env")
    if environment:
        return decided(ENVIRONMENTS[environment], "environment")
    names = [store.name] + [store.tags[k] for nk, _, k in tags if nk == "name"]
    seen = {w for name in names for w in words(name)}
    for patterns, tier in NAME_RULES:
        if any(p in seen or p + "s" in seen for p in patterns):
            return decided(tier, "name")
    return decided("standard", "default")


# The demo: (kind, region index, name, tags, Aurora members). EBS and EFS carry their
# name in the Name tag.
DEMO: list[tuple[str, int, str, dict[str, str], int]] = [
    ("s3", 0, "acme-orders-exports", {"DataClassification": "Confidential", "Owner": "orders-team"}, 0),
    ("s3", 0, "acme-app-logs", {}, 0),
    ("s3", 0, "acme-ml-cache", {"team": "ml-platform"}, 0),
    ("s3", 0, "acme-static-site", {"Reproducible": "TRUE"}, 0),
    ("s3", 0, "acme-finance-archive", {}, 0),
    ("s3", 0, "acme-media-uploads", {"DataClassification": "supersecret"}, 0),
    ("s3", 0, "acme-legal-hold", {"dataclassification": "ARCHIVAL"}, 0),
    ("s3", 0, "acme-customer-invoices", {}, 0),
    ("rds", 0, "orders-prod", {"Environment": "Production", "Team": "commerce"}, 0),
    ("rds", 0, "customer-profiles", {"DataClassification": " Restricted "}, 0),
    ("rds", 0, "billing-staging", {"env": "STAGING"}, 0),
    ("rds", 0, "reporting-replica", {"BackupRequired": "false"}, 0),
    ("rds", 0, "inventory", {"Environment": "dev"}, 0),
    ("aurora", 0, "payments", {"BackupTier": "Tier1"}, 2),
    ("aurora", 0, "user-accounts", {}, 1),
    ("aurora", 0, "analytics-sandbox", {"Environment": "Sandbox"}, 1),
    ("dynamodb", 0, "Orders", {"DataClassification": "Critical"}, 0),
    ("dynamodb", 0, "user-sessions", {"Reproducible": "true", "Environment": "prod"}, 0),
    ("dynamodb", 0, "feature-flags", {"ENV": " prod "}, 0),
    ("dynamodb", 0, "shopping-carts", {"Tier": "tier2"}, 0),
    ("dynamodb", 0, "LegacyOrdersBackup", {}, 0),
    ("dynamodb", 0, "rate-limits", {"Environment": "qa"}, 0),
    ("dynamodb", 0, "price-history", {"DataClassification": "Standard", "CostCenter": "  "}, 0),
    ("efs", 0, "", {"Name": "shared-home", "DataClassification": "Internal"}, 0),
    ("efs", 0, "", {"Name": "build-temp"}, 0),
    ("ebs", 0, "", {"Name": "orders-prod-data"}, 0),
    ("ebs", 0, "", {"Name": "jenkins-cache", "BackupRequired": "False"}, 0),
    ("ebs", 0, "", {}, 0),
    ("ebs", 0, "", {"Name": "audit-archive-vol", "Tier": "Tier4"}, 0),
    ("s3", 1, "acme-orders-exports-eu", {"DataClassification": "important"}, 0),
    ("s3", 1, "acme-eu-access-logs", {"Environment": "Production"}, 0),
    ("s3", 1, "acme-eu-backups", {}, 0),
    ("rds", 1, "orders-prod", {"Environment": "staging"}, 0),
    ("rds", 1, "customer-profiles", {"DataClassification": "Public"}, 0),
    ("aurora", 1, "payments", {"BackupTier": "TIER3"}, 1),
    ("aurora", 1, "ledger-dev", {"Env": "development"}, 1),
    ("dynamodb", 1, "Orders", {"DataClassification": "Critical"}, 0),
    ("dynamodb", 1, "user-sessions", {}, 0),
    ("dynamodb", 1, "session-cache", {"Reproducible": "maybe"}, 0),
    ("dynamodb", 1, "audit-events", {"DataClassification": "", "BackupRequired": "true"}, 0),
    ("dynamodb", 1, "CriticalAlerts", {}, 0),
    ("dynamodb", 1, "ledger-production", {" Owner ": "finance"}, 0),
    ("efs", 1, "", {"Name": "ml-training-data", "Environment": "test"}, 0),
    ("efs", 1, "", {}, 0),
    ("ebs", 1, "", {"Name": "etl-scratch", "Tier": "gold"}, 0),
    ("ebs", 1, "", {"Name": "ProdDatabaseVolume"}, 0),
    ("ebs", 1, "", {"Name": "user-uploads", "DataClassification": "Restricted", "BackupTier": "Tier4"}, 0),
]


def demo_estate(regions: list[str]) -> list[Store]:
    if len(regions) < 2:
        raise SystemExit("--demo needs two regions")
    stores = []
    for i, (kind, region, name, tags, members) in enumerate(DEMO):
        stores.append(Store(kind, regions[region], name, dict(tags), members, key=f"demo-{i:02d}"))
    return stores


# Stems for generated names: the neutral ones contain no word (nor part of a word) that a
# name rule knows; the others carry one or more.
NEUTRAL = (
    "analytics", "billing", "inventory", "search-index", "media", "events", "metrics",
    "payments", "ledger", "notifications", "shipping", "pricing", "recommendations",
    "documents", "images", "telemetry", "checkout", "feeds", "sessions", "reports",
    "geo-tiles", "ml-features", "invoices", "tickets",
)
PATTERNED = (
    "orders", "customer-profiles", "user-accounts", "prod-ledger", "payments-production",
    "critical-events", "nightly-backup", "audit-archive", "temp-uploads", "render-cache",
    "app-logs", "access-log", "orders-archive", "prod-cache", "customers", "users-cache",
    "billing-prod", "search-temp", "clickstream-logs", "db-backups",
)
NOISE_KEYS = ("Owner", "Team", "CostCenter", "Project", "ManagedBy")
NOISE_VALUES = ("platform", "data-eng", "cc-1042", "checkout", "terraform", "payments")


class Tagger:
    """Draws tag sets: every vocabulary of the default rules, in realistic disarray."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.scenarios: list[tuple[int, Callable[[bool], dict[str, str]]]] = [
            (18, lambda messy: {}),
            (4, lambda messy: self.tag(messy, "Reproducible", "true")),
            (2, lambda messy: self.tag(messy, "Reproducible", "false") | self.env(messy)),
            (3, lambda messy: self.tag(messy, "BackupRequired", "false")),
            (2, lambda messy: self.tag(messy, "BackupRequired", "true") | self.tier(messy)),
            (8, lambda messy: self.tier(messy)),
            (8, lambda messy: self.tier_number(messy)),
            (8, lambda messy: self.data_class(messy)),
            (2, lambda messy: self.data_class(messy) | self.tier_number(messy)),
            (3, lambda messy: self.data_class(messy) | self.env(messy)),
            (10, lambda messy: self.env(messy)),
            (4, lambda messy: self.tag(messy, "DataClassification", "supersecret")),
            (2, lambda messy: self.tag(messy, "DataClassification", "supersecret") | self.env(messy)),
            (2, lambda messy: self.tag(messy, rng.choice(("Tier", "BackupTier")), "gold")),
            (2, lambda messy: self.tag(messy, rng.choice(("Environment", "Env")), "qa")),
            (1, lambda messy: self.tag(messy, "Reproducible", "maybe")),
            (1, lambda messy: self.tag(messy, "BackupRequired", "perhaps") | self.data_class(messy)),
            (2, lambda messy: self.tag(messy, "DataClassification", " " if messy else "")),
            (1, lambda messy: self.tag(messy, "Environment", "") if messy else {}),
        ]
        self.weights = [w for w, _ in self.scenarios]

    def variant(self, text: str, messy: bool) -> str:
        """`text` in one of the cases people write, with stray whitespace where the kind keeps it."""
        r = self.rng.random()
        text = text.lower() if r < 0.3 else text.upper() if r < 0.45 else text[:1].upper() + text[1:]
        if messy and self.rng.random() < 0.15:
            text = self.rng.choice((" ", "  ")) + text + self.rng.choice(("", " "))
        return text

    def tag(self, messy: bool, key: str, value: str) -> dict[str, str]:
        return {self.variant(key, messy): self.variant(value, messy) if value.strip() else value}

    def tier(self, messy: bool) -> dict[str, str]:
        return self.tag(messy, "DataClassification", self.rng.choice(TIERS))

    def tier_number(self, messy: bool) -> dict[str, str]:
        key = self.rng.choice(("BackupTier", "Tier"))
        return self.tag(messy, key, self.rng.choice(("Tier1", "Tier2", "Tier3", "Tier4")))

    def data_class(self, messy: bool) -> dict[str, str]:
        return self.tag(messy, "DataClassification", self.rng.choice(("Restricted", "Confidential", "Internal", "Public")))

    def env(self, messy: bool) -> dict[str, str]:
        key = self.rng.choice(("Environment", "Environment", "Env"))
        return self.tag(messy, key, self.rng.choice(list(ENVIRONMENTS)))

    def draw(self, kind: str) -> dict[str, str]:
        """A tag set for a store of `kind`. S3 (as moto serves it) trims tags and drops empty
        values, so S3 tags are never messy."""
        messy = kind != "s3"
        tags = self.rng.choices(self.scenarios, self.weights)[0][1](messy)
        for _ in range(self.rng.choice((0, 0, 1, 2))):
            tags.setdefault(self.rng.choice(NOISE_KEYS), self.rng.choice(NOISE_VALUES))
        named = kind in ("ebs", "efs") and self.rng.random() < 0.75 or self.rng.random() < 0.08
        if named:
            tags["Name"] = self.rng.choice(PATTERNED if self.rng.random() < 0.5 else NEUTRAL) + "-data"
        return tags


def styled(stem: str, kind: str, rng: random.Random) -> str:
    if kind != "dynamodb":
        return stem
    parts = stem.split("-")
    style = rng.randrange(4)
    if style == 1:
        return "".join(p.title() for p in parts)
    if style == 2:
        return parts[0] + "".join(p.title() for p in parts[1:])
    if style == 3:
        return "_".join(parts)
    return stem


def sized_estate(size: int, seed: int, regions: list[str]) -> list[Store]:
    """`size` stores split evenly over the kinds and, within each kind, over the regions."""
    rng = random.Random(seed)
    tagger = Tagger(rng)
    bucket_suffix = f"{rng.getrandbits(32):08x}"
    stores: list[Store] = []
    for k, kind in enumerate(KINDS):
        count = size // len(KINDS) + (1 if k < size % len(KINDS) else 0)
        names_by_region: dict[str, list[str]] = {r: [] for r in regions}
        taken: dict[str, set[str]] = {r: set() for r in regions}
        for i in range(count):
            region = regions[i % len(regions)]
            stem = rng.choice(PATTERNED if rng.random() < 0.5 else NEUTRAL)
            if kind == "s3":
                name = f"{stem}-{i:05d}-{bucket_suffix}"
            elif kind in REGIONAL_NAMES:
                recent = [n for n in names_by_region[regions[0]][-8:] if n not in taken[region]]
                if region != regions[0] and recent and rng.random() < 0.3:
                    name = rng.choice(recent)
                else:
                    name = styled(stem, kind, rng) + ("_" if kind == "dynamodb" and rng.random() < 0.3 else "-")
                    name += f"{i:05d}"
            else:
                name = ""
            if name:
                names_by_region[region].append(name)
                taken[region].add(name)
            members = rng.choice((1, 2)) if kind == "aurora" else 0
            stores.append(Store(kind, region, name, tagger.draw(kind), members, key=f"{kind}-{i:05d}"))
    return stores


class Seeder:
    """Creates stores with boto3 clients shared by a pool of threads (boto3 clients are
    thread-safe; sessions are not, so every client is made up front).

    moto's RDS is not thread-safe (a new Aurora member iterates the region's instances while
    another request may add one), so RDS work is serialized per region; the kinds are
    interleaved so that the other kinds keep the pool busy meanwhile.
    """

    def __init__(self, endpoint: str, regions: list[str], workers: int, credentials: dict[str, str] | None = None) -> None:
        creds = credentials or {
            "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "aws_session_token": os.environ.get("AWS_SESSION_TOKEN"),
        }
        session = boto3.session.Session(**creds)
        config = Config(max_pool_connections=workers + 4, retries={"mode": "standard", "max_attempts": 5})
        self.workers = workers
        self.clients = {
            (service, region): session.client(service, region_name=region, endpoint_url=endpoint, config=config)
            for service in SERVICES + ("sts",)
            for region in regions
        }
        self.account = self.clients[("sts", regions[0])].get_caller_identity()["Account"]
        self.rds_locks = {region: threading.Lock() for region in regions}

    def client(self, service: str, region: str) -> Any:
        return self.clients[(service, region)]

    def create(self, store: Store) -> dict[str, Any]:
        tag_list = [{"Key": k, "Value": v} for k, v in store.tags.items()]
        region, account = store.region, self.account
        entry: dict[str, Any] = {}
        if store.kind == "s3":
            s3 = self.client("s3", region)
            params: dict[str, Any] = {"Bucket": store.name}
            if region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(**params)
            if tag_list:
                s3.put_bucket_tagging(Bucket=store.name, Tagging={"TagSet": tag_list})
            arn, name = f"arn:aws:s3:::{store.name}", store.name
        elif store.kind == "rds":
            with self.rds_locks[region]:
                self.client("rds", region).create_db_instance(
                    DBInstanceIdentifier=store.name,
                    Engine="postgres",
                    DBInstanceClass="db.t3.micro",
                    AllocatedStorage=20,
                    MasterUsername="bulwark",
                    MasterUserPassword="not-a-secret-1",
                    Tags=tag_list,
                )
            arn, name = f"arn:aws:rds:{region}:{account}:db:{store.name}", store.name
        elif store.kind == "aurora":
            rds = self.client("rds", region)
            members = [f"{store.name}-instance-{m + 1}" for m in range(store.members)]
            with self.rds_locks[region]:
                rds.create_db_cluster(
                    DBClusterIdentifier=store.name,
                    Engine="aurora-postgresql",
                    MasterUsername="bulwark",
                    MasterUserPassword="not-a-secret-1",
                    Tags=tag_list,
                )
                for member in members:
                    rds.create_db_instance(
                        DBInstanceIdentifier=member,
                        DBClusterIdentifier=store.name,
                        Engine="aurora-postgresql",
                        DBInstanceClass="db.r6g.large",
                        Tags=tag_list,
                    )
            entry["members"] = members
            arn, name = f"arn:aws:rds:{region}:{account}:cluster:{store.name}", store.name
        elif store.kind == "dynamodb":
            params = {
                "TableName": store.name,
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if tag_list:
                params["Tags"] = tag_list
            self.client("dynamodb", region).create_table(**params)
            arn, name = f"arn:aws:dynamodb:{region}:{account}:table/{store.name}", store.name
        elif store.kind == "efs":
            made = self.client("efs", region).create_file_system(CreationToken=store.key, Tags=tag_list)
            name = made["FileSystemId"]
            arn = f"arn:aws:elasticfilesystem:{region}:{account}:file-system/{name}"
        else:
            params = {"AvailabilityZone": f"{region}a", "Size": 8, "VolumeType": "gp3"}
            if tag_list:
                params["TagSpecifications"] = [{"ResourceType": "volume", "Tags": tag_list}]
            name = self.client("ec2", region).create_volume(**params)["VolumeId"]
            arn = f"arn:aws:ec2:{region}:{account}:volume/{name}"
        want = expected(store)
        return {
            "key": store.key,
            "arn": arn,
            "kind": store.kind,
            "account": account,
            "region": region,
            "name": name,
            "tags": store.tags,
            **entry,
            "expected_tier": want.tier,
            "expected_reproducible": want.reproducible,
            "expected_rule": want.rule,
            "expected_unknown": want.unknown,
        }

    def seed(self, stores: list[Store]) -> list[dict[str, Any]]:
        """Create the stores; the entries come back in the order of `stores`."""
        rank: dict[str, int] = {}
        order = []
        for i, store in enumerate(stores):
            rank[store.kind] = rank.get(store.kind, -1) + 1
            order.append((rank[store.kind], i))
        order.sort()
        with ThreadPoolExecutor(self.workers) as pool:
            made = dict(zip((i for _, i in order), pool.map(self.create, (stores[i] for _, i in order))))
        return [made[i] for i in range(len(stores))]


def reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="the local AWS, e.g. http://127.0.0.1:4566")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--size", type=int, help="how many stores to generate")
    which.add_argument("--demo", action="store_true", help="the fixed, readable demo estate")
    parser.add_argument("--seed", type=int, default=1, help="the random seed of --size (default 1)")
    parser.add_argument("--regions", default=",".join(DEFAULT_REGIONS))
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--reset", action="store_true", help="forget everything the local AWS holds first")
    parser.add_argument("--manifest", type=Path, required=True, help="where to write the manifest (JSON)")
    args = parser.parse_args(argv)

    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    stores = demo_estate(regions) if args.demo else sized_estate(args.size, args.seed, regions)
    if args.reset:
        reset(args.endpoint)
    started = time.monotonic()
    seeder = Seeder(args.endpoint, regions, args.workers)
    try:
        assets = seeder.seed(stores)
    except ClientError as err:
        if err.response["Error"]["Code"] != "SnapshotQuotaExceeded":
            raise
        raise SystemExit(
            "the local AWS refused an RDS instance: moto takes an automated snapshot of every DB "
            "instance and caps them at 1000 a region; start it with MOTO_RDS_SNAPSHOT_LIMIT=1000000"
        ) from err
    seconds = round(time.monotonic() - started, 2)
    manifest = {
        "estate": "demo" if args.demo else "sized",
        "size": len(assets),
        "seed": None if args.demo else args.seed,
        "account": seeder.account,
        "regions": regions,
        "seed_seconds": seconds,
        "assets": assets,
    }
    args.manifest.parent.mkdir(parents=True, exist_ok=True)
    args.manifest.write_text(json.dumps(manifest, indent=1) + "\n")
    counts = {kind: sum(1 for a in assets if a["kind"] == kind) for kind in KINDS}
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"seeded {len(assets)} stores ({summary}) in {seconds} s; manifest {args.manifest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
