"""A local AWS of the tests' own, on a free port, and boto3 clients that check every
AWS Backup response against the service model as strictly as the Rust SDK parses it."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.model import Shape

LOCAL = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"
JOB_DELAY = 0.4

sys.path.insert(0, str(LOCAL))  # the unit tests import bulwark_local directly


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeLambdaRuntime:
    """A stand-in for `cargo lambda watch`: the Lambda invoke API, answering with what it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        runtime = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                parts = self.path.split("/")  # /2015-03-31/functions/<name>/invocations
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"null")
                runtime.calls.append((parts[3], payload))
                if parts[3] == "failing":
                    body, error = {"errorType": "Boom", "errorMessage": "it failed"}, "Unhandled"
                else:
                    body, error = {"function": parts[3], "received": payload}, None
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if error:
                    self.send_header("X-Amz-Function-Error", error)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls_to(self, name: str) -> list[Any]:
        return [payload for called, payload in self.calls if called == name]


@pytest.fixture(scope="session")
def lambda_runtime() -> Iterator[FakeLambdaRuntime]:
    runtime = FakeLambdaRuntime()
    yield runtime
    runtime.server.shutdown()


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory, lambda_runtime: FakeLambdaRuntime) -> Iterator[str]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("local-aws") / "server.log"
    log = log_path.open("wb")
    env = dict(
        os.environ,
        BULWARK_LOCAL_JOB_DELAY_SECONDS=str(JOB_DELAY),
        BULWARK_LOCAL_LAMBDA_URL=lambda_runtime.url,
        MOTO_PORT=str(port),
        PYTHONPATH=str(LOCAL),
    )
    env.pop("LOCAL_AWS_PORT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulwark_local.server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=LOCAL,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object")
            return
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{path}.{name}: required member missing")
        for name, member_value in value.items():
            if name not in shape.members:
                errors.append(f"{path}.{name}: not a member of {shape.name}")
            elif member_value is not None:
                _check(shape.members[name], member_value, f"{path}.{name}", errors)
    elif kind == "list":
        if not isinstance(value, list):
            errors.append(f"{path}: expected an array")
            return
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object")
            return
        for k, v in value.items():
            _check(shape.value, v, f"{path}[{k}]", errors)
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: a timestamp must be epoch seconds (a number), got {value!r}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected an integer, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected a boolean, got {value!r}")
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {value!r}")
        elif shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum}")


def _strict(http_response: Any, model: Any, **_: Any) -> None:
    if http_response.status_code >= 300:
        return
    body = http_response.content
    if model.output_shape is None or not body:
        return
    errors: list[str] = []
    _check(model.output_shape, json.loads(body), model.name, errors)
    if errors:
        raise AssertionError("response does not match the AWS Backup model:\n" + "\n".join(errors))


@pytest.fixture(scope="session")
def aws(endpoint: str) -> Callable[..., Any]:
    """aws(service, region="us-east-1", credentials=None) -> a boto3 client on the local AWS."""

    def client(service: str, region: str = "us-east-1", credentials: dict[str, str] | None = None) -> Any:
        creds = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        made = boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            config=Config(retries={"max_attempts": 1}),
            **creds,
        )
        if service == "backup":
            made.meta.events.register("after-call.backup", _strict)
        return made

    return client


# AWS Backup's service role as AWS's console and the deployment template make it: trusted by
# backup.amazonaws.com, with AWS's managed policies for backups and restores (S3's included).
BACKUP_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
BACKUP_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
)


def backup_role(aws: Callable[..., Any], name: str = "backup", credentials: dict[str, str] | None = None,
                policies: tuple[str, ...] = BACKUP_MANAGED_POLICIES, trust: str = BACKUP_TRUST) -> str:
    """Create (once) the role `name` in the credentials' account; answer its ARN."""
    iam = aws("iam", credentials=credentials)
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    for policy in policies:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


@pytest.fixture(scope="session", autouse=True)
def default_backup_role(aws: Callable[..., Any]) -> str:
    """ROLE, which the tests pass to AWS Backup's jobs: AWS Backup assumes it for a restore."""
    return backup_role(aws)


def wait(describe: Callable[[], dict[str, Any]], field: str, timeout: float = 10.0) -> list[str]:
    """Poll until the job ends; return the distinct states seen, in order."""
    seen: list[str] = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = describe()[field]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("COMPLETED", "FAILED", "ABORTED"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job did not end within {timeout}s; states seen {seen}")


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """The first truthy answer of `check`, asked every 50 ms until `timeout` seconds pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def placeholder_function(aws: Callable[..., Any], region: str, role: str, name: str) -> str:
    """A Lambda function whose code does nothing: the fake runtime (lambda_runtime) answers
    its invocations. Its ARN."""
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return aws("lambda", region).create_function(
        FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": code.getvalue()}
    )["FunctionArn"]


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns() % 10**12}"


def administrator(aws: Callable[..., Any], account: str) -> dict[str, str]:
    """Credentials of `account`'s administrator (its OrganizationAccountAccessRole)."""
    creds = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="admin"
    )["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def organization(aws: Callable[..., Any]) -> tuple[str, str, str]:
    """A new organization of a new management account with one member account made by
    CreateAccount: the organization's id, the management account's and the member's."""
    import random

    management = str(random.randint(300_000_000_000, 399_999_999_999))
    organizations = aws("organizations", credentials=administrator(aws, management))
    org_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    status = organizations.create_account(Email=f"{unique('member')}@example.com", AccountName="member")
    member = organizations.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]
    return org_id, management, member
