"""AWS Config custom Lambda rules for the local AWS: a periodic evaluation run on demand, and
the evaluations the rule's function reports, kept and read back.

moto keeps custom rules (PutConfigRule, with the function's ARN) but never invokes them, and
takes PutEvaluations only in test mode. Here:

- `POST /moto-api/bulwark/config/evaluate {"account", "region", "rule"}` does what AWS Config
  does when a periodic rule is due: it invokes the rule's function synchronously with a
  `ScheduledNotification` event and a fresh result token, and answers the function's response.
- PutEvaluations with that token (not test mode) keeps each evaluation under the rule, the
  newest per resource (by OrderingTimestamp); an unknown token is InvalidResultTokenException,
  as AWS refuses it.
- GetComplianceDetailsByConfigRule answers them (`ComplianceTypes` filters; `Limit` at most
  100, `NextToken`).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.config.exceptions import InvalidResultTokenException, NoSuchConfigRuleException
from moto.config.models import config_backends

EVALUATE = "/moto-api/bulwark/config/evaluate"

# result token -> (account, region, rule name)
_tokens: dict[str, tuple[str, str, str]] = {}
# (account, region, rule name) -> (resource type, resource id) -> evaluation
_evaluations: dict[tuple[str, str, str], dict[tuple[str, str], dict[str, Any]]] = {}


class UnknownRule(Exception):
    pass


def _rule(account: str, region: str, name: str) -> Any:
    rule = config_backends[account][region].config_rules.get(name)
    if rule is None:
        raise UnknownRule(f"no Config rule {name} in {account} {region}")
    return rule


def evaluate(account: str, region: str, name: str) -> dict[str, Any]:
    rule = _rule(account, region, name)
    source = rule.source
    if source.owner != "CUSTOM_LAMBDA":
        raise UnknownRule(f"{name} is not a custom Lambda rule")
    token = base64.b64encode(uuid.uuid4().bytes).decode()
    _tokens[token] = (account, region, name)
    event = {
        "version": "1.0",
        "invokingEvent": json.dumps({
            "awsAccountId": account,
            "notificationCreationTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "messageType": "ScheduledNotification",
            "recordVersion": "1.0",
        }),
        "ruleParameters": rule.input_parameters if isinstance(rule.input_parameters, str) else "{}",
        "resultToken": token,
        "eventLeftScope": False,
        "executionRoleArn": f"arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
        "configRuleArn": rule.config_rule_arn,
        "configRuleName": name,
        "configRuleId": rule.config_rule_id,
        "accountId": account,
    }
    arn = source.source_identifier
    parts = arn.split(":")
    function = lambda_backends[parts[4]][parts[3]].get_function(parts[6])
    answer = function.invoke(json.dumps(event), {"x-amz-invocation-type": "RequestResponse"}, {})
    return {"resultToken": token, "response": json.loads(answer) if answer else None}


def put_evaluations(evaluations: list[dict[str, Any]], token: str) -> dict[str, Any]:
    where = _tokens.get(token)
    if where is None:
        raise InvalidResultTokenException()
    kept = _evaluations.setdefault(where, {})
    for evaluation in evaluations:
        key = (evaluation["ComplianceResourceType"], evaluation["ComplianceResourceId"])
        older = kept.get(key)
        if older is None or older["OrderingTimestamp"] <= evaluation["OrderingTimestamp"]:
            kept[key] = evaluation
    return {"FailedEvaluations": []}


def compliance_details(account: str, region: str, name: str, types: list[str] | None, limit: int | None,
                       next_token: str | None) -> dict[str, Any]:
    rule = config_backends[account][region].config_rules.get(name)
    if rule is None:
        raise NoSuchConfigRuleException(name)
    kept = _evaluations.get((account, region, name), {})
    results = []
    for (resource_type, resource_id), e in sorted(kept.items()):
        if types and e["ComplianceType"] not in types:
            continue
        result = {
            "EvaluationResultIdentifier": {
                "EvaluationResultQualifier": {
                    "ConfigRuleName": name,
                    "ResourceType": resource_type,
                    "ResourceId": resource_id,
                },
                "OrderingTimestamp": e["OrderingTimestamp"],
            },
            "ComplianceType": e["ComplianceType"],
            "ResultRecordedTime": datetime.now(timezone.utc).timestamp(),
            "ConfigRuleInvokedTime": e["OrderingTimestamp"],
        }
        if e.get("Annotation"):
            result["Annotation"] = e["Annotation"]
        results.append(result)
    size = min(limit or 100, 100)
    start = int(base64.b64decode(next_token).decode()) if next_token else 0
    answer: dict[str, Any] = {"EvaluationResults": results[start:start + size]}
    if start + size < len(results):
        answer["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
    return answer


def _evaluate_request(body: dict[str, Any]) -> dict[str, Any]:
    return evaluate(str(body["account"]), str(body.get("region", "us-east-1")), str(body["rule"]))


def install() -> None:
    import moto.moto_api._internal.urls
    from moto.config.responses import ConfigResponse

    from bulwark_local.template import post_endpoint

    def put(self: ConfigResponse) -> str:
        params = json.loads(self.body or "{}")
        if params.get("TestMode"):
            return json.dumps({"FailedEvaluations": []})
        return json.dumps(put_evaluations(params.get("Evaluations") or [], params.get("ResultToken", "")))

    def details(self: ConfigResponse) -> str:
        params = json.loads(self.body or "{}")
        return json.dumps(compliance_details(self.current_account, self.region, params.get("ConfigRuleName", ""),
                                             params.get("ComplianceTypes"), params.get("Limit"), params.get("NextToken")))

    ConfigResponse.put_evaluations = put  # type: ignore[method-assign]
    ConfigResponse.get_compliance_details_by_config_rule = details  # type: ignore[attr-defined]
    moto.moto_api._internal.urls.url_paths["{0}" + EVALUATE] = post_endpoint(EVALUATE, _evaluate_request, (UnknownRule,))
