"""Route 53's refusals of record changes that moto accepts (infra/local/FIDELITY.md, "Route 53:
record changes AWS refuses"). Each change of a ChangeResourceRecordSets batch is checked
against the zone's record sets before moto applies any, and the batch is refused whole with
`InvalidChangeBatch` (HTTP 400), worded as Route 53 words them:

- an A record whose value is not an IPv4 address (an empty one included), an AAAA record's not
  an IPv6 address, a CNAME's empty value;
- a set without a set identifier beside sets of the same name and type that have one (a
  routing policy's), and one with a set identifier beside a simple set;
- a DELETE of a set that does not exist as named (a weighted set without its set identifier
  is not found), or whose values, TTL or alias target are not the current ones.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Callable

from moto.route53.exceptions import Route53ClientError
from moto.route53.models import Route53Backend


class Refused(Route53ClientError):
    def __init__(self, messages: list[str]):
        # AWS answers a DELETE's problem bare, and lists the others in brackets (as quoted in
        # FIDELITY.md).
        bare = len(messages) == 1 and messages[0].startswith("Tried to delete")
        super().__init__("InvalidChangeBatch", messages[0] if bare else "[" + ", ".join(messages) + "]")


def _name(name: str) -> str:
    return name.lower().rstrip(".") + "."


def _values(record_set: dict[str, Any]) -> list[str]:
    records = record_set.get("ResourceRecords") or []
    if isinstance(records, dict):
        records = records.get("ResourceRecord", [])
    if isinstance(records, dict):
        records = [records]
    return [r["Value"] if isinstance(r, dict) else r for r in records]


def _bad_value(kind: str, value: str) -> str | None:
    try:
        if kind == "A":
            ipaddress.IPv4Address(value)
        elif kind == "AAAA":
            ipaddress.IPv6Address(value)
        elif kind == "CNAME" and not value.strip():
            return f"Invalid Resource Record: 'FATAL problem: DomainLabelEmpty (Domain label is empty) encountered with '{value}''"
    except ValueError:
        label = "IPv4" if kind == "A" else "IPv6"
        code = "ARRDATAIllegalIPv4Address" if kind == "A" else "AAAARRDATAIllegalIPv6Address"
        return f"Invalid Resource Record: 'FATAL problem: {code} (Value is not a valid {label} address) encountered with '{value}''"
    return None


def _same(existing: Any, record_set: dict[str, Any]) -> bool:
    """The DELETE names the set as it is: its values and TTL, or its alias target."""
    alias = record_set.get("AliasTarget")
    if alias or existing.alias_target:
        mine = existing.alias_target or {}
        return bool(alias) and _name(str(alias.get("DNSName", ""))) == _name(str(mine.get("DNSName", "")))
    return sorted(_values(record_set)) == sorted(existing.records) and str(record_set.get("TTL")) == str(existing.ttl)


def problems(zone: Any, change_list: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for change in change_list:
        record_set = change.get("ResourceRecordSet") or {}
        name, kind = _name(record_set.get("Name", "")), record_set.get("Type")
        identifier = record_set.get("SetIdentifier")
        same_name = [r for r in zone.rrsets if _name(r.name) == name and r.type == kind]
        described = f"[name='{name}', type='{kind}'" + (f", set-identifier='{identifier}'" if identifier else "") + "]"
        if change.get("Action") in ("CREATE", "UPSERT"):
            for value in _values(record_set):
                bad = _bad_value(kind, value)
                if bad:
                    found.append(bad)
            others = [r for r in same_name if (r.set_identifier or None) != identifier]
            if identifier is None and any(r.set_identifier for r in others):
                found.append(f"RRSet with DNS name {name}, type {kind} cannot be created as other RRSets exist with the same name and type.")
            if identifier is not None and any(not r.set_identifier for r in others):
                found.append(f"RRSet with DNS name {name}, type {kind}, SetIdentifier {identifier} cannot be created as a non-weighted set exists with the same name and type.")
        elif change.get("Action") == "DELETE":
            existing = next((r for r in same_name if (r.set_identifier or None) == identifier), None)
            if existing is None:
                found.append(f"Tried to delete resource record set {described} but it was not found")
            elif not _same(existing, record_set):
                found.append(f"Tried to delete resource record set {described} but the values provided do not match the current values")
    return found


def _checked(change: Callable[..., None]) -> Callable[..., None]:
    def change_checked(self: Route53Backend, zoneid: str, change_list: list[dict[str, Any]]) -> None:
        found = problems(self.get_hosted_zone(zoneid), change_list)
        if found:
            raise Refused(found)
        change(self, zoneid, change_list)

    return change_checked


def install() -> None:
    Route53Backend.change_resource_record_sets = _checked(Route53Backend.change_resource_record_sets)  # type: ignore[method-assign]
