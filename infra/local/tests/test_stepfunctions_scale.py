"""Step Functions at scale: an execution's history holds at most 25,000 events (lowered here
through the control path, to keep the tests fast), an Inline Map's iterations count in the
one history, a Distributed Map's children each have their own, the role must be allowed to
start the children, and a state's output over 256 KiB fails the execution."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import ACCOUNT, eventually, unique

REGION = "eu-west-1"
LIMIT_PATH = "/moto-api/bulwark/stepfunctions/history-limit"


def _set_limit(endpoint: str, limit: int) -> None:
    request = urllib.request.Request(f"{endpoint}{LIMIT_PATH}", data=json.dumps({"limit": limit}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    assert json.loads(urllib.request.urlopen(request).read())["limit"] == limit


@pytest.fixture
def history_limit(endpoint: str) -> Iterator[Callable[[int], None]]:
    yield lambda limit: _set_limit(endpoint, limit)
    _set_limit(endpoint, 25_000)


def _role(aws: Any, start_children: bool = True) -> tuple[str, str]:
    """A state machine role, and the name of the state machine it is for."""
    iam = aws("iam", REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    name, machine = unique("sfn-role"), unique("sm")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if start_children:
        # The least privilege AWS documents for a Distributed Map ("IAM policies for using
        # Distributed Map states").
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["states:StartExecution"],
             "Resource": [f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"]},
            {"Effect": "Allow", "Action": ["states:DescribeExecution", "states:StopExecution"],
             "Resource": [f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}/*"]},
        ]}
        iam.put_role_policy(RoleName=name, PolicyName="distributed-map", PolicyDocument=json.dumps(policy))
    return arn, machine


def _run(aws: Any, definition: dict[str, Any], payload: Any = None, start_children: bool = True) -> dict[str, Any]:
    sfn = aws("stepfunctions", REGION)
    role, name = _role(aws, start_children)
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload or {}))["executionArn"]
    return eventually(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, timeout=20.0)


def _history(aws: Any, execution_arn: str) -> list[dict[str, Any]]:
    sfn = aws("stepfunctions", REGION)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


SPIN = {"StartAt": "Spin", "States": {"Spin": {"Type": "Pass", "Next": "Spin"}}}


def test_an_execution_fails_when_its_history_reaches_the_quota(aws: Any, history_limit: Callable[[int], None]) -> None:
    history_limit(41)
    done = _run(aws, SPIN)
    assert done["status"] == "FAILED", done
    assert done["error"] == "States.Runtime"
    assert done["cause"] == "The execution reached the maximum number of history events (41)."
    events = _history(aws, done["executionArn"])
    assert len(events) == 41
    last = events[-1]
    assert (last["type"], last["id"], last["previousEventId"]) == ("ExecutionFailed", 41, 40)
    assert last["executionFailedEventDetails"] == {"error": "States.Runtime", "cause": done["cause"]}
    # moto records a Pass state as PassStateEntered and PassStateExited, as AWS does.
    assert [e["type"] for e in events[:5]] == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered", "PassStateExited"]


def test_the_last_event_allowed_may_be_the_executions_success(aws: Any, history_limit: Callable[[int], None]) -> None:
    one_pass = {"StartAt": "Once", "States": {"Once": {"Type": "Pass", "End": True}}}
    # ExecutionStarted, PassStateEntered, PassStateExited, ExecutionSucceeded: 4 events.
    history_limit(4)
    assert _run(aws, one_pass)["status"] == "SUCCEEDED"
    history_limit(3)
    done = _run(aws, one_pass)
    assert done["status"] == "FAILED"
    assert done["cause"] == "The execution reached the maximum number of history events (3)."
    assert [e["type"] for e in _history(aws, done["executionArn"])] == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]


def _polling_map(mode: str, items: int, polls: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Map of `items` restore tests, each polling `polls` times (Wait, then a Choice on a
    counter a Pass state moves), as Bulwark's restore-test machine does."""
    processor: dict[str, Any] = {
        "StartAt": "Begin",
        "States": {
            "Begin": {"Type": "Pass", "Parameters": {"polls": 0}, "Next": "Wait"},
            "Wait": {"Type": "Wait", "Seconds": 0, "Next": "Poll"},
            "Poll": {"Type": "Pass", "Parameters": {"polls.$": "States.MathAdd($.polls, 1)"}, "Next": "Done?"},
            "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.polls", "NumericGreaterThanEquals": polls, "Next": "Finished"}], "Default": "Wait"},
            "Finished": {"Type": "Succeed"},
        },
    }
    if mode == "DISTRIBUTED":
        processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    definition = {
        "StartAt": "Tests",
        "States": {"Tests": {"Type": "Map", "ItemsPath": "$.tests", "MaxConcurrency": 4, "ItemProcessor": processor, "End": True}},
    }
    return definition, {"tests": [{"test": i} for i in range(items)]}


