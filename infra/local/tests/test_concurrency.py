"""Concurrent clients: no request sees another's half-made change, and a Lambda function that
calls back into the local AWS (Lambda itself included) does not deadlock it."""

from __future__ import annotations

import json
import stat
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from conftest import placeholder_function, unique

REGION = "ap-northeast-2"
CLIENTS = 8
ROUNDS = 15


def _db_work(aws: Any, prefix: str, errors: list[str]) -> None:
    """One client's loop: create a cluster and an instance, and describe them all, again and again."""
    rds = aws("rds", REGION)
    for n in range(ROUNDS):
        try:
            rds.create_db_cluster(
                DBClusterIdentifier=f"{prefix}-c{n}", Engine="aurora-postgresql",
                MasterUsername="admin", MasterUserPassword="password123",
            )
            rds.describe_db_clusters()
            rds.create_db_instance(
                DBInstanceIdentifier=f"{prefix}-i{n}", DBInstanceClass="db.t3.micro", Engine="postgres",
                AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123",
            )
            rds.describe_db_instances()
            rds.list_tags_for_resource(ResourceName=f"arn:aws:rds:{REGION}:123456789012:db:{prefix}-i{n}")
        except ClientError as err:
            meta = err.response["ResponseMetadata"]
            errors.append(f"{err.operation_name}: {meta['HTTPStatusCode']} {err.response['Error']}")


def test_concurrent_clients_creating_and_describing_databases_never_get_a_500(aws: Any) -> None:
    errors: list[str] = []
    threads = [
        threading.Thread(target=_db_work, args=(aws, unique(f"conc{i}"), errors)) for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert errors == []
    rds = aws("rds", REGION)
    clusters = rds.get_paginator("describe_db_clusters").paginate().build_full_result()["DBClusters"]
    assert len([c for c in clusters if c["DBClusterIdentifier"].startswith("conc")]) == CLIENTS * ROUNDS


# ---- a function that calls back into the server ---------------------------------------------

CALLBACK = """#!{python}
# A Runtime API client whose function invokes another function and describes DB clusters,
# through the local AWS, as its role.
import json, os, urllib.request
import boto3

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation"
while True:
    with urllib.request.urlopen(API + "/next") as event:
        request_id = event.headers["Lambda-Runtime-Aws-Request-Id"]
        payload = json.loads(event.read())
    inner = boto3.client("lambda").invoke(FunctionName=payload["inner"], Payload=json.dumps({{"from": "outer"}}).encode())
    clusters = boto3.client("rds").describe_db_clusters()["DBClusters"]
    answer = {{"inner": json.loads(inner["Payload"].read()), "clusters": len(clusters)}}
    urllib.request.urlopen(urllib.request.Request(API + "/" + request_id + "/response", data=json.dumps(answer).encode(), method="POST")).close()
"""


def _role(aws: Any) -> str:
    iam = aws("iam", REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    name = unique("callback")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction", "rds:DescribeDBClusters"], "Resource": "*"},
    ]}
    iam.put_role_policy(RoleName=name, PolicyName="callback", PolicyDocument=json.dumps(allow))
    return arn


def test_a_function_that_calls_back_into_the_local_aws_is_answered(aws: Any, endpoint: str, tmp_path: Path, lambda_runtime: Any) -> None:
    role = _role(aws)
    inner = placeholder_function(aws, REGION, role, unique("inner"))  # answered by the fake runtime (conftest)
    outer = placeholder_function(aws, REGION, role, unique("outer"))
    binary = tmp_path / "callback"
    binary.write_text(CALLBACK.format(python=sys.executable))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    request = urllib.request.Request(
        f"{endpoint}/moto-api/bulwark/lambda/runtime", method="POST",
        data=json.dumps({"arn": outer, "binary": str(binary)}).encode(), headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).close()

    results: list[Any] = []

    def invoke() -> None:
        answer = aws("lambda", REGION).invoke(FunctionName=outer, Payload=json.dumps({"inner": inner}).encode())
        results.append(json.loads(answer["Payload"].read()))

    threads = [threading.Thread(target=invoke) for _ in range(3)]  # one at a time in the one instance
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "an invocation that calls back deadlocked the server"
    assert len(results) == 3
    assert all(r["inner"]["function"] == inner.split(":")[-1] for r in results), results
    assert all(isinstance(r["clusters"], int) for r in results)
