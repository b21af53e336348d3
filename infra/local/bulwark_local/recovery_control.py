"""Amazon Application Recovery Controller (ARC) routing control, emulated: moto has neither
its configuration API (`route53-recovery-control-config`) nor its cluster data plane
(`route53-recovery-cluster`). A WSGI middleware behind request validation and IAM answers
every request signed for either service; infra/local/FIDELITY.md names each behaviour's source.

Recovery Control Configuration (rest-json), served in us-west-2 only, as on AWS ("you must
specify the US West (Oregon) Region ... when you work with ... recovery control
configuration resources"); a request signed for another Region is refused:

- CreateCluster answers the cluster `PENDING`, without endpoints, as the developer guide's
  example does; DescribeCluster and ListClusters then answer it `DEPLOYED` with its five
  `ClusterEndpoints`, one in each of us-east-1, us-west-2, eu-west-1, ap-northeast-1 and
  ap-southeast-2 (AWS's five cluster Regions). Each endpoint is this local server's own base
  URL, taken from the request's Host header (`http://127.0.0.1:4566/`), with its Region: a
  client made with that endpoint URL signs for that Region, so a region outage fault on
  us-east-1 fails that endpoint and the others answer.
- Each cluster gets a `DefaultControlPanel` (`DefaultControlPanel: true`); CreateControlPanel
  adds others. CreateRoutingControl puts a routing control in the named control panel, else
  the cluster's default one; a name a routing control of that panel has is ConflictException.
  Created resources are `PENDING` in the create answer, `DEPLOYED` when read. Describe*, List* (MaxResults/NextToken), Delete* of the three.
- ARNs: arn:aws:route53-recovery-control::<account>:cluster/<uuid>,
  ...:controlpanel/<32 hex>, ...:controlpanel/<32 hex>/routingcontrol/<16 hex>.

Routing control data plane (json 1.0), at the cluster endpoints, in the five cluster
Regions only: GetRoutingControlState, UpdateRoutingControlState, UpdateRoutingControlStates
(all or nothing), ListRoutingControls. A routing control starts `Off`. An unknown routing
control (or control panel) is ResourceNotFoundException. State is the caller's account's.

Not emulated: safety rules (SafetyRulesToOverride is accepted and ignored), tags, resource
policies and cross-account clusters, UpdateCluster/UpdateControlPanel/UpdateRoutingControl,
Route 53 health checks of type RECOVERY_CONTROL (moto's Route 53 keeps no routing control
with a health check), and which cluster an endpoint belongs to: every endpoint is the same
server and answers for every routing control of the account.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from moto.core.base_backend import BackendDict, BaseBackend

from bulwark_local import awsrequest

CONFIG = "route53-recovery-control-config"
CLUSTER = "route53-recovery-cluster"
CONFIG_REGION = "us-west-2"
CLUSTER_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2")
DEFAULT_PANEL = "DefaultControlPanel"


@dataclass
class RoutingControl:
    arn: str
    name: str
    panel_arn: str
    state: str = "Off"


@dataclass
class ControlPanel:
    arn: str
    name: str
    cluster_arn: str
    default: bool
    routing_controls: dict[str, RoutingControl] = field(default_factory=dict)


@dataclass
class Cluster:
    arn: str
    name: str
    network_type: str
    panels: dict[str, ControlPanel] = field(default_factory=dict)


class RecoveryControlBackend(BaseBackend):
    """One account's clusters (moto's reset empties it with every other backend)."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.clusters: dict[str, Cluster] = {}
        self.tokens: dict[tuple[str, str], str] = {}  # (operation, ClientToken) -> the ARN made


backends = BackendDict(RecoveryControlBackend, CONFIG, use_boto3_regions=False, additional_regions=["aws"])
_lock = threading.Lock()