def test_an_inline_maps_iterations_count_in_the_one_history_a_distributed_maps_do_not(
    aws: Any, history_limit: Callable[[int], None]
) -> None:
    history_limit(300)
    # An iteration of 5 polls records 36 events (MapIterationStarted/Succeeded and 34 of its
    # states'): 10 iterations make more than 360 in the one history, 36 in each child's.
    inline = _run(aws, *_polling_map("INLINE", 10, 5))
    assert inline["status"] == "FAILED", inline
    assert inline["cause"] == "The execution reached the maximum number of history events (300)."
    assert len(_history(aws, inline["executionArn"])) == 300

    distributed = _run(aws, *_polling_map("DISTRIBUTED", 10, 5))
    assert distributed["status"] == "SUCCEEDED", distributed
    assert json.loads(distributed["output"]) == [{"polls": 5}] * 10
    parent = [e["type"] for e in _history(aws, distributed["executionArn"])]
    assert parent == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
        "MapRunSucceeded", "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded",
    ]

    sfn = aws("stepfunctions", REGION)
    (run,) = sfn.list_map_runs(executionArn=distributed["executionArn"])["mapRuns"]
    described = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    assert described["status"] == "SUCCEEDED"
    assert described["executionCounts"]["succeeded"] == described["executionCounts"]["total"] == 10
    children = sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
    assert len(children) == 10 and {c["status"] for c in children} == {"SUCCEEDED"}
    machine_name = distributed["stateMachineArn"].split(":")[-1]
    assert children[0]["executionArn"].startswith(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}/")
    child = sfn.describe_execution(executionArn=children[0]["executionArn"])
    assert child["mapRunArn"] == run["mapRunArn"] and json.loads(child["output"]) == {"polls": 5}
    events = _history(aws, children[0]["executionArn"])
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    # ExecutionStarted, Begin's 2, 6 a poll (Wait, Poll, Done? each entered and exited),
    # Finished's 2 (SucceedStateEntered, SucceedStateExited), ExecutionSucceeded.
    assert len(events) == 1 + 2 + 6 * 5 + 2 + 1


def test_a_child_over_the_quota_fails_the_map_run(aws: Any, history_limit: Callable[[int], None]) -> None:
    history_limit(60)
    done = _run(aws, *_polling_map("DISTRIBUTED", 3, 20))
    assert done["status"] == "FAILED", done
    assert done["error"] == "States.ExceedToleratedFailureThreshold"
    sfn = aws("stepfunctions", REGION)
    (run,) = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    assert sfn.describe_map_run(mapRunArn=run["mapRunArn"])["status"] == "FAILED"
    failed = sfn.list_executions(mapRunArn=run["mapRunArn"], statusFilter="FAILED")["executions"]
    assert failed
    child = sfn.describe_execution(executionArn=failed[0]["executionArn"])
    assert child["cause"] == "The execution reached the maximum number of history events (60)."
    assert len(_history(aws, failed[0]["executionArn"])) == 60
    assert "MapRunFailed" in [e["type"] for e in _history(aws, done["executionArn"])]


def _caught(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with its first state's errors caught by States.ALL."""
    first = definition["States"][definition["StartAt"]]
    first.pop("End", None)
    first.update(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], Next="Caught")
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    return definition


def test_a_distributed_map_needs_its_role_to_start_executions_of_its_state_machine(aws: Any) -> None:
    definition, items = _polling_map("DISTRIBUTED", 2, 1)
    # States.Runtime is terminal: a States.ALL catcher does not catch it.
    done = _run(aws, _caught(definition), items, start_children=False)
    assert done["status"] == "FAILED", done
    assert done["error"] == "States.Runtime"
    assert "is not authorized to perform: states:StartExecution on resource: " + done["stateMachineArn"] in done["cause"]
    events = _history(aws, done["executionArn"])
    failed = [e for e in events if e["type"] == "MapRunFailed"]
    assert failed and "states:StartExecution" in failed[0]["mapRunFailedEventDetails"]["cause"]
    sfn = aws("stepfunctions", REGION)
    (run,) = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    assert sfn.describe_map_run(mapRunArn=run["mapRunArn"])["status"] == "FAILED"
    assert sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"] == []


def test_a_state_output_over_256_kib_fails_the_execution(aws: Any) -> None:
    doubled = {"StartAt": "Double", "States": {"Double": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
                                                          "ResultSelector": {"a.$": "$$.Execution.Input.s", "b.$": "$$.Execution.Input.s"}, "End": True}}}
    # States.DataLimitExceeded is terminal: a States.ALL catcher does not catch it.
    doubled = _caught(doubled)
    done = _run(aws, doubled, {"s": "x" * 150_000})
    assert done["status"] == "FAILED", done
    assert done["error"] == "States.DataLimitExceeded"
    assert _run(aws, doubled, {"s": "x" * 100_000})["status"] == "SUCCEEDED"


def test_the_events_each_state_records(aws: Any, lambda_runtime: Any) -> None:
    """What counts towards the quota: moto records per state what AWS's history shows
    (API reference, HistoryEvent): a Lambda ARN task LambdaFunctionScheduled/Started/
    Succeeded, a lambda:invoke integration TaskScheduled/Started/Succeeded."""
    import io
    import zipfile

    role, name = _role(aws)
    iam = aws("iam", REGION)
    invoke = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]}
    iam.put_role_policy(RoleName=role.split("/")[-1], PolicyName="invoke", PolicyDocument=json.dumps(invoke))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    fn = aws("lambda", REGION).create_function(
        FunctionName=unique("poll"), Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": code.getvalue()}
    )["FunctionArn"]
    definition = {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": fn, "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": fn, "Payload": {}}, "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 0, "End": True},
    }}
    sfn = aws("stepfunctions", REGION)
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    # Two unnamed executions: AWS names each with a UUID.
    first, second = (sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in range(2))
    assert first != second and not first.endswith(":None")
    done = eventually(lambda: (d := sfn.describe_execution(executionArn=first))["status"] != "RUNNING" and d, timeout=20.0)
    assert done["status"] == "SUCCEEDED", done
    assert [e["type"] for e in _history(aws, first)] == [
        "ExecutionStarted",
        "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
        "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
        "WaitStateEntered", "WaitStateExited",
        "ExecutionSucceeded",
    ]
