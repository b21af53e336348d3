"""Step Functions executes the ASL of its state machines (moto's interpreter), instead of
only recording executions. Its Lambda tasks invoke the moto function, which lambda_runtime
forwards to a local Lambda runtime when one is configured.

An execution calls other services as its state machine's role, as AWS does: moto's
interpreter calls them with fixed credentials of its default account, which would invoke a
function of another account's name in the wrong account and bypass IAM. Here each execution's
thread holds credentials of its role (STS AssumeRole on the local AWS), so a Lambda task in
any account reaches that account's function, and IAM checks that the role may invoke it.

moto's interpreter reaches the other services (Lambda tasks, aws-sdk integrations) through
the server itself at http://localhost:$MOTO_PORT, so MOTO_PORT must be the server's port.
Unless it is set, it is taken to be LOCAL_AWS_PORT, the launcher's default port.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from moto.core.config import default_user_config

_execution = threading.local()


def _execution_logic_as_role(original: Any) -> Any:
    def run(self: Any) -> None:
        _execution.role_arn = self._evaluation_details.aws_execution_details.role_arn
        _execution.credentials = {}
        original(self)

    return run


def _client_as_role(original: Any) -> Any:
    def client(region: str, service: str, state_credentials: Any = None) -> Any:
        # A task's own Credentials field names the role to assume; else the execution's role.
        role_arn = getattr(state_credentials, "role_arn", None) or getattr(_execution, "role_arn", None)
        if not role_arn:
            return original(region, service, state_credentials)
        import boto3
        from botocore.config import Config

        from bulwark_local import runtime_api

        cache = _execution.__dict__.setdefault("credentials", {})
        if (role_arn, region) not in cache:
            account = role_arn.split(":")[4]
            cache[(role_arn, region)] = runtime_api.credentials(account, region, role_arn, "states-execution")
        creds = cache[(role_arn, region)]
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=f"http://localhost:{os.environ['MOTO_PORT']}",
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=creds["AWS_SESSION_TOKEN"],
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}, read_timeout=900),
        )

    return client


def _unnamed_executions_get_a_uuid(original: Any) -> Any:
    # AWS (StartExecution, `name`): "If you don't provide a name for the execution, Step
    # Functions automatically generates a universally unique identifier (UUID) as the
    # execution name." moto names it "None", so a second unnamed execution of a state
    # machine was refused as ExecutionAlreadyExists.
    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        import uuid

        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start_execution


def install() -> None:
    os.environ.setdefault("MOTO_PORT", os.environ.get("LOCAL_AWS_PORT", "4566"))
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    ExecutionWorker._execution_logic = _execution_logic_as_role(ExecutionWorker._execution_logic)  # type: ignore[method-assign]
    lambda_eval_utils.boto_client_for = _client_as_role(lambda_eval_utils.boto_client_for)

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    StepFunctionsParserBackend.start_execution = _unnamed_executions_get_a_uuid(  # type: ignore[method-assign]
        StepFunctionsParserBackend.start_execution
    )

    from bulwark_local import sfn_distributed, sfn_history

    sfn_history.install()
    sfn_distributed.install()
