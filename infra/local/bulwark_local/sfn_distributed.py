"""A Distributed Map's iterations as child workflow executions, as AWS runs them.

moto's interpreter runs a Distributed Map's iterations as frames of the parent execution and
records their events in one throwaway history shared by every iteration; a failed iteration
leaves a null result and the Map Run still succeeds; nothing checks that the state machine's
role may start the children. AWS (developer guide, "Using Map state in Distributed mode"):
the Map state runs each iteration as a child workflow execution, and each child workflow
execution has its own, separate execution history from that of the parent workflow; the
parent records the Map Run (MapRunStarted, then MapRunSucceeded or MapRunFailed).

Here each iteration is a child execution with
- a history of its own (ExecutionStarted ... ExecutionSucceeded/Failed), held to the history
  quota on its own (sfn_history.py; an EXPRESS child's history is unlimited, as AWS's is);
- an ARN `arn:<p>:states:<region>:<account>:execution:<state machine>/<label or id>:<id>`,
  answered by DescribeExecution, GetExecutionHistory and ListExecutions(mapRunArn);
- its outcome counted in the Map Run: a failed child fails the Map Run once the failures
  exceed ToleratedFailureCount and ToleratedFailurePercentage (both 0 by default), with
  `States.ExceedToleratedFailureThreshold`;
- the parent's role checked for `states:StartExecution` on its state machine before the
  Map Run starts any child (developer guide, "IAM policies for using Distributed Map
  states"); without it the Map Run fails (MapRunFailed) and so does the Map state.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from bulwark_local import sfn_history

_lock = threading.Lock()
_children: dict[str, "ChildExecution"] = {}
_by_map_run: dict[str, list[str]] = {}

THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


@dataclass
class ChildExecution:
    arn: str
    name: str
    state_machine_arn: str
    map_run_arn: str
    input: str
    history: Any  # its own EventManager
    start_date: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(tz=datetime.timezone.utc))
    status: str = "RUNNING"
    stop_date: datetime.datetime | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None

    def describe(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.start_date,
            "input": self.input,
            "inputDetails": {"included": True},
            "mapRunArn": self.map_run_arn,
        }
        if self.stop_date is not None:
            answer["stopDate"] = self.stop_date
        if self.output is not None:
            answer["output"] = self.output
            answer["outputDetails"] = {"included": True}
        if self.error is not None:
            answer["error"] = self.error
        if self.cause is not None:
            answer["cause"] = self.cause
        return answer

    def list_item(self) -> dict[str, Any]:
        item = {k: v for k, v in self.describe().items() if k in (
            "executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "mapRunArn")}
        return item


def child(arn: str) -> ChildExecution | None:
    with _lock:
        return _children.get(arn)


def children_of(map_run_arn: str) -> list[ChildExecution]:
    with _lock:
        return [_children[arn] for arn in _by_map_run.get(map_run_arn, [])]


def _register(record: ChildExecution) -> None:
    with _lock:
        _children[record.arn] = record
        _by_map_run.setdefault(record.map_run_arn, []).append(record.arn)


def reset() -> None:
    with _lock:
        _children.clear()
        _by_map_run.clear()


# --- running a child ----------------------------------------------------------------------


def _start_child(worker: Any, env: Any, job: Any) -> ChildExecution:
    """Make the job's frame a child execution: its own history, context and ARN."""
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    record = worker._map_run_record
    name = str(uuid.uuid4())
    arn = record.map_state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name
    history = EventManager()
    if not getattr(worker, "_bulwark_express", False):
        sfn_history.govern(history, env)
    env.event_manager = history
    env.event_history_context = EventHistoryContext.of_program_start()
    context = env.states.context_object.context_object_data
    started = datetime.datetime.now(tz=datetime.timezone.utc)
    context["Execution"] = dict(context["Execution"], Id=arn, Name=name, Input=job.job_input,
                                StartTime=started.isoformat())
    execution = ChildExecution(
        arn=arn,
        name=name,
        state_machine_arn=record.map_state_machine_arn,
        map_run_arn=record.map_run_arn,
        input=to_json_str(job.job_input, separators=(",", ":")),
        history=history,
        start_date=started,
    )
    _register(execution)
    _event(env, "ExecutionStarted", executionStartedEventDetails={
        "input": execution.input,
        "inputDetails": {"truncated": False},
        "roleArn": env.aws_execution_details.role_arn,
    }, update_source=False)
    return execution


def _event(env: Any, event_type: str, update_source: bool = True, **details: Any) -> None:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType(event_type),
        event_details=EventDetails(**details) if details else None,
        update_source_event_id=update_source,
    )