class Failure(Exception):
    def __init__(self, code: str, message: str, extra: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra or {}


def _not_found(kind: str, arn: str) -> Failure:
    return Failure("ResourceNotFoundException", f"{kind} {arn} not found", {"resourceId": arn, "resourceType": kind})


# ---- the model -------------------------------------------------------------------------


def _backend(account: str) -> RecoveryControlBackend:
    return backends[account]["aws"]


def _panels(backend: RecoveryControlBackend) -> dict[str, ControlPanel]:
    return {arn: panel for cluster in backend.clusters.values() for arn, panel in cluster.panels.items()}


def _routing_controls(backend: RecoveryControlBackend) -> dict[str, RoutingControl]:
    return {arn: rc for panel in _panels(backend).values() for arn, rc in panel.routing_controls.items()}


def _cluster(backend: RecoveryControlBackend, arn: str) -> Cluster:
    found = backend.clusters.get(arn)
    if found is None:
        raise _not_found("Cluster", arn)
    return found


def _panel(backend: RecoveryControlBackend, arn: str) -> ControlPanel:
    found = _panels(backend).get(arn)
    if found is None:
        raise _not_found("ControlPanel", arn)
    return found


def _routing_control(backend: RecoveryControlBackend, arn: str) -> RoutingControl:
    found = _routing_controls(backend).get(arn)
    if found is None:
        raise _not_found("RoutingControl", arn)
    return found


def _arn(account: str, resource: str) -> str:
    return f"arn:aws:route53-recovery-control::{account}:{resource}"


def _new_panel(account: str, cluster: Cluster, name: str, default: bool) -> ControlPanel:
    panel = ControlPanel(_arn(account, f"controlpanel/{uuid.uuid4().hex}"), name, cluster.arn, default)
    cluster.panels[panel.arn] = panel
    return panel


def _cluster_shape(account: str, cluster: Cluster, base_url: str | None) -> dict[str, Any]:
    shape: dict[str, Any] = {"ClusterArn": cluster.arn, "Name": cluster.name, "Owner": account, "NetworkType": cluster.network_type}
    if base_url is None:
        shape["Status"] = "PENDING"
    else:
        shape["Status"] = "DEPLOYED"
        shape["ClusterEndpoints"] = [{"Endpoint": base_url, "Region": region} for region in CLUSTER_REGIONS]
    return shape


def _panel_shape(account: str, panel: ControlPanel, status: str = "DEPLOYED") -> dict[str, Any]:
    return {
        "ClusterArn": panel.cluster_arn, "ControlPanelArn": panel.arn, "DefaultControlPanel": panel.default,
        "Name": panel.name, "RoutingControlCount": len(panel.routing_controls), "Status": status, "Owner": account,
    }


def _routing_control_shape(account: str, rc: RoutingControl, status: str = "DEPLOYED") -> dict[str, Any]:
    return {"ControlPanelArn": rc.panel_arn, "Name": rc.name, "RoutingControlArn": rc.arn, "Status": status, "Owner": account}


def _page(items: list[Any], params: dict[str, Any], member: str) -> dict[str, Any]:
    """A page of `items` by MaxResults and an opaque NextToken."""
    start = int(base64.b64decode(params["NextToken"]).decode()) if params.get("NextToken") else 0
    size = int(params.get("MaxResults") or 100)
    answer: dict[str, Any] = {member: items[start : start + size]}
    if start + size < len(items):
        answer["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
    return answer


def _idempotent(backend: RecoveryControlBackend, operation: str, params: dict[str, Any], make: Callable[[], str]) -> tuple[str, bool]:
    """The ARN a ClientToken already made, or a new one: (arn, made now)."""
    token = params.get("ClientToken")
    if token and (operation, token) in backend.tokens:
        return backend.tokens[(operation, token)], False
    arn = make()
    if token:
        backend.tokens[(operation, token)] = arn
    return arn, True


# ---- the configuration API -----------------------------------------------------------


def _config(operation: str, account: str, params: dict[str, Any], base_url: str) -> dict[str, Any]:
    backend = _backend(account)
    if operation == "CreateCluster":
        def make() -> str:
            cluster = Cluster(_arn(account, f"cluster/{uuid.uuid4()}"), params["ClusterName"], params.get("NetworkType") or "IPV4")
            backend.clusters[cluster.arn] = cluster
            _new_panel(account, cluster, DEFAULT_PANEL, default=True)
            return cluster.arn

        arn, made = _idempotent(backend, operation, params, make)
        return {"Cluster": _cluster_shape(account, _cluster(backend, arn), None if made else base_url)}
    if operation == "DescribeCluster":
        return {"Cluster": _cluster_shape(account, _cluster(backend, params["ClusterArn"]), base_url)}
    if operation == "ListClusters":
        return _page([_cluster_shape(account, c, base_url) for c in backend.clusters.values()], params, "Clusters")
    if operation == "DeleteCluster":
        _cluster(backend, params["ClusterArn"])
        del backend.clusters[params["ClusterArn"]]
        return {}
    if operation == "CreateControlPanel":
        cluster = _cluster(backend, params["ClusterArn"])
        arn, made = _idempotent(backend, operation, params, lambda: _new_panel(account, cluster, params["ControlPanelName"], default=False).arn)
        return {"ControlPanel": _panel_shape(account, _panel(backend, arn), "PENDING" if made else "DEPLOYED")}
    if operation == "DescribeControlPanel":
        return {"ControlPanel": _panel_shape(account, _panel(backend, params["ControlPanelArn"]))}
    if operation == "ListControlPanels":
        panels = [p for p in _panels(backend).values() if params.get("ClusterArn") in (None, p.cluster_arn)]
        return _page([_panel_shape(account, p) for p in panels], params, "ControlPanels")
    if operation == "DeleteControlPanel":
        panel = _panel(backend, params["ControlPanelArn"])
        del backend.clusters[panel.cluster_arn].panels[panel.arn]
        return {}
    if operation == "CreateRoutingControl":
        cluster = _cluster(backend, params["ClusterArn"])
        if params.get("ControlPanelArn"):
            panel = cluster.panels.get(params["ControlPanelArn"])
            if panel is None:
                raise _not_found("ControlPanel", params["ControlPanelArn"])
        else:
            panel = next(p for p in cluster.panels.values() if p.default)

        def make_rc() -> str:
            # "routing control names must be unique within each control panel"
            if any(rc.name == params["RoutingControlName"] for rc in panel.routing_controls.values()):
                raise Failure("ConflictException", f"a routing control named {params['RoutingControlName']} exists in {panel.arn}")
            rc = RoutingControl(f"{panel.arn}/routingcontrol/{uuid.uuid4().hex[:16]}", params["RoutingControlName"], panel.arn)
            panel.routing_controls[rc.arn] = rc
            return rc.arn

        arn, made = _idempotent(backend, operation, params, make_rc)
        return {"RoutingControl": _routing_control_shape(account, _routing_control(backend, arn), "PENDING" if made else "DEPLOYED")}
    if operation == "DescribeRoutingControl":
        return {"RoutingControl": _routing_control_shape(account, _routing_control(backend, params["RoutingControlArn"]))}
    if operation == "ListRoutingControls":
        panel = _panel(backend, params["ControlPanelArn"])
        return _page([_routing_control_shape(account, rc) for rc in panel.routing_controls.values()], params, "RoutingControls")
    if operation == "DeleteRoutingControl":
        rc = _routing_control(backend, params["RoutingControlArn"])
        del _panel(backend, rc.panel_arn).routing_controls[rc.arn]
        return {}
    raise Failure("ValidationException", f"local AWS: {CONFIG} {operation} is not emulated")


# ---- the cluster data plane ------------------------------------------------------------


def _data_plane(operation: str, account: str, params: dict[str, Any]) -> dict[str, Any]:
    backend = _backend(account)
    if operation == "GetRoutingControlState":
        rc = _routing_control(backend, params["RoutingControlArn"])
        return {"RoutingControlArn": rc.arn, "RoutingControlState": rc.state, "RoutingControlName": rc.name}
    if operation == "UpdateRoutingControlState":
        _routing_control(backend, params["RoutingControlArn"]).state = params["RoutingControlState"]
        return {}
    if operation == "UpdateRoutingControlStates":
        entries = params["UpdateRoutingControlStateEntries"]
        found = [(_routing_control(backend, e["RoutingControlArn"]), e["RoutingControlState"]) for e in entries]
        for rc, state in found:  # all of them, once every one is known
            rc.state = state
        return {}
    if operation == "ListRoutingControls":
        panels = _panels(backend)
        if params.get("ControlPanelArn") and params["ControlPanelArn"] not in panels:
            raise _not_found("ControlPanel", params["ControlPanelArn"])
        listed = [
            {"ControlPanelArn": p.arn, "ControlPanelName": p.name, "RoutingControlArn": rc.arn, "RoutingControlName": rc.name,
             "RoutingControlState": rc.state, "Owner": account}
            for p in panels.values() if params.get("ControlPanelArn") in (None, p.arn)
            for rc in p.routing_controls.values()
        ]
        return _page(listed, params, "RoutingControls")
    raise Failure("ValidationException", f"local AWS: {CLUSTER} {operation} is not emulated")


# ---- the middleware --------------------------------------------------------------------

# Error codes' HTTP status in the configuration API (its model's); the data plane's are 400.
_CONFIG_STATUS = {"ResourceNotFoundException": 404, "ValidationException": 400, "ConflictException": 409}


def answer(request: awsrequest.ParsedRequest, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """The answer to a request signed for either ARC service."""
    operation = request.operation.name
    base_url = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '127.0.0.1')}/"
    try:
        with _lock:
            if request.signing_name == CONFIG:
                if request.region != CONFIG_REGION:
                    raise Failure("ValidationException", f"local AWS: the Recovery Control Configuration API is served in {CONFIG_REGION} only (AWS has no endpoint in {request.region})")
                body = _config(operation, request.account, request.params, base_url)
            else:
                if request.region not in CLUSTER_REGIONS:
                    raise Failure("ValidationException", f"local AWS: a cluster has endpoints in {', '.join(CLUSTER_REGIONS)} only, not {request.region}")
                body = _data_plane(operation, request.account, request.params)
    except Failure as failure:
        status = _CONFIG_STATUS.get(failure.code, 400) if request.signing_name == CONFIG else 400
        line, headers, payload = awsrequest.error_response(request, status, failure.code, failure.message)
        if failure.extra and request.signing_name == CLUSTER:
            payload = json.dumps({"__type": failure.code, "message": failure.message, **failure.extra}).encode()
            headers = [(k, v) for k, v in headers if k != "Content-Length"] + [("Content-Length", str(len(payload)))]
        return line, headers, payload
    payload = json.dumps(body).encode()
    content_type = "application/json" if request.protocol == "rest-json" else "application/x-amz-json-1.0"
    return "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(payload))), ("x-amzn-RequestId", str(uuid.uuid4()))], payload


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app with ARC's two APIs answered in front of moto (behind validation and IAM)."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = awsrequest.parse_or_none(environ)
        if request is None or request.signing_name not in (CONFIG, CLUSTER):
            return app(environ, start_response)
        status, headers, body = answer(request, environ)
        start_response(status, headers)
        return [body]

    return middleware
