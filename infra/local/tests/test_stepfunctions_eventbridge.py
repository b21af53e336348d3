"""Step Functions executes ASL with Lambda tasks run by the local Lambda runtime, and
EventBridge delivers matching events to Lambda functions and state machines."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from conftest import ACCOUNT, eventually, placeholder_function, unique

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def role(aws: Any) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    name = unique("fn")
    iam = aws("iam", REGION)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    # Executions run as their state machine's role: it must be allowed to invoke the tasks.
    invoke = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="invoke", PolicyDocument=json.dumps(invoke))
    return arn


def _state_machine(aws: Any, role: str, definition: dict[str, Any]) -> str:
    return aws("stepfunctions", REGION).create_state_machine(
        name=unique("sm"), definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]


def _finished(aws: Any, execution_arn: str) -> dict[str, Any]:
    sfn = aws("stepfunctions", REGION)
    return eventually(lambda: (d := sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and d)


def test_invoke_is_forwarded_to_the_local_runtime(aws: Any, role: str, lambda_runtime: Any) -> None:
    name = unique("discover")
    placeholder_function(aws, REGION, role, name)
    answer = aws("lambda", REGION).invoke(FunctionName=name, Payload=json.dumps({"sweep": "full"}))
    assert json.loads(answer["Payload"].read()) == {"function": name, "received": {"sweep": "full"}}
    assert "FunctionError" not in answer

    failing = aws("lambda", REGION).invoke(FunctionName=placeholder_function(aws, REGION, role, "failing"), Payload=b"{}")
    assert failing["FunctionError"] == "Unhandled"
    assert json.loads(failing["Payload"].read())["errorType"] == "Boom"


def test_state_machine_runs_asl_with_lambda_tasks(aws: Any, role: str, lambda_runtime: Any) -> None:
    name = unique("classify")
    fn = placeholder_function(aws, REGION, role, name)
    machine = _state_machine(aws, role, {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"tier": "critical"}, "ResultPath": "$.prepared", "Next": "Classify"},
            "Classify": {"Type": "Task", "Resource": fn, "ResultPath": "$.classified", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    })
    execution = aws("stepfunctions", REGION).start_execution(stateMachineArn=machine, input=json.dumps({"asset": "t1"}))
    done = _finished(aws, execution["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["classified"] == {"function": name, "received": {"asset": "t1", "prepared": {"tier": "critical"}}}
    assert lambda_runtime.calls_to(name) == [{"asset": "t1", "prepared": {"tier": "critical"}}]


def test_eventbridge_delivers_matching_events_to_lambda_and_state_machines(aws: Any, role: str, lambda_runtime: Any) -> None:
    name = unique("assign-policy")
    fn = placeholder_function(aws, REGION, role, name)
    machine = _state_machine(aws, role, {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    events = aws("events", REGION)
    rule = unique("config-change")
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps({"source": ["aws.config"], "detail-type": ["Config Configuration Item Change"]}),
    )
    events.put_targets(Rule=rule, Targets=[
        {"Id": "fn", "Arn": fn},
        {"Id": "sm", "Arn": machine, "RoleArn": role},
        {"Id": "const", "Arn": fn, "Input": json.dumps({"constant": True})},
    ])
    detail = {"configurationItem": {"resourceType": "AWS::DynamoDB::Table", "resourceName": "orders"}}
    for source in ("aws.config", "aws.other"):
        events.put_events(Entries=[{
            "Source": source, "DetailType": "Config Configuration Item Change", "Detail": json.dumps(detail),
        }])

    received = eventually(lambda: len(lambda_runtime.calls_to(name)) >= 2 and lambda_runtime.calls_to(name))
    event = next(e for e in received if "detail" in e)
    assert {"constant": True} in received
    assert event["source"] == "aws.config" and event["detail"] == detail
    assert event["account"] == ACCOUNT and event["region"] == REGION
    assert event["time"].endswith("Z") and "T" in event["time"]

    sfn = aws("stepfunctions", REGION)
    executions = eventually(lambda: sfn.list_executions(stateMachineArn=machine)["executions"])
    assert len(executions) == 1
    started = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(started["input"])["detail"] == detail
    time.sleep(0.3)
    assert len(lambda_runtime.calls_to(name)) == 2


def test_an_execution_runs_as_its_state_machines_role(aws: Any, lambda_runtime: Any) -> None:
    iam = aws("iam", REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    powerless = iam.create_role(RoleName=unique("sm"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    fn = placeholder_function(aws, REGION, powerless, unique("classify"))
    machine = _state_machine(aws, powerless, {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": fn, "End": True}}})
    execution = aws("stepfunctions", REGION).start_execution(stateMachineArn=machine, input="{}")
    done = _finished(aws, execution["executionArn"])
    assert done["status"] == "FAILED", done
    assert "lambda:InvokeFunction" in done.get("cause", ""), done
    assert lambda_runtime.calls_to(fn.rsplit(":", 1)[-1]) == []


def test_patterns_match_as_eventbridge_matches_them(aws: Any, role: str, lambda_runtime: Any) -> None:
    """$or, prefix and anything-but, as a rule's pattern: only the matching events arrive."""
    name = unique("matcher")
    fn = placeholder_function(aws, REGION, role, name)
    events = aws("events", REGION)
    rule = unique("patterns")
    pattern = {
        "source": [{"prefix": "aws.con"}],
        "detail": {"$or": [
            {"resourceType": [{"anything-but": ["AWS::SQS::Queue", "AWS::SNS::Topic"]}], "status": ["OK"]},
            {"status": ["ResourceDeleted"]},
        ]},
    }
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": fn}])
    cases = [
        ("aws.config", {"resourceType": "AWS::S3::Bucket", "status": "OK", "n": 1}, True),
        ("aws.config", {"resourceType": "AWS::SQS::Queue", "status": "OK", "n": 2}, False),
        ("aws.config", {"resourceType": "AWS::SQS::Queue", "status": "ResourceDeleted", "n": 3}, True),
        ("aws.other", {"resourceType": "AWS::S3::Bucket", "status": "OK", "n": 4}, False),
    ]
    for source, detail, _ in cases:
        events.put_events(Entries=[{"Source": source, "DetailType": "change", "Detail": json.dumps(detail)}])
    expected = sorted(d["n"] for _, d, matches in cases if matches)
    eventually(lambda: len(lambda_runtime.calls_to(name)) >= len(expected))
    time.sleep(0.3)
    assert sorted(e["detail"]["n"] for e in lambda_runtime.calls_to(name)) == expected