def _finish_child(env: Any, execution: ChildExecution) -> None:
    """Record how the child ended, in its history and its description."""
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped, ProgramTimedOut
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    state = env.program_state()
    execution.stop_date = datetime.datetime.now(tz=datetime.timezone.utc)
    if isinstance(state, ProgramError):
        failure = state.error or {}
        execution.status, execution.error, execution.cause = "FAILED", failure.get("error"), failure.get("cause")
        _event(env, "ExecutionFailed", executionFailedEventDetails={
            k: v for k, v in failure.items() if k in ("error", "cause")})
    elif isinstance(state, ProgramStopped):
        execution.status = "ABORTED"
        _event(env, "ExecutionAborted", executionAbortedEventDetails={})
    elif isinstance(state, ProgramTimedOut):
        execution.status = "TIMED_OUT"
        _event(env, "ExecutionTimedOut", executionTimedOutEventDetails={})
    else:
        execution.status = "SUCCEEDED"
        execution.output = to_json_str(env.states.get_input(), separators=(",", ":"))
        _event(env, "ExecutionSucceeded", executionSucceededEventDetails={
            "output": execution.output, "outputDetails": {"truncated": False}})


def _threshold_exceeded(worker: Any, failed: int) -> bool:
    """AWS: the Map Run fails when the failed items exceed the tolerated count or percentage;
    each defaults to 0, so one failure is enough unless a tolerance was set."""
    record = worker._map_run_record
    total = max(1, int(getattr(worker._job_pool, "_jobs_number", 1)))
    count = record.tolerated_failure_count or 0
    percentage = record.tolerated_failure_percentage or 0.0
    return failed > count and failed * 100.0 / total > percentage


def _threshold_failure(env: Any) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
    return FailureEventException(failure_event=FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=error),
        event_type=HistoryEventType.MapRunFailed,
        event_details=EventDetails(executionFailedEventDetails={"error": error.to_name(), "cause": THRESHOLD_CAUSE}),
    ))


def _eval_child_job(self: Any, env: Any, job: Any) -> None:
    """DistributedItemProcessorWorker._eval_job, as a child execution of its own."""
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    record = self._map_run_record
    for counter in (record.item_counter, record.execution_counter):
        counter.total.count()
        counter.running.count()
    execution = _start_child(self, env, job)
    job_output: Any = None
    try:
        env.states.context_object.context_object_data["Map"] = MapData(Item=ItemData(Index=job.job_index, Value=job.job_input))
        env.states.reset(job.job_input)
        env.stack.append(env.states.get_input())
        self._eval_input(env_frame=env)
        job.job_program.eval(env)
    except Exception as err:  # noqa: BLE001 - the child fails as an execution would
        if env.is_running():
            env.set_error({"error": "States.Runtime", "cause": f"{type(err).__name__}({err})"})
    _finish_child(env, execution)
    for counter in (record.item_counter, record.execution_counter):
        counter.running.offset(-1)
    if execution.status == "SUCCEEDED":
        for counter in (record.item_counter, record.execution_counter):
            counter.succeeded.count()
            counter.results_written.count()
        job_output = env.states.get_input()
    else:
        kind = {"FAILED": "failed", "ABORTED": "aborted", "TIMED_OUT": "timed_out"}[execution.status]
        getattr(record.item_counter, kind).count()
        getattr(record.execution_counter, kind).count()
        unsuccessful = sum(record.execution_counter.describe()[k] for k in ("failed", "aborted", "timedOut"))
        if _threshold_exceeded(self, unsuccessful):
            job_output = _threshold_failure(env)
    job.job_output = job_output


# --- the role may start the children ------------------------------------------------------


def _start_execution_denial(role_arn: str, state_machine_arn: str, region: str) -> str | None:
    """Why the role may not states:StartExecution on the state machine, or None."""
    from bulwark_local import iam, policy_eval

    account = role_arn.split(":")[4]
    documents = iam.role_policies(account, role_arn)
    role_name = role_arn.split("/")[-1]
    session = f"arn:{role_arn.split(':')[1]}:sts::{account}:assumed-role/{role_name}/states-execution"
    action = "states:StartExecution"
    if documents is None:
        return f"User: {session} is not authorized to perform: {action} on resource: {state_machine_arn}: its role {role_arn} does not exist"
    context = {"aws:PrincipalArn": role_arn, "aws:PrincipalAccount": account, "aws:RequestedRegion": region}
    try:
        decision = policy_eval.evaluate(documents, action, state_machine_arn, context)
    except policy_eval.Unsupported as err:
        return f"local AWS: a policy of {role_arn} uses {err}, which is not evaluated here"
    why = iam.denial_reason(action, decision, None)
    if why is None:
        return None
    return f"User: {session} is not authorized to perform: {action} on resource: {state_machine_arn} {why}"


