"""Backup selection semantics, as the AWS Backup documentation states them."""

from __future__ import annotations

import pytest

from bulwark_local.backup.kinds import Resource
from bulwark_local.backup.selection import selects

TABLE = Resource("arn:aws:dynamodb:us-east-1:123456789012:table/orders", "DynamoDB", "orders", {"tier": "critical", "env": "prod"})
TMP = Resource("arn:aws:dynamodb:us-east-1:123456789012:table/tmp-x", "DynamoDB", "tmp-x", {"tier": "critical"})
VOLUME = Resource("arn:aws:ec2:us-east-1:123456789012:volume/vol-1", "EBS", "vol-1", {"env": "production"})
BUCKET = Resource("arn:aws:s3:::logs", "S3", "logs", {})

ALL = [TABLE, TMP, VOLUME, BUCKET]


def chosen(selection: dict) -> list[str]:
    return [r.name for r in ALL if selects(selection, r)]


@pytest.mark.parametrize(
    ("selection", "names"),
    [
        ({"Resources": ["*"]}, ["orders", "tmp-x", "vol-1", "logs"]),
        ({"Resources": ["*"], "NotResources": ["arn:aws:ec2:*:*:volume/*"]}, ["orders", "tmp-x", "logs"]),
        ({"Resources": ["arn:aws:dynamodb:*:*:table/*", "arn:aws:s3:::logs"]}, ["orders", "tmp-x", "logs"]),
        ({"Resources": ["arn:aws:dynamodb:us-west-2:*:table/*"]}, []),
        (
            {"ListOfTags": [
                {"ConditionType": "STRINGEQUALS", "ConditionKey": "tier", "ConditionValue": "critical"},
                {"ConditionType": "STRINGEQUALS", "ConditionKey": "aws:ResourceTag/env", "ConditionValue": "production"},
            ]},
            ["orders", "tmp-x", "vol-1"],
        ),
        (
            {"Resources": ["arn:aws:s3:::*"], "ListOfTags": [
                {"ConditionType": "STRINGEQUALS", "ConditionKey": "env", "ConditionValue": "production"},
            ]},
            ["vol-1", "logs"],
        ),
        (
            {"Resources": ["*"], "Conditions": {
                "StringLike": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod*"}],
                "StringNotEquals": [{"ConditionKey": "aws:ResourceTag/tier", "ConditionValue": "critical"}],
            }},
            ["vol-1"],
        ),
        (
            {"Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/tier", "ConditionValue": "critical"}]}},
            ["orders", "tmp-x"],
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringNotLike": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod*"}]}},
            ["tmp-x", "logs"],
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/tier", "ConditionValue": "Critical"}]}},
            [],
        ),
        (
            {"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "tier", "ConditionValue": "critical"}],
             "NotResources": ["arn:aws:dynamodb:*:*:table/tmp-*"]},
            ["orders"],
        ),
        ({}, []),
    ],
)
def test_selection(selection: dict, names: list[str]) -> None:
    assert chosen(selection) == names
