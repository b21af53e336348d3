"""The functions' real binaries, run as Lambda runs them: each deployed function whose code is
a local binary gets an instance, a process started with the Lambda Runtime API's environment
and an endpoint of its own that serves the Runtime API
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

    GET  /2018-06-01/runtime/invocation/next            the next event (blocks)
    POST /2018-06-01/runtime/invocation/<id>/response   its result
    POST /2018-06-01/runtime/invocation/<id>/error      its error ({errorType, errorMessage})
    POST /2018-06-01/runtime/init/error                 the function could not start

An instance takes one invocation at a time, as a Lambda execution environment does; it is
started on the first invocation (a cold start, whose init time is recorded: from the process
start to its first `next`) and kept warm. It runs with the credentials of its role (STS
AssumeRole on the local AWS, so IAM is enforced for every call it makes), the function's
environment variables from the template, and AWS_ENDPOINT_URL set to the local AWS. A process
that exits (a crash at start, a panic) answers the invocation with `Runtime.ExitError` and the
end of its output, never a hang; the next invocation starts a new process.

`register` is called by the deploy step (deploy.py); invocations reach an instance through
moto's Lambda function (lambda_runtime.py), so Invoke, Step Functions tasks and EventBridge
targets all run the binary. `GET /moto-api/bulwark/lambda/init-times` lists each function's
cold-start init times, in milliseconds (the benchmark reports them).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import queue
import subprocess
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("bulwark_local.runtime_api")

API = "/2018-06-01/runtime"
# Credentials of an assumed role last an hour; an instance older than this is restarted.
CREDENTIALS_TTL_SECONDS = 50 * 60


@dataclass
class Function:
    """What an instance is started from."""

    name: str
    arn: str
    binary: Path
    role_arn: str
    account: str
    region: str
    environment: dict[str, str]
    timeout_seconds: int = 900
    memory_mb: int = 256


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    body: bytes = b""
    error: str | None = None


class Instance:
    """One execution environment of a function: its process and its Runtime API endpoint."""

    def __init__(self, function: Function):
        self.function = function
        self.events: queue.Queue[Invocation] = queue.Queue()
        self.current: dict[str, Invocation] = {}
        self.output: deque[str] = deque(maxlen=60)
        self.init_ms: float | None = None
        self.init_reported = False
        self.init_error: str | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.started = time.monotonic()
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        f = self.function
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **f.environment,
            **credentials(f.account, f.region, f.role_arn, f.name),
            "AWS_REGION": f.region,
            "AWS_DEFAULT_REGION": f.region,
            "AWS_ENDPOINT_URL": os.environ.get("BULWARK_LOCAL_ENDPOINT", f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4566')}"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": f.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(f.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{f.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": uuid.uuid4().hex,
            "RUST_LOG": os.environ.get("BULWARK_LOCAL_FUNCTION_LOG", "info"),
        }
        # Spawned from one long-lived thread: the death signal follows the thread that forked
        # the child, and the thread that invokes (a Map iteration's) ends long before the
        # warm function should.
        process = _spawner.submit(
            subprocess.Popen, [str(f.binary)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        ).result()
        self.reader = threading.Thread(target=self._read_output, args=(process,), daemon=True)
        self.reader.start()
        return process

    def _read_output(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            text = line.decode(errors="replace").rstrip()
            self.output.append(text)
            log.info("%s: %s", self.function.name, text)

    def alive(self) -> bool:
        return self.process.poll() is None and time.monotonic() - self.started < CREDENTIALS_TTL_SECONDS

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.server.shutdown()

    def invoke(self, payload: bytes) -> tuple[bytes, str | None]:
        timeout = self.function.timeout_seconds
        invocation = Invocation(uuid.uuid4().hex, payload, int((time.time() + timeout) * 1000))
        self.events.put(invocation)
        deadline = time.monotonic() + timeout
        while not invocation.done.wait(0.05):
            if self.process.poll() is not None:
                return self._exited(invocation)
            if time.monotonic() > deadline:
                self.process.kill()
                return _error("Sandbox.Timedout", f"Task timed out after {timeout} seconds")
        return invocation.body, invocation.error

    def _exited(self, invocation: Invocation) -> tuple[bytes, str | None]:
        # Whatever it answered before exiting stands.
        if invocation.done.is_set():
            return invocation.body, invocation.error
        self.reader.join(timeout=2)  # the last lines say why
        why = self.init_error or "\n".join(self.output)
        return _error("Runtime.ExitError", f"{self.function.name} exited with status {self.process.returncode}: {why}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        instance = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path != f"{API}/invocation/next":
                    return self._answer(404)
                if instance.init_ms is None:
                    instance.init_ms = (time.monotonic() - instance.started) * 1000
                invocation = instance.events.get()
                instance.current[invocation.request_id] = invocation
                self._answer(200, invocation.payload, {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": instance.function.arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                    "Content-Type": "application/json",
                })

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path[len(API) + 1:].split("/") if self.path.startswith(API + "/") else []
                if parts == ["init", "error"]:
                    instance.init_error = body.decode(errors="replace")
                    return self._answer(202)
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    invocation = instance.current.pop(parts[1], None)
                    if invocation is None:
                        return self._answer(400, b'{"errorType":"InvalidRequestID"}')
                    invocation.body = body
                    invocation.error = "Unhandled" if parts[2] == "error" else None
                    invocation.done.set()
                    return self._answer(202)
                self._answer(404)

        return Handler


def _die_with_parent() -> None:
    """In the child: Linux kills it when the local AWS exits, so no function outlives it."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _error(error_type: str, message: str) -> tuple[bytes, str]:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode(), "Unhandled"


