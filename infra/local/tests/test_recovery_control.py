"""ARC routing control, emulated: the configuration API in us-west-2, a cluster's five Regional
endpoints (this server, signed for five Regions), routing control states through any of them,
also while us-east-1 is down; validation and IAM in front, answers checked against the model
as strictly as the Rust SDK parses them."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import _strict
from test_faults import GLOBAL, _faults, _outage
from test_iam import Account

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2"]
ARN = r"arn:aws:route53-recovery-control::\d{12}"


def _config(account: Account, credentials: dict[str, str] | None = None, region: str = "us-west-2") -> Any:
    client = account.client("route53-recovery-control-config", credentials, region=region)
    client.meta.events.register("after-call.route53-recovery-control-config", _strict)
    return client


def _cluster_client(account: Account, endpoint: dict[str, str], credentials: dict[str, str] | None = None) -> Any:
    """A data plane client as the product makes one: the cluster endpoint's URL and Region."""
    client = boto3.client(
        "route53-recovery-cluster",
        region_name=endpoint["Region"],
        endpoint_url=endpoint["Endpoint"],
        config=Config(retries={"max_attempts": 1}),
        **(credentials or account.admin),
    )
    client.meta.events.register("after-call.route53-recovery-cluster", _strict)
    return client


def _refused(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as err:
        call()
    response = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"].get("Message", "")


def _setup(account: Account) -> tuple[Any, dict[str, Any], list[str]]:
    config = _config(account)
    cluster_arn = config.create_cluster(ClusterName="bulwark")["Cluster"]["ClusterArn"]
    cluster = config.describe_cluster(ClusterArn=cluster_arn)["Cluster"]
    arns = [
        config.create_routing_control(ClusterArn=cluster_arn, RoutingControlName=f"cell-{r}")["RoutingControl"]["RoutingControlArn"]
        for r in ("us-east-1", "us-west-2")
    ]
    return config, cluster, arns


def test_a_cluster_has_five_regional_endpoints_and_a_default_control_panel(aws: Any, endpoint: str) -> None:
    account = Account(aws)
    config = _config(account)
    created = config.create_cluster(ClusterName="bulwark")["Cluster"]
    # The developer guide's example: PENDING, and no endpoints yet.
    assert created["Status"] == "PENDING" and "ClusterEndpoints" not in created
    assert re.fullmatch(ARN + r":cluster/[0-9a-f-]{36}", created["ClusterArn"])
    assert created["Owner"] == account.id and created["NetworkType"] == "IPV4"
    cluster = config.describe_cluster(ClusterArn=created["ClusterArn"])["Cluster"]
    assert cluster["Status"] == "DEPLOYED"
    assert cluster["ClusterEndpoints"] == [{"Endpoint": endpoint + "/", "Region": r} for r in REGIONS]
    assert [c["ClusterArn"] for c in config.list_clusters()["Clusters"]] == [created["ClusterArn"]]

    panels = config.list_control_panels(ClusterArn=created["ClusterArn"])["ControlPanels"]
    assert [(p["Name"], p["DefaultControlPanel"], p["Status"]) for p in panels] == [("DefaultControlPanel", True, "DEPLOYED")]
    default = panels[0]["ControlPanelArn"]
    assert re.fullmatch(ARN + r":controlpanel/[0-9a-f]{32}", default)

    rc = config.create_routing_control(ClusterArn=created["ClusterArn"], RoutingControlName="cell-1")["RoutingControl"]
    assert rc["Status"] == "PENDING" and rc["ControlPanelArn"] == default
    assert re.fullmatch(re.escape(default) + r"/routingcontrol/[0-9a-f]{16}", rc["RoutingControlArn"])
    assert config.describe_routing_control(RoutingControlArn=rc["RoutingControlArn"])["RoutingControl"]["Status"] == "DEPLOYED"
    assert config.describe_control_panel(ControlPanelArn=default)["ControlPanel"]["RoutingControlCount"] == 1
    # Routing control names are unique within a control panel.
    assert _refused(lambda: config.create_routing_control(ClusterArn=created["ClusterArn"], RoutingControlName="cell-1"))[:2] == ("ConflictException", 409)

    own = config.create_control_panel(ClusterArn=created["ClusterArn"], ControlPanelName="failover")["ControlPanel"]
    assert own["DefaultControlPanel"] is False and own["Status"] == "PENDING"
    in_own = config.create_routing_control(ClusterArn=created["ClusterArn"], ControlPanelArn=own["ControlPanelArn"], RoutingControlName="cell-2")
    assert in_own["RoutingControl"]["ControlPanelArn"] == own["ControlPanelArn"]
    assert [r["Name"] for r in config.list_routing_controls(ControlPanelArn=own["ControlPanelArn"])["RoutingControls"]] == ["cell-2"]

    config.delete_routing_control(RoutingControlArn=rc["RoutingControlArn"])
    assert _refused(lambda: config.describe_routing_control(RoutingControlArn=rc["RoutingControlArn"]))[:2] == ("ResourceNotFoundException", 404)
    config.delete_control_panel(ControlPanelArn=own["ControlPanelArn"])
    config.delete_cluster(ClusterArn=created["ClusterArn"])
    assert _refused(lambda: config.describe_cluster(ClusterArn=created["ClusterArn"]))[:2] == ("ResourceNotFoundException", 404)


def test_routing_control_states_through_any_endpoint_while_us_east_1_is_down(aws: Any, endpoint: str) -> None:
    account = Account(aws)
    _, cluster, (east, west) = _setup(account)
    endpoints = {e["Region"]: _cluster_client(account, e) for e in cluster["ClusterEndpoints"]}
    # A new routing control is Off.
    state = endpoints["us-east-1"].get_routing_control_state(RoutingControlArn=east)
    state.pop("ResponseMetadata")
    assert state == {"RoutingControlArn": east, "RoutingControlState": "Off", "RoutingControlName": "cell-us-east-1"}
    endpoints["us-east-1"].update_routing_control_state(RoutingControlArn=east, RoutingControlState="On")

    _faults(endpoint, "POST", _outage(account.id, except_services=GLOBAL))
    try:
        failover = [{"RoutingControlArn": east, "RoutingControlState": "Off"}, {"RoutingControlArn": west, "RoutingControlState": "On"}]
        tried = []
        for region in REGIONS:  # the product's rotation through the endpoints
            tried.append(region)
            try:
                endpoints[region].update_routing_control_states(UpdateRoutingControlStateEntries=failover)
                break
            except ClientError as err:
                assert (err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]) == ("ServiceUnavailable", 503)
        assert tried == ["us-east-1", "us-west-2"]
        # Read back through another endpoint.
        assert endpoints["eu-west-1"].get_routing_control_state(RoutingControlArn=east)["RoutingControlState"] == "Off"
        assert endpoints["eu-west-1"].get_routing_control_state(RoutingControlArn=west)["RoutingControlState"] == "On"
        listed = endpoints["ap-northeast-1"].list_routing_controls()["RoutingControls"]
        assert {(r["RoutingControlName"], r["RoutingControlState"]) for r in listed} == {("cell-us-east-1", "Off"), ("cell-us-west-2", "On")}
        assert all(r["Owner"] == account.id and r["ControlPanelName"] == "DefaultControlPanel" for r in listed)
    finally:
        _faults(endpoint, "DELETE", query=f"?account={account.id}")


