"""The estate generator (infra/local/estate.py): deterministic, faithful to DESIGN.md's default
precedence, and it creates exactly the stores its manifest lists."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import estate

REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNT = "210987654321"  # an account of this test's own, so no other test's stores are counted


def test_the_same_seed_makes_the_same_estate() -> None:
    first = estate.sized_estate(300, 7, REGIONS)
    assert first == estate.sized_estate(300, 7, REGIONS)
    assert [estate.expected(s) for s in first] == [estate.expected(s) for s in estate.sized_estate(300, 7, REGIONS)]
    assert first != estate.sized_estate(300, 8, REGIONS)


def test_a_sized_estate_splits_over_kinds_and_regions() -> None:
    stores = estate.sized_estate(600, 1, REGIONS)
    assert Counter(s.kind for s in stores) == {kind: 100 for kind in estate.KINDS}
    assert Counter(s.region for s in stores) == {region: 300 for region in REGIONS}
    assert len({(s.kind, s.region, s.name) for s in stores if s.name}) == len([s for s in stores if s.name])
    for kind in estate.REGIONAL_NAMES:
        names = [{s.name for s in stores if s.kind == kind and s.region == r} for r in REGIONS]
        assert names[0] & names[1], f"no {kind} name is used in both regions"
    assert all(1 <= s.members <= 2 for s in stores if s.kind == "aurora")
    rules = Counter(estate.expected(s).rule for s in stores)
    assert set(rules) == {"reproducible", "backup-not-required", "explicit-tier", "data-class", "environment", "name", "default"}
    assert any(estate.expected(s).unknown for s in stores)
    assert any(k != k.strip() or v != v.strip() for s in stores for k, v in s.tags.items())


def test_the_demo_covers_every_kind_rule_and_outcome() -> None:
    stores = estate.demo_estate(REGIONS)
    outcomes = [estate.expected(s) for s in stores]
    assert 30 <= len(stores) <= 50
    assert {s.kind for s in stores} == set(estate.KINDS)
    assert {o.rule for o in outcomes} == {"reproducible", "backup-not-required", "explicit-tier", "data-class", "environment", "name", "default"}
    assert {o.tier for o in outcomes} == {*estate.TIERS, None}
    assert any(o.reproducible for o in outcomes) and any(o.unknown for o in outcomes)
    same_name = Counter((s.kind, s.name) for s in stores if s.kind in estate.REGIONAL_NAMES)
    assert {kind for (kind, _), n in same_name.items() if n == 2} == set(estate.REGIONAL_NAMES)


@pytest.mark.parametrize(
    ("name", "tags", "tier", "reproducible", "rule", "unknown"),
    [
        ("orders-prod", {" reproducible ": "TRUE", "Environment": "prod"}, None, True, "reproducible", []),
        ("orders", {"BackupRequired": "false "}, None, False, "backup-not-required", []),
        ("x", {"Reproducible": "false", "BackupRequired": "true", "ENV": "dev"}, "standard", False, "environment", []),
        ("x", {"dataclassification": " Critical"}, "critical", False, "explicit-tier", []),
        ("x", {"DataClassification": "Restricted", "BackupTier": "Tier4"}, "archival", False, "explicit-tier", []),
        ("x", {"DataClassification": "Confidential", "Environment": "prod"}, "important", False, "data-class", []),
        ("x", {"Env": "Sandbox"}, None, False, "environment", []),
        ("orders-cache", {"DataClassification": "supersecret"}, "important", False, "name", ["DataClassification"]),
        ("OrdersProd", {"Tier": "gold"}, "critical", False, "name", ["Tier"]),
        ("", {"Name": "build-temp", "Environment": ""}, None, True, "name", ["Environment"]),
        ("app-logs", {}, "standard", False, "name", []),
        ("nightly-backups", {}, "archival", False, "name", []),
        ("geo-tiles", {"Owner": "data-eng"}, "standard", False, "default", []),
    ],
)
def test_expected_follows_the_default_precedence(
    name: str, tags: dict[str, str], tier: str | None, reproducible: bool, rule: str, unknown: list[str]
) -> None:
    assert estate.expected(estate.Store("dynamodb", "us-east-1", name, tags)) == estate.Expected(tier, reproducible, rule, unknown)


def _tags(tag_list: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tag_list}


def _listed(client: Any) -> dict[str, tuple[str, dict[str, str]]]:
    """Every store in the account, by ARN, with its region and tags, as the AWS APIs list them."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    s3 = client("s3", REGIONS[0])
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            tags = _tags(s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"])
        except ClientError:
            tags = {}
        found[f"arn:aws:s3:::{bucket['Name']}"] = (bucket["BucketRegion"], tags)
    for region in REGIONS:
        rds = client("rds", region)
        for db in rds.describe_db_instances()["DBInstances"]:
            if "DBClusterIdentifier" not in db:
                found[db["DBInstanceArn"]] = (region, _tags(db["TagList"]))
        for cluster in rds.describe_db_clusters()["DBClusters"]:
            found[cluster["DBClusterArn"]] = (region, _tags(cluster["TagList"]))
        dynamodb = client("dynamodb", region)
        for table in dynamodb.list_tables()["TableNames"]:
            arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
            found[arn] = (region, _tags(dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]))
        for fs in client("efs", region).describe_file_systems()["FileSystems"]:
            found[fs["FileSystemArn"]] = (region, _tags(fs["Tags"]))
        for volume in client("ec2", region).describe_volumes()["Volumes"]:
            found[f"arn:aws:ec2:{region}:{ACCOUNT}:volume/{volume['VolumeId']}"] = (region, _tags(volume.get("Tags", [])))
    return found


def test_seeding_creates_exactly_the_manifests_stores(endpoint: str) -> None:
    creds = boto3.client(
        "sts", region_name=REGIONS[0], endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole", RoleSessionName="estate")["Credentials"]
    credentials = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    stores = estate.sized_estate(60, 3, REGIONS)
    seeder = estate.Seeder(endpoint, REGIONS, workers=8, credentials=credentials)
    assert seeder.account == ACCOUNT
    manifest = seeder.seed(stores)

    def client(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint, **credentials)

    listed = _listed(client)
    assert {a["arn"]: (a["region"], a["tags"]) for a in manifest} == listed
    for store, entry in zip(stores, manifest, strict=True):
        assert (entry["kind"], entry["region"], entry["tags"]) == (store.kind, store.region, store.tags)
        if store.name:
            assert entry["name"] == store.name
        want = estate.expected(store)
        assert (entry["expected_tier"], entry["expected_reproducible"]) == (want.tier, want.reproducible)
    members = [
        (region, db["DBClusterIdentifier"], db["DBInstanceIdentifier"])
        for region in REGIONS
        for db in client("rds", region).describe_db_instances()["DBInstances"]
        if "DBClusterIdentifier" in db
    ]
    assert sorted(members) == sorted((a["region"], a["name"], m) for a in manifest for m in a.get("members", []))
