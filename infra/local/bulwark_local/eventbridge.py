"""EventBridge rules deliver matching events to Lambda function and Step Functions state
machine targets, as AWS does (moto itself delivers only to SQS, Logs, buses and API
destinations).

Delivery is asynchronous, as in AWS: each target gets the event on a thread of its own,
after PutEvents has answered. The event has AWS's shape (`time` in ISO 8601, no moto
extras); a target's `Input` replaces it and its `InputTransformer` is applied, as moto
applies them for its own targets. A Lambda target is invoked with the moto function, so a
configured local Lambda runtime (BULWARK_LOCAL_LAMBDA_URL) receives it; a state machine
target starts an execution with the event as its input.

An event bus target (another region's or account's bus) gets the event whole, as it was on
this bus: its account, region, time, resources and detail stay the source's (AWS's policies
for cross-Region routing speak of events "generated in" the source Regions, and its examples
keep them); the target bus's rules then match and deliver it. moto put a new event there,
with the target's account and region. The target's RoleArn is not evaluated (**differs**).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.stepfunctions.responses import get_backend as stepfunctions_backend

from bulwark_local import concurrency

log = logging.getLogger(__name__)
_moto_send_to_targets = Rule.send_to_targets


def aws_shaped(event: dict[str, Any]) -> dict[str, Any]:
    when = event.get("time")
    if isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    keys = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
    return {k: (when if k == "time" else event.get(k)) for k in keys if k in event}


def _payload(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return target["Input"]
    transformer = target.get("InputTransformer")
    if transformer:
        # The reserved variables first: <aws.events.event.json> is the event as delivered
        # (moto's parser would put its own fields in it, and it needs an ingestion time).
        template = transformer.get("InputTemplate")
        paths = transformer.get("InputPathsMap") or {}
        if template:
            template = template.replace("<aws.events.event.json>", json.dumps(event))
            template = template.replace("<aws.events.event.ingestion-time>", json.dumps(event.get("time")))
        if not paths and template:
            # moto's parser fills the default paths into a template without its own.
            return template
        rendered = EventTemplateParser.parse(
            input_template=template,
            input_paths_map=paths,
            event={**event, "ingestion-time": event.get("time")},
        )
        return rendered if isinstance(rendered, str) else json.dumps(rendered)
    return json.dumps(event)


def _deliver(arn: str, payload: str) -> None:
    parts = arn.split(":")
    service, region, account = parts[2], parts[3], parts[4]
    try:
        # A delivery thread holds no request's lock: it takes the backend's while it reads or
        # changes it, never while the function runs (concurrency.py).
        if service == "lambda":
            name, qualifier = parts[6], (parts[7] if len(parts) > 7 else None)
            with concurrency.backend("lambda", account, region):
                function = lambda_backends[account][region].get_function(name, qualifier)
            function.invoke(payload, {"x-amz-invocation-type": "RequestResponse"}, {})
        else:
            # EventBridge names each execution it starts with a fresh id.
            with concurrency.backend("stepfunctions", account, region):
                stepfunctions_backend(account, region).start_execution(arn, name=str(uuid.uuid4()), execution_input=payload)
    except Exception:  # AWS retries and then drops; the local AWS logs and drops
        log.exception("EventBridge delivery to %s failed", arn)


def _ours(target: dict[str, Any]) -> bool:
    return target["Arn"].split(":")[2:3] in (["lambda"], ["states"]) or _is_bus(target["Arn"])


def _is_bus(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 5 and parts[2] == "events" and parts[5].startswith("event-bus/")


def _to_bus(arn: str, event: dict[str, Any]) -> None:
    """The event, whole, to each rule of the bus `arn`."""
    from moto.events.models import events_backends

    parts = arn.split(":")
    region, account, bus = parts[3], parts[4], parts[5].split("/", 1)[1]
    with concurrency.backend("events", account, region):
        target_bus = events_backends[account][region].event_buses.get(bus)
        rules = list(target_bus.rules.values()) if target_bus is not None else []
    for rule in rules:
        _send_to_targets(rule, event)


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    others = [t for t in self.targets if not _ours(t)]
    if others:
        moto_rule = copy.copy(self)  # moto refuses target kinds it does not know
        moto_rule.targets = others
        _moto_send_to_targets(moto_rule, original_event, transform_input)
    if self.state != "ENABLED" or not self.event_pattern.get_pattern():
        return
    if not self.event_pattern.matches_event(original_event):
        return
    event = aws_shaped(original_event)
    for target in filter(_ours, self.targets):
        arn = target["Arn"]
        if _is_bus(arn):
            threading.Thread(target=_to_bus, args=(arn, event), daemon=True).start()
            continue
        payload = _payload(target, event) if transform_input else json.dumps(event)
        threading.Thread(target=_deliver, args=(arn, payload), daemon=True).start()


FIRE = "/moto-api/bulwark/events/fire"


def fire(account: str, region: str, rule_name: str) -> dict[str, Any]:
    """What EventBridge does when a scheduled rule's time comes: a "Scheduled Event" to each
    target. moto never runs schedules; tests and the demo fire them on demand."""
    from moto.events.models import events_backends

    rule = events_backends[account][region].describe_rule(rule_name, None)
    if not rule.scheduled_expression:
        raise ValueError(f"rule {rule_name} has no schedule")
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }
    targets = [t for t in rule.targets if _ours(t)]
    for target in targets:
        threading.Thread(target=_deliver, args=(target["Arn"], _payload(target, event)), daemon=True).start()
    return {"event": event, "targets": [t["Arn"] for t in targets]}


class UnknownRule(Exception):
    pass


def _fire_request(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return fire(str(body["account"]), str(body.get("region", "us-east-1")), str(body["rule"]))
    except Exception as err:  # moto's ResourceNotFoundException for a rule that does not exist
        if isinstance(err, (KeyError, ValueError)):
            raise
        raise UnknownRule(str(err)) from err


def install() -> None:
    import moto.moto_api._internal.urls

    Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
    from bulwark_local.template import post_endpoint

    moto.moto_api._internal.urls.url_paths["{0}" + FIRE] = post_endpoint(FIRE, _fire_request, (UnknownRule,))
