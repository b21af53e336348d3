"""The template deployed to the local AWS: what it refuses, and a function that cannot start,
which fails its execution with the runtime's error instead of hanging it."""

from __future__ import annotations

import json
import random
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bulwark_local import iam


def _post(endpoint: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _account() -> str:
    return str(random.randint(400_000_000_000, 499_999_999_999))


def test_a_deploy_without_the_functions_binaries_names_the_function(endpoint: str, tmp_path: Path) -> None:
    status, answer = _post(endpoint, "/moto-api/bulwark/template/deploy",
                           {"account": _account(), "region": "us-east-1", "binaries": str(tmp_path / "none")})
    assert status == 400
    assert "DiscoverFunction: no binary" in answer["Error"], answer


def test_a_function_that_cannot_start_fails_its_execution_with_the_runtimes_error(endpoint: str, aws: Any, tmp_path: Path) -> None:
    # Given the system deployed with functions that exit at start, as a bad environment makes them
    for name in ("discover", "classify", "assign-policy", "validate-restore", "failover"):
        binary = tmp_path / name
        binary.write_text("#!/bin/sh\necho 'invalid configuration: BULWARK_REGIONS=\"mars\"' >&2\nexit 1\n")
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    account = _account()
    status, deployed = _post(endpoint, "/moto-api/bulwark/template/deploy",
                             {"account": account, "region": "us-east-1", "binaries": str(tmp_path)})
    assert status == 200, deployed

    # When the sweep's schedule fires
    rule = deployed["rules"]["DiscoverAndClassifyFullSweep"]["name"]
    status, fired = _post(endpoint, "/moto-api/bulwark/events/fire", {"account": account, "region": "us-east-1", "rule": rule})
    assert status == 200, fired

    # Then the execution fails, promptly, with the runtime's error and the function's words
    admin = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{iam.ADMIN_ROLE}", RoleSessionName="test")["Credentials"]
    sfn = aws("stepfunctions", credentials={
        "aws_access_key_id": admin["AccessKeyId"], "aws_secret_access_key": admin["SecretAccessKey"],
        "aws_session_token": admin["SessionToken"],
    })
    machine = deployed["state_machines"]["DiscoverAndClassify"]
    deadline = time.time() + 30
    while time.time() < deadline:
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        if executions and executions[0]["status"] != "RUNNING":
            break
        time.sleep(0.1)
    done = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert done["status"] == "FAILED", done
    assert "Runtime.ExitError" in json.dumps(done, default=str), done
    assert "BULWARK_REGIONS" in done.get("cause", ""), done