def test_unknown_routing_controls_and_other_regions_are_refused(aws: Any) -> None:
    account = Account(aws)
    _, cluster, (east, _) = _setup(account)
    client = _cluster_client(account, cluster["ClusterEndpoints"][1])
    unknown = east.rsplit("/", 1)[0] + "/0000000000000000"
    assert _refused(lambda: client.get_routing_control_state(RoutingControlArn=unknown))[:2] == ("ResourceNotFoundException", 400)
    # All or nothing: one unknown routing control changes none.
    entries = [{"RoutingControlArn": east, "RoutingControlState": "On"}, {"RoutingControlArn": unknown, "RoutingControlState": "On"}]
    assert _refused(lambda: client.update_routing_control_states(UpdateRoutingControlStateEntries=entries))[0] == "ResourceNotFoundException"
    assert client.get_routing_control_state(RoutingControlArn=east)["RoutingControlState"] == "Off"
    # Another account's caller does not see them.
    other = _cluster_client(account, cluster["ClusterEndpoints"][1], Account(aws).admin)
    assert _refused(lambda: other.get_routing_control_state(RoutingControlArn=east))[0] == "ResourceNotFoundException"
    # The configuration API is us-west-2's only; a cluster endpoint is in one of five Regions.
    code, _, message = _refused(lambda: _config(account, region="us-east-1").list_clusters())
    assert code == "ValidationException" and message.startswith("local AWS:")
    elsewhere = dict(cluster["ClusterEndpoints"][0], Region="eu-central-1")
    assert _refused(lambda: _cluster_client(account, elsewhere).list_routing_controls())[0] == "ValidationException"
    # Validation is in front: a name with a space breaks the model's pattern.
    assert _refused(lambda: _config(account).create_cluster(ClusterName="two words"))[0] == "ValidationException"


def test_routing_control_actions_are_authorized_on_each_routing_control(aws: Any) -> None:
    account = Account(aws)
    config, cluster, (east, west) = _setup(account)
    where = cluster["ClusterEndpoints"][1]
    only_east = account.role(
        "only-east",
        {"Effect": "Allow", "Action": ["route53-recovery-cluster:GetRoutingControlState", "route53-recovery-cluster:UpdateRoutingControlStates"], "Resource": east},
    )
    client = _cluster_client(account, where, only_east)
    assert client.get_routing_control_state(RoutingControlArn=east)["RoutingControlState"] == "Off"
    code, _, message = _refused(lambda: client.get_routing_control_state(RoutingControlArn=west))
    assert code == "AccessDeniedException" and f"route53-recovery-cluster:GetRoutingControlState on resource: {west}" in message
    entries = [{"RoutingControlArn": east, "RoutingControlState": "On"}, {"RoutingControlArn": west, "RoutingControlState": "On"}]
    code, _, message = _refused(lambda: client.update_routing_control_states(UpdateRoutingControlStateEntries=entries))
    assert f"route53-recovery-cluster:UpdateRoutingControlStates on resource: {west}" in message
    client.update_routing_control_states(UpdateRoutingControlStateEntries=entries[:1])

    builder = account.role(
        "builder",
        {"Effect": "Allow", "Action": "route53-recovery-control-config:CreateRoutingControl", "Resource": cluster["ClusterArn"]},
    )
    _config(account, builder).create_routing_control(ClusterArn=cluster["ClusterArn"], RoutingControlName="more")
    code, _, message = _refused(lambda: _config(account, builder).create_cluster(ClusterName="another"))
    assert code == "AccessDeniedException" and "route53-recovery-control-config:CreateCluster on resource: *" in message