def _denied(env: Any, cause: str) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error = StatesErrorNameType.StatesRuntime
    return FailureEventException(failure_event=FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=error),
        event_type=HistoryEventType.MapRunFailed,
        event_details=EventDetails(executionFailedEventDetails={"error": error.to_name(), "cause": cause}),
    ))


def _history_kept(original: Any) -> Any:
    def eval_body(self: Any, env: Any) -> None:
        # moto swaps the parent's history for a scratch one while the Map Run runs (so that
        # GetExecutionHistory shows nothing meanwhile); the children have their own now.
        env._bulwark_history = env.event_manager
        original(self, env)

    return eval_body


def _map_run_as_role(original: Any) -> Any:
    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        env.event_manager = getattr(env, "_bulwark_history", env.event_manager)
        role_arn = env.aws_execution_details.role_arn
        state_machine_arn = env.states.context_object.context_object_data["StateMachine"]["Id"]
        why = _start_execution_denial(role_arn, state_machine_arn, env.aws_execution_details.region)
        if why is not None:
            env.stack.pop()  # the items the Map Run would have started children for
            raise _denied(env, why)
        original(self, env, eval_input)

    return map_run


def _worker_knows_execution_type(original: Any) -> Any:
    def create_worker(self: Any, env: Any, eval_input: Any, job_pool: Any) -> Any:
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.execution_type import ExecutionType

        # moto parses only STANDARD children (an EXPRESS one is refused with the definition).
        worker = original(self, env, eval_input, job_pool)
        worker._bulwark_express = self._processor_config.execution_type != ExecutionType.Standard
        return worker

    return create_worker


# --- the API: DescribeExecution, GetExecutionHistory, ListExecutions(mapRunArn) -------------


def _responses(original_describe: Any, original_history: Any, original_list: Any) -> tuple[Any, Any, Any]:
    from moto.core.responses import ActionResult

    def describe_execution(self: Any) -> Any:
        found = child(self._get_param("executionArn") or "")
        return ActionResult(found.describe()) if found else original_describe(self)

    def get_execution_history(self: Any) -> Any:
        found = child(self._get_param("executionArn") or "")
        if found is None:
            return original_history(self)
        events = found.history.get_event_history()
        if self._get_param("reverseOrder"):
            events.reverse()
        return ActionResult({"events": events})

    def list_executions(self: Any) -> Any:
        map_run_arn = self._get_param("mapRunArn")
        if not map_run_arn:
            return original_list(self)
        status = self._get_param("statusFilter")
        items = [c.list_item() for c in children_of(map_run_arn) if status in (None, c.status)]
        items.sort(key=lambda item: item["startDate"], reverse=True)
        return ActionResult({"executions": items})

    return describe_execution, get_execution_history, list_executions


def install() -> None:
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import distributed_iteration_component
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor import DistributedItemProcessor
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import DistributedItemProcessorWorker
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iterator.distributed_iterator import DistributedIterator
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iterator.distributed_iterator_worker import DistributedIteratorWorker
    from moto.stepfunctions.responses import StepFunctionResponse

    component = distributed_iteration_component.DistributedIterationComponent
    component._map_run = _map_run_as_role(component._map_run)  # type: ignore[method-assign]
    component._eval_body = _history_kept(component._eval_body)  # type: ignore[method-assign]
    for worker in (DistributedItemProcessorWorker, DistributedIteratorWorker):
        worker._eval_job = _eval_child_job  # type: ignore[method-assign]
    for processor in (DistributedItemProcessor, DistributedIterator):
        processor._create_worker = _worker_knows_execution_type(processor._create_worker)  # type: ignore[method-assign]
    (
        StepFunctionResponse.describe_execution,
        StepFunctionResponse.get_execution_history,
        StepFunctionResponse.list_executions,
    ) = _responses(  # type: ignore[method-assign]
        StepFunctionResponse.describe_execution,
        StepFunctionResponse.get_execution_history,
        StepFunctionResponse.list_executions,
    )

    original_reset = MotoAPIBackend.reset

    def reset_all(self: Any) -> None:
        original_reset(self)
        reset()

    MotoAPIBackend.reset = reset_all  # type: ignore[method-assign]