def test_an_alarms_state_changes_reach_the_rules_as_cloudwatch_sends_them(aws: Any, role: str, lambda_runtime: Any) -> None:
    """SetAlarmState to another state puts a "CloudWatch Alarm State Change" on the bus; to the
    same state, nothing. The target's input transformer gets the event whole."""
    name = unique("failover")
    fn = placeholder_function(aws, REGION, role, name)
    cloudwatch = aws("cloudwatch", REGION)
    alarm = unique("primary-down")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm, AlarmDescription="the primary does not answer", MetricName="HealthCheckStatus",
        Namespace="AWS/Route53", Dimensions=[{"Name": "HealthCheckId", "Value": "hc-1"}], Statistic="Minimum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="LessThanThreshold",
    )
    events = aws("events", REGION)
    rule = unique("alarms")
    events.put_rule(Name=rule, EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"state": {"value": ["ALARM"]}, "alarmName": [alarm]},
    }))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": fn, "InputTransformer": {
        "InputTemplate": '{"action": "alarm", "event": <aws.events.event.json>}',
    }}])

    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="the health check failed")
    received = eventually(lambda: lambda_runtime.calls_to(name))
    assert len(received) == 1
    assert received[0]["action"] == "alarm"
    event = received[0]["event"]
    arn = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["AlarmArn"]
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [arn]
    assert event["account"] == ACCOUNT and event["region"] == REGION and event["time"].endswith("Z")
    detail = event["detail"]
    assert detail["alarmName"] == alarm
    assert detail["state"]["value"] == "ALARM" and detail["state"]["reason"] == "the health check failed"
    assert detail["previousState"]["value"] == "OK"
    assert detail["configuration"]["description"] == "the primary does not answer"
    assert detail["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] == {"HealthCheckId": "hc-1"}

    # The same state again is no change; OK is a change the rule does not match; ALARM again is.
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="still failing")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="back")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="again")
    eventually(lambda: len(lambda_runtime.calls_to(name)) >= 2)
    time.sleep(0.5)
    reasons = [c["event"]["detail"]["state"]["reason"] for c in lambda_runtime.calls_to(name)]
    assert reasons == ["the health check failed", "again"]
    assert lambda_runtime.calls_to(name)[1]["event"]["detail"]["previousState"]["value"] == "OK"
