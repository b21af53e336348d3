"""`make demo`'s alerts: AWS Backup's own events paged through the deployed system.

    python infra/local/demo_alerts.py --table orders-live [--region us-east-1]

The on-call's queue is subscribed to the home stack's alert topic, and a trail logs (EventBridge
gets CloudTrail's records only then). A backup of the table (protected by the deployed system,
so its tier is in the state table) completes; then someone who is not Bulwark's backup admin
tries to shorten its recovery point's retention to a day, which the vault guard refuses; and a
backup of a table that does not exist fails. Each page is printed as the queue receives it: the
store, its tier and what happened. Exits non-zero when a page does not arrive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError

VAULT = "bulwark"


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


def on_call_queue(region: str, account: str) -> str:
    sqs = client("sqs", region)
    url = sqs.create_queue(QueueName="demo-on-call")["QueueUrl"]
    client("sns", region).subscribe(
        TopicArn=f"arn:aws:sns:{region}:{account}:bulwark-alerts",
        Protocol="sqs",
        Endpoint=f"arn:aws:sqs:{region}:{account}:demo-on-call",
    )
    return url


def trail(account: str) -> None:
    bucket = f"demo-trail-{account}"
    client("s3", "us-east-1").create_bucket(Bucket=bucket)
    cloudtrail = client("cloudtrail", "us-east-1")
    cloudtrail.create_trail(Name="demo-organization-trail", S3BucketName=bucket, IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="demo-organization-trail")


def next_page(region: str, queue: str, timeout: float = 60.0) -> tuple[str, str]:
    sqs = client("sqs", region)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            envelope = json.loads(message["Body"])
            return envelope.get("Subject", ""), envelope.get("Message", "")
        time.sleep(0.2)
    raise SystemExit("no page arrived on the alert topic")


def show(page: tuple[str, str]) -> None:
    subject, message = page
    print(f"  page: {subject}")
    for line in message.splitlines():
        print(f"    {line}")


def backed_up(region: str, account: str, table: str) -> str:
    backup = client("backup", region)
    job = backup.start_backup_job(
        BackupVaultName=VAULT,
        ResourceArn=f"arn:aws:dynamodb:{region}:{account}:table/{table}",
        IamRoleArn=f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
        Lifecycle={"DeleteAfterDays": 35},  # within the vault lock's 30..3650 days
    )["BackupJobId"]
    for _ in range(300):
        described = backup.describe_backup_job(BackupJobId=job)
        if described["State"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.1)
    if described["State"] != "COMPLETED":
        raise SystemExit(f"the backup of {table} did not complete: {described.get('StatusMessage')}")
    return described["RecoveryPointArn"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    region = args.region
    account = client("sts", region).get_caller_identity()["Account"]
    queue = on_call_queue(region, account)
    trail(account)
    point = backed_up(region, account, args.table)
    print(f"$ aws backup update-recovery-point-lifecycle --backup-vault-name {VAULT} "
          f"--recovery-point-arn {point} --lifecycle DeleteAfterDays=1")
    try:
        client("backup", region).update_recovery_point_lifecycle(
            BackupVaultName=VAULT, RecoveryPointArn=point, Lifecycle={"DeleteAfterDays": 1}
        )
        print("  done")
    except ClientError as err:
        print(f"  refused: {err.response['Error']['Code']}")
    show(next_page(region, queue))
    missing = f"arn:aws:dynamodb:{region}:{account}:table/{args.table}-gone"
    print(f"$ aws backup start-backup-job --backup-vault-name {VAULT} --resource-arn {missing} ...")
    client("backup", region).start_backup_job(
        BackupVaultName=VAULT, ResourceArn=missing,
        IamRoleArn=f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
        Lifecycle={"DeleteAfterDays": 35},
    )
    show(next_page(region, queue))


if __name__ == "__main__":
    sys.exit(main())
