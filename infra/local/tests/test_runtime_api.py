"""The Lambda Runtime API that runs the functions' binaries: an answer, an error, and a
binary that dies at start, which is answered, never waited on forever."""

from __future__ import annotations

import json
import random
import stat
from pathlib import Path
from typing import Any

from bulwark_local import iam, runtime_api


def _function(tmp_path: Path, name: str, script: str) -> runtime_api.Function:
    binary = tmp_path / name
    binary.write_text("#!/bin/sh\n" + script)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    account = str(random.randint(300_000_000_000, 399_999_999_999))
    iam.ensure_admin_role(account)
    function = runtime_api.Function(
        name=name,
        arn=f"arn:aws:lambda:us-east-1:{account}:function:{name}",
        binary=binary,
        role_arn=f"arn:aws:iam::{account}:role/{iam.ADMIN_ROLE}",
        account=account,
        region="us-east-1",
        environment={"GREETING": "hello"},
        timeout_seconds=20,
    )
    runtime_api.register(function)
    return function


# A runtime written against the Runtime API with curl: echo the event with the greeting, or
# report an error when the event asks for one.
RUNTIME = r'''
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | tr -d '\r' | cut -d' ' -f2)
  case "$event" in
    *fail*) curl -sS -X POST "$api/invocation/$id/error" -d '{"errorType":"Bulwark.Retryable","errorMessage":"throttled"}' ;;
    *) curl -sS -X POST "$api/invocation/$id/response" -d "{\"greeting\":\"$GREETING\",\"role\":\"${AWS_ACCESS_KEY_ID:+set}\"}" ;;
  esac
done
'''


def test_a_binary_answers_through_the_runtime_api(tmp_path: Path) -> None:
    function = _function(tmp_path, "echo", RUNTIME)
    body, error = runtime_api.invoke(function.arn, b'{"hello": 1}')
    assert error is None
    assert json.loads(body) == {"greeting": "hello", "role": "set"}
    body, error = runtime_api.invoke(function.arn, b'{"please": "fail"}')
    assert error == "Unhandled"
    assert json.loads(body)["errorType"] == "Bulwark.Retryable"
    assert runtime_api.init_times()["echo"], "the cold start's init time is recorded"


def test_a_binary_that_dies_at_start_is_an_error_not_a_hang(tmp_path: Path) -> None:
    function = _function(tmp_path, "crash", "echo 'BULWARK_TABLE is not set' >&2\nexit 3\n")
    body, error = runtime_api.invoke(function.arn, b"{}")
    answer: dict[str, Any] = json.loads(body)
    assert error == "Unhandled"
    assert answer["errorType"] == "Runtime.ExitError"
    assert "exited with status 3" in answer["errorMessage"]
    assert "BULWARK_TABLE is not set" in answer["errorMessage"]