def credentials(account: str, region: str, role_arn: str, session: str) -> dict[str, str]:
    """Temporary credentials of the function's role, from the local AWS's STS."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    from bulwark_local import concurrency

    with concurrency.backend("sts", account, region):  # as an AssumeRole request would
        role = sts_backends[account][get_partition(region)].assume_role(
            region_name=region,
            role_session_name=session[:64],
            role_arn=role_arn,
            policy=None,
            duration=3600,
            external_id=None,
        )
    return {
        "AWS_ACCESS_KEY_ID": role.access_key_id,
        "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
        "AWS_SESSION_TOKEN": role.session_token,
    }


_functions: dict[str, Function] = {}
_instances: dict[str, Instance] = {}
_locks: dict[str, threading.Lock] = {}
_spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")
_registry_lock = threading.Lock()
_init_times: dict[str, list[float]] = {}


def register(function: Function) -> None:
    """Run `function` from its binary from now on (a redeploy replaces a warm instance)."""
    with _registry_lock:
        _functions[function.arn] = function
        _locks.setdefault(function.arn, threading.Lock())
        old = _instances.pop(function.arn, None)
    if old is not None:
        old.stop()


def registered(arn: str) -> bool:
    return arn in _functions


def invoke(arn: str, payload: bytes) -> tuple[bytes, str | None]:
    """One invocation of a registered function; (answer, function error or None)."""
    with _locks[arn]:
        instance = _instances.get(arn)
        if instance is None or not instance.alive():
            if instance is not None:
                instance.stop()
            instance = _instances[arn] = Instance(_functions[arn])
        answer = instance.invoke(payload)
        if instance.init_ms is not None and not instance.init_reported:
            instance.init_reported = True
            _init_times.setdefault(instance.function.name, []).append(instance.init_ms)
        return answer


def init_times() -> dict[str, list[float]]:
    """Each function's cold-start init times, in milliseconds, one per instance started."""
    return {name: list(times) for name, times in _init_times.items()}


INIT_TIMES = "/moto-api/bulwark/lambda/init-times"


def _init_times_control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": "application/json"}, json.dumps(init_times())


RUNTIME = "/moto-api/bulwark/lambda/runtime"


def _bind(body: dict[str, Any]) -> dict[str, Any]:
    """Run an existing function (CreateFunction'd, e.g. a customer's restore-test hook) from a
    local executable: its role, environment, timeout and memory are the function's own."""
    from moto.awslambda.models import lambda_backends

    arn, binary = str(body["arn"]), Path(str(body["binary"]))
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or not binary.is_file():
        raise ValueError(f"need a function ARN and an executable file, not {arn!r}, {str(binary)!r}")
    account, region, name = parts[4], parts[3], parts[6]
    fn = lambda_backends[account][region].get_function(name)
    register(Function(
        name=name,
        arn=fn.function_arn,
        binary=binary,
        role_arn=fn.role,
        account=account,
        region=region,
        environment=dict(fn.environment_vars or {}),
        timeout_seconds=int(fn.timeout),
        memory_mb=int(fn.memory_size),
    ))
    return {"arn": fn.function_arn, "binary": str(binary)}


def install() -> None:
    import moto.moto_api._internal.urls

    from bulwark_local.template import post_endpoint

    moto.moto_api._internal.urls.url_paths["{0}" + INIT_TIMES] = _init_times_control
    moto.moto_api._internal.urls.url_paths["{0}" + RUNTIME] = post_endpoint(RUNTIME, _bind, ())
