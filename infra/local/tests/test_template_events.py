"""The deployment template's EventBridge rule for AWS Config changes, as the SAM transform
writes it, against the project's sample events: the six kinds Bulwark protects start the
state machine (full and oversized notifications), any other resource type does not. Matched
by the local AWS's own event-pattern matcher (moto's, $or included)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "infra" / "aws"))

from sam_transform import transform  # noqa: E402


@pytest.fixture(scope="module")
def config_change_pattern() -> EventPattern:
    resources = transform()["Resources"]
    rule = resources["DiscoverAndClassifyDataStoreChanged"]
    return EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))


def _event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())


@pytest.mark.parametrize(
    ("sample", "starts"),
    [
        ("config-change-dynamodb-create.json", True),
        ("config-change-rds-delete.json", True),
        ("config-change-s3-oversized.json", True),
        ("config-change-unsupported.json", False),
        ("schedule.json", False),
    ],
)
def test_only_the_six_kinds_start_the_state_machine(config_change_pattern: EventPattern, sample: str, starts: bool) -> None:
    assert config_change_pattern.matches_event(_event(sample)) is starts


def test_every_kind_is_in_the_pattern(config_change_pattern: EventPattern) -> None:
    event = _event("config-change-dynamodb-create.json")
    for resource_type in ["AWS::S3::Bucket", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DynamoDB::Table", "AWS::EFS::FileSystem", "AWS::EC2::Volume"]:
        event["detail"]["configurationItem"]["resourceType"] = resource_type
        assert config_change_pattern.matches_event(event), resource_type
    event["detail"]["configurationItem"]["resourceType"] = "AWS::EC2::Instance"
    assert not config_change_pattern.matches_event(event)
