"""CloudWatch tells EventBridge when an alarm changes state, as AWS does ("CloudWatch sends
events to Amazon EventBridge whenever a CloudWatch alarm is created, updated, deleted, or its
alarm state changes": CloudWatch user guide, "Alarm events and EventBridge"). moto sends none.

Alarms are never evaluated here, so a state changes by SetAlarmState ("Temporarily sets the
state of an alarm for testing purposes"): when the state it sets differs from the alarm's, a
"CloudWatch Alarm State Change" event of AWS's shape (that page's "Single Metric Alarm"
example) goes to the default event bus of the alarm's account and region, after the request,
where the rules deliver it (eventbridge.py). Setting the state an alarm is already in sends
nothing, as AWS's events are of changes.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend

from bulwark_local import concurrency

log = logging.getLogger(__name__)
_moto_set_alarm_state = CloudWatchBackend.set_alarm_state

SOURCE = "aws.cloudwatch"
DETAIL_TYPE = "CloudWatch Alarm State Change"


def _timestamp(when: datetime) -> str:
    # The events' form: "2019-10-02T17:04:40.985+0000".
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def _state(value: str, reason: str, reason_data: str | None, when: datetime) -> dict[str, Any]:
    state = {"reason": reason, "timestamp": _timestamp(when), "value": value}
    if reason_data:
        state["reasonData"] = reason_data
    return state


def _configuration(alarm: Alarm) -> dict[str, Any]:
    configuration: dict[str, Any] = {}
    if alarm.description:
        configuration["description"] = alarm.description
    if alarm.metric_name:
        configuration["metrics"] = [{
            "id": "m1",
            "metricStat": {
                "metric": {
                    "dimensions": {d.name: d.value for d in alarm.dimensions},
                    "name": alarm.metric_name,
                    "namespace": alarm.namespace,
                },
                "period": alarm.period,
                "stat": alarm.statistic or alarm.extended_statistic,
            },
            "returnData": True,
        }]
    return configuration


def state_change_entry(alarm: Alarm, previous: dict[str, Any]) -> dict[str, Any]:
    """The PutEvents entry CloudWatch's event amounts to (the bus adds id, account, region and
    time)."""
    detail = {
        "alarmName": alarm.name,
        "configuration": _configuration(alarm),
        "previousState": previous,
        "state": _state(alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp),
    }
    return {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail), "Resources": [alarm.alarm_arn]}


def _put(account: str, region: str, entry: dict[str, Any]) -> None:
    from moto.events.models import events_backends

    try:
        with concurrency.backend("events", account, region):
            events_backends[account][region].put_events([entry])
    except Exception:  # AWS guarantees the delivery; here a failure is logged
        log.exception("the alarm state change event was not put on the bus")


def _set_alarm_state(self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
    alarm = self.alarms.get(alarm_name)
    previous = alarm and _state(alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp)
    _moto_set_alarm_state(self, alarm_name, reason, reason_data, state_value)
    if alarm is None or previous is None or previous["value"] == state_value:
        return
    entry = state_change_entry(alarm, previous)
    # After the request, on a thread that holds no request's lock (concurrency.py).
    threading.Thread(target=_put, args=(self.account_id, self.region_name, entry), daemon=True).start()


def install() -> None:
    CloudWatchBackend.set_alarm_state = _set_alarm_state  # type: ignore[method-assign]
