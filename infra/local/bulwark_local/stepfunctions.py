"""Step Functions executes the ASL of its state machines (moto's interpreter), instead of
only recording executions. Its Lambda tasks invoke the moto function, which lambda_runtime
forwards to a local Lambda runtime when one is configured.

moto's interpreter reaches the other services (Lambda tasks, aws-sdk integrations) through
the server itself at http://localhost:$MOTO_PORT, so MOTO_PORT must be the server's port.
Unless it is set, it is taken to be LOCAL_AWS_PORT, the launcher's default port.
"""

from __future__ import annotations

import os

from moto.core.config import default_user_config


def install() -> None:
    os.environ.setdefault("MOTO_PORT", os.environ.get("LOCAL_AWS_PORT", "4566"))
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
