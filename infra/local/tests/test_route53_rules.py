"""Route 53 refuses, whole, a change batch AWS would refuse and moto accepts: an A record that
is no IPv4 address, a simple set beside weighted ones (and the reverse), a DELETE of a weighted
set without its set identifier or with other values."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _zone(aws: Any) -> tuple[Any, str]:
    """A zone of its own."""
    route53 = aws("route53")
    zone = route53.create_hosted_zone(Name="ex.com", CallerReference=str(random.random()))["HostedZone"]["Id"]
    return route53, zone


def _change(route53: Any, zone: str, action: str, **record_set: Any) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record_set}]}
    )


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(err.value.response["Error"]["Message"])


def _sets(route53: Any, zone: str, name: str) -> list[dict[str, Any]]:
    return [s for s in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"] if s["Name"] == name]


def test_an_a_record_must_hold_ipv4_addresses(aws: Any) -> None:
    route53, zone = _zone(aws)
    for bad in ("", "db.ex.com"):
        message = _refused(lambda: _change(route53, zone, "CREATE", Name="a.ex.com", Type="A", TTL=60, ResourceRecords=[{"Value": bad}]))
        assert message == (f"[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) "
                           f"encountered with '{bad}'']")
    assert _sets(route53, zone, "a.ex.com.") == []
    _change(route53, zone, "CREATE", Name="a.ex.com", Type="A", TTL=60, ResourceRecords=[{"Value": "192.0.2.1"}])
    assert len(_sets(route53, zone, "a.ex.com.")) == 1


def test_a_simple_set_and_weighted_sets_of_one_name_and_type_exclude_each_other(aws: Any) -> None:
    route53, zone = _zone(aws)
    _change(route53, zone, "CREATE", Name="w.ex.com", Type="CNAME", TTL=60, SetIdentifier="blue", Weight=90,
            ResourceRecords=[{"Value": "blue.ex.com"}])
    message = _refused(lambda: _change(route53, zone, "UPSERT", Name="w.ex.com", Type="CNAME", TTL=60,
                                       ResourceRecords=[{"Value": "c.ex.com"}]))
    assert message == "[RRSet with DNS name w.ex.com., type CNAME cannot be created as other RRSets exist with the same name and type.]"
    _change(route53, zone, "CREATE", Name="s.ex.com", Type="CNAME", TTL=60, ResourceRecords=[{"Value": "c.ex.com"}])
    message = _refused(lambda: _change(route53, zone, "CREATE", Name="s.ex.com", Type="CNAME", TTL=60, SetIdentifier="green",
                                       Weight=10, ResourceRecords=[{"Value": "green.ex.com"}]))
    assert "SetIdentifier green cannot be created as a non-weighted set exists with the same name and type" in message
    assert [s.get("SetIdentifier") for s in _sets(route53, zone, "w.ex.com.")] == ["blue"]


def test_a_delete_names_the_set_exactly(aws: Any) -> None:
    route53, zone = _zone(aws)
    for identifier, weight in (("blue", 90), ("green", 10)):
        _change(route53, zone, "CREATE", Name="w.ex.com", Type="CNAME", TTL=60, SetIdentifier=identifier, Weight=weight,
                ResourceRecords=[{"Value": f"{identifier}.ex.com"}])
    message = _refused(lambda: _change(route53, zone, "DELETE", Name="w.ex.com", Type="CNAME", TTL=60,
                                       ResourceRecords=[{"Value": "blue.ex.com"}]))
    assert message == "Tried to delete resource record set [name='w.ex.com.', type='CNAME'] but it was not found"
    message = _refused(lambda: _change(route53, zone, "DELETE", Name="w.ex.com", Type="CNAME", TTL=300, SetIdentifier="blue",
                                       Weight=90, ResourceRecords=[{"Value": "blue.ex.com"}]))
    assert message == ("Tried to delete resource record set [name='w.ex.com.', type='CNAME', set-identifier='blue'] "
                       "but the values provided do not match the current values")
    assert len(_sets(route53, zone, "w.ex.com.")) == 2
    _change(route53, zone, "DELETE", Name="w.ex.com", Type="CNAME", TTL=60, SetIdentifier="blue", Weight=90,
            ResourceRecords=[{"Value": "blue.ex.com"}])
    assert [s.get("SetIdentifier") for s in _sets(route53, zone, "w.ex.com.")] == ["green"]
