"""Step Functions' hard quota on an execution's history: 25,000 events.

AWS (developer guide, "Avoid reaching the history quota"): when an execution reaches 24,999
events it waits for the next one; if event 25,000 is `ExecutionSucceeded` the execution
succeeds, otherwise an `ExecutionFailed` event is logged as event 25,000 and the execution
fails. What AWS reports there (observed, not documented): error `States.Runtime`, cause
"The execution reached the maximum number of history events (25000).".

moto's interpreter records every execution's history in one EventManager, shared by the
execution's frames (Parallel branches, Inline Map iterations): the count here is the number
of events moto has recorded in it. A Distributed Map's child executions get EventManagers of
their own (sfn_distributed.py), each with its own quota.

    GET  /moto-api/bulwark/stepfunctions/history-limit       -> {"limit": 25000}
    POST /moto-api/bulwark/stepfunctions/history-limit {"limit": 200}

lowers the quota for tests (a history of 25,000 events takes minutes to make); the
environment variable BULWARK_LOCAL_SFN_HISTORY_LIMIT sets it at start. The default is AWS's.

The history-limit failure cannot be caught (the execution itself fails), and neither can the
terminal errors States.Runtime and States.DataLimitExceeded by a States.ALL catcher or
retrier, as AWS documents; moto's States.ALL matched them.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

AWS_HISTORY_LIMIT = 25_000
CONTROL = "/moto-api/bulwark/stepfunctions/history-limit"
JSON = {"Content-Type": "application/json"}

_limit = int(os.environ.get("BULWARK_LOCAL_SFN_HISTORY_LIMIT", AWS_HISTORY_LIMIT))


def history_limit() -> int:
    return _limit


def limit_reached_failure(limit: int) -> dict[str, str]:
    return {
        "error": "States.Runtime",
        "cause": f"The execution reached the maximum number of history events ({limit}).",
    }


def govern(manager: Any, owner: Any) -> None:
    """Hold `manager`'s history to the quota; `owner` is the environment that fails when the
    quota is reached (an execution's root environment, or a child execution's frame)."""
    manager._bulwark_owner = owner


def _init_manager(original: Any) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._bulwark_lock = threading.Lock()
        self._bulwark_owner = None  # not governed until an execution claims it
        self._bulwark_failure = None  # the history-limit failure, once the quota was reached

    return init


def _add_event_within_quota(original: Any) -> Any:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext

    def add_event(self: Any, context: Any, event_type: Any, event_details: Any = None, timestamp: Any = None,
                  update_source_event_id: bool = True) -> int:
        if getattr(self, "_bulwark_owner", None) is None:
            return int(original(self, context, event_type, event_details, timestamp, update_source_event_id))
        with self._bulwark_lock:
            if self._bulwark_failure is not None:
                # The history is closed: AWS records nothing after the failure.
                return int(context.last_published_event_id)
            recorded = len(self._history_event_list)
            limit = history_limit()
            if recorded + 1 < limit or event_type == HistoryEventType.ExecutionSucceeded:
                return int(original(self, context, event_type, event_details, timestamp, update_source_event_id))
            failure = limit_reached_failure(limit)
            self._bulwark_failure = failure
            event_id = int(original(
                self,
                EventHistoryContext(previous_event_id=recorded),
                HistoryEventType.ExecutionFailed,
                EventDetails(executionFailedEventDetails=dict(failure)),
            ))
        # Outside the lock: failing the owner wakes its frames, which may record events.
        self._bulwark_owner.set_error(dict(failure))
        return event_id

    return add_event


def _set_error_keeping_history_failure(original: Any) -> Any:
    def set_error(self: Any, error: Any) -> None:
        # Once the quota is reached, whatever else fails on the way out (a Map iteration
        # stopped, a state's next step refused) reports the history-limit failure.
        failure = getattr(self.event_manager, "_bulwark_failure", None)
        original(self, dict(failure) if failure is not None else error)

    return set_error


def _root_environment_governed(original: Any) -> Any:
    def environment(self: Any) -> Any:
        env = original(self)
        govern(env.event_manager, env)
        return env

    return environment


def _states_all_leaves_terminal_errors(original: Any) -> Any:
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType

    terminal = {StatesErrorNameType.StatesRuntime, StatesErrorNameType.StatesStatesDataLimitExceeded}

    def eval_body(self: Any, env: Any) -> None:
        # AWS ("Handling errors in Step Functions workflows"): States.ALL "can't catch the
        # States.DataLimitExceeded terminal error or Runtime error types"; moto's matched them.
        error_name = env.stack[-1]
        named = [getattr(name, "error_name", None) for name in self.error_names]
        if "States.ALL" in named and isinstance(error_name, StatesErrorName) and error_name.typ in terminal:
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    return eval_body


def control(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    global _limit
    if request.method == "POST":
        try:
            from bulwark_local.global_tables import _body

            limit = int(_body(request)["limit"])
            if limit < 2:
                raise ValueError("limit must be at least 2")
        except (ValueError, KeyError, TypeError) as err:
            return 400, JSON, json.dumps({"Error": f"{type(err).__name__}: {err}"})
        _limit = limit
    return 200, JSON, json.dumps({"limit": _limit})


def install() -> None:
    import moto.moto_api._internal.urls
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    EventManager.__init__ = _init_manager(EventManager.__init__)  # type: ignore[method-assign]
    EventManager.add_event = _add_event_within_quota(EventManager.add_event)  # type: ignore[method-assign]
    Environment.set_error = _set_error_keeping_history_failure(Environment.set_error)  # type: ignore[method-assign]
    ExecutionWorker._get_evaluation_environment = _root_environment_governed(  # type: ignore[method-assign]
        ExecutionWorker._get_evaluation_environment
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

    ErrorEqualsDecl._eval_body = _states_all_leaves_terminal_errors(ErrorEqualsDecl._eval_body)  # type: ignore[method-assign]
    moto.moto_api._internal.urls.url_paths["{0}" + CONTROL] = control
