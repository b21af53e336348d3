"""Which resources a backup selection assigns, with AWS Backup's documented semantics.

- Resources: ARNs with `*` wildcards (zero or more characters), combined with OR.
- ListOfTags: STRINGEQUALS tag conditions, combined with OR; a resource matching one is
  assigned even if Resources does not name it.
- Conditions: StringEquals, StringNotEquals, StringLike, StringNotLike on
  `aws:ResourceTag/<key>`, all of which must hold (AND). Case sensitive.
- NotResources: ARNs (with wildcards) removed from whatever the rest assigned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .kinds import Resource

TAG_PREFIX = "aws:ResourceTag/"


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


def _matches_any(arn: str, patterns: Iterable[str]) -> bool:
    return any(_wildcard(p).match(arn) for p in patterns)


def _tag_key(condition_key: str) -> str:
    return condition_key[len(TAG_PREFIX) :] if condition_key.startswith(TAG_PREFIX) else condition_key


def _condition_holds(operator: str, value: str | None, wanted: str) -> bool:
    if operator == "StringEquals":
        return value == wanted
    if operator == "StringNotEquals":
        return value != wanted
    if operator == "StringLike":
        return value is not None and bool(_wildcard(wanted).match(value))
    if operator == "StringNotLike":
        return value is None or not _wildcard(wanted).match(value)
    return False


def selects(selection: dict[str, Any], resource: Resource) -> bool:
    resources = selection.get("Resources") or []
    list_of_tags = selection.get("ListOfTags") or []
    conditions = selection.get("Conditions") or {}

    if resources or list_of_tags:
        by_arn = _matches_any(resource.arn, resources)
        by_tag = any(
            resource.tags.get(_tag_key(c["ConditionKey"])) == c["ConditionValue"]
            for c in list_of_tags
            if c.get("ConditionType", "STRINGEQUALS") == "STRINGEQUALS"
        )
        if not (by_arn or by_tag):
            return False
    elif not any(conditions.values()):
        return False

    for operator, params in conditions.items():
        for param in params or []:
            value = resource.tags.get(_tag_key(param["ConditionKey"]))
            if not _condition_holds(operator, value, param["ConditionValue"]):
                return False

    return not _matches_any(resource.arn, selection.get("NotResources") or [])
