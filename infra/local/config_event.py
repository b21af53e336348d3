"""A new data store and its AWS Config change event, through the deployed system: create a
DynamoDB table tagged as critical data, put AWS Config's "Configuration Item Change" event for
it on the bus, wait for the state machine's execution, and report the event-to-protected
latency and what protects the table now.

    python infra/local/config_event.py [--name orders-<time>] [--region us-east-1]

Used by `make demo` and `make bench`. Exits non-zero when the execution does not succeed or
the table is not protected.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "config-change-dynamodb-create.json"
STATE_MACHINE = "bulwark-discover-classify"


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


def protect_new_table(name: str, region: str, timeout: float = 120.0) -> dict[str, Any]:
    account = client("sts", region).get_caller_identity()["Account"]
    ddb = client("dynamodb", region)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "DataClassification", "Value": "Critical"}],
    )
    arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
    event = json.loads(SAMPLE.read_text().replace("123456789012", account).replace("eu-west-1", region).replace("orders", name))
    event["detail"]["configurationItem"]["tags"] = {"DataClassification": "Critical"}
    sfn = client("stepfunctions", region)
    machine = f"arn:aws:states:{region}:{account}:stateMachine:{STATE_MACHINE}"
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    sent = time.monotonic()
    client("events", region).put_events(Entries=[{
        "Source": event["source"], "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]), "Resources": event["resources"],
    }])
    while True:
        new = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["executionArn"] not in before]
        if new and new[0]["status"] != "RUNNING":
            break
        if time.monotonic() - sent > timeout:
            raise SystemExit(f"no execution ended within {timeout:.0f} s")
        time.sleep(0.05)
    latency = time.monotonic() - sent
    execution = sfn.describe_execution(executionArn=new[0]["executionArn"])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    return {
        "table": arn,
        "status": execution["status"],
        "error": execution.get("error"),
        "latency_seconds": round(latency, 3),
        "tier_tag": tags.get("bulwark:tier"),
        "pitr": pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "output": json.loads(execution.get("output") or "null"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default=f"orders-{int(time.time())}")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    result = protect_new_table(args.name, args.region)
    print(f"table {result['table']}: execution {result['status']} in {result['latency_seconds']:.2f} s "
          f"(event on the bus -> protected); tier tag {result['tier_tag']}, PITR {result['pitr']}")
    if result["status"] != "SUCCEEDED" or result["tier_tag"] is None:
        raise SystemExit(f"not protected: {result['error']} {result['output']}")


if __name__ == "__main__":
    sys.exit(main())
