"""The enricher in the chart: its one read-only account, the decoys' webhook, policies, monitoring.

Every test renders the chart with the real Helm binaries (Helm 3 and 4 where the output is Helm's
doing, Helm 4 alone where it is the chart's). The enricher is the only pod of the release with a
service-account token, so most of what follows checks how little that token can do and how
little can reach the pod holding it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.chart.conftest import (
    ALL_FEATURES,
    CHART,
    NAMESPACE,
    RELEASE,
    HelmError,
    Render,
    Renderer,
    assert_restricted,
)

from honeypods.core import settings as config
from honeypods.enricher.config import EnricherConfig

NAME = f"{RELEASE}-enricher"
# RBAC objects outside the release's namespace carry it, so two releases of one name coexist.
RBAC_NAME = f"{NAMESPACE}-{NAME}"
TOKEN_SECRET = f"{NAME}-token"
EVENTS_URL = f"http://{NAME}.{NAMESPACE}.svc:9479/events"
NAMESPACED = CHART / "ci" / "05-enricher-namespaced-values.yaml"
DISABLED = CHART / "ci" / "06-enricher-disabled-values.yaml"
DECOYS = ("internal-app", "internal-dashboard", "internal-db", "internal-bastion")
READ = ["get", "list", "watch"]
# The whole of what the enricher may do, cluster-wide.
CLUSTER_RULES = [
    {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": READ},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": READ},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": READ},
]
# values.yaml key -> EnricherConfig field, for the defaults both sides hold.
DEFAULTS = {
    "port": "port",
    "namespaces": "namespaces",
    "nodes": "nodes",
    "horizon": "horizon",
    "maxSpans": "max_spans",
    "maxBody": "max_body",
}
RBAC_KINDS = ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = _pod(workload)["containers"]
    return container  # type: ignore[no-any-return]


def _env(workload: dict[str, Any]) -> dict[str, Any]:
    """Name -> value, or the valueFrom object for variables taken from elsewhere."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(workload)["env"]}


def _decoys(out: Render) -> list[dict[str, Any]]:
    return [w for w in out.workloads() if w["metadata"]["name"] != NAME]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and the In/NotIn expressions the chart uses) against labels."""
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        inside = labels.get(expr["key"]) in expr["values"]
        if inside != {"In": True, "NotIn": False}[expr["operator"]]:
            return False
    return True


def _labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]


# -- the default release ----------------------------------------------------------------------------


def test_default_release_has_the_enricher(render: Renderer) -> None:
    out = render()
    deployment = out.one("Deployment", NAME)
    assert deployment["spec"]["replicas"] == 1
    container = _container(deployment)
    assert container["image"] == "ghcr.io/honeypods/honeypods-enricher:0.1.0"
    # The same runner as the decoys: `honeypods run enricher`, the image's entry point.
    assert container["args"] == ["enricher"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "events": 9479,
        "metrics": 9478,
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    service = out.one("Service", NAME)["spec"]
    assert service["ports"] == [
        {"name": "events", "port": 9479, "targetPort": "events", "protocol": "TCP"},
        {"name": "metrics", "port": 9478, "targetPort": "metrics", "protocol": "TCP"},
    ]
    # The Service reaches the enricher and nothing else (above all, no decoy).
    assert [w["metadata"]["name"] for w in out.workloads() if _selects(
        {"matchLabels": service["selector"]}, _labels(w))] == [NAME]  # fmt: skip


def test_the_enricher_has_its_own_account_with_read_access_only(render: Renderer) -> None:
    out = render()
    sa = out.one("ServiceAccount", NAME)
    assert sa["automountServiceAccountToken"] is True
    pod = _pod(out.one("Deployment", NAME))
    assert pod["serviceAccountName"] == NAME
    assert pod["automountServiceAccountToken"] is True
    (role,) = out.of("ClusterRole")
    assert role["metadata"]["name"] == RBAC_NAME
    assert role["rules"] == CLUSTER_RULES
    assert "aggregationRule" not in role
    (binding,) = out.of("ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": RBAC_NAME,
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    assert not out.of("Role")
    assert not out.of("RoleBinding")


def test_decoys_post_to_the_enricher_and_hold_no_token(render: Renderer) -> None:
    out = render(sets=["directAlerting.alertmanagerUrl=http://am.monitoring:9093"])
    decoys = _decoys(out)
    assert sorted(w["metadata"]["name"] for w in decoys) == sorted(DECOYS)
    decoy_sa = out.one("ServiceAccount", RELEASE)
    assert decoy_sa["automountServiceAccountToken"] is False
    for w in decoys:
        name, pod = w["metadata"]["name"], _pod(w)
        assert pod["serviceAccountName"] == RELEASE, name
        assert pod["automountServiceAccountToken"] is False, name
        env = _env(w)
        assert env["HONEYPODS_WEBHOOK_URL"] == EVENTS_URL, name
        # Direct alerting is the enricher's now: a decoy reaches nothing but the enricher.
        assert "HONEYPODS_ALERTMANAGER_URL" not in env, name
        assert "HONEYPODS_ALERT_LABELS" not in env, name
        assert "HONEYPODS_WEBHOOK_TOKEN" not in env, name
        assert "envFrom" not in _container(w), name
    enricher = _env(out.one("Deployment", NAME))
    assert enricher["HONEYPODS_ALERTMANAGER_URL"] == "http://am.monitoring:9093"
    assert enricher["HONEYPODS_ALERT_LABELS"] == f"namespace={NAMESPACE}"
    assert "HONEYPODS_WEBHOOK_URL" not in enricher
    # No binding names the decoys' account, nor any group or built-in role.
    for binding in out.of("ClusterRoleBinding") + out.of("RoleBinding"):
        assert [s["kind"] for s in binding["subjects"]] == ["ServiceAccount"]
        assert RELEASE not in [s["name"] for s in binding["subjects"]]
        assert binding["roleRef"]["name"] == RBAC_NAME


def test_direct_alerting_secret_goes_to_the_enricher(helm4: Renderer) -> None:
    out = helm4(sets=["directAlerting.secretName=alerting-urls"])
    assert _container(out.one("Deployment", NAME))["envFrom"] == [
        {"secretRef": {"name": "alerting-urls"}}
    ]
    for w in _decoys(out):
        assert "envFrom" not in _container(w), w["metadata"]["name"]


@pytest.mark.parametrize(
    "files", [[], [ALL_FEATURES], [NAMESPACED]], ids=["defaults", "all-features", "namespaced"]
)
def test_the_enricher_pod_meets_pod_security_restricted(helm4: Renderer, files: list[Path]) -> None:
    """The decoys' checks (test_render.py), kubernetes-validate and checkov cover it as well."""
    deployment = helm4(files).one(
        "Deployment", "lure-enricher" if files == [ALL_FEATURES] else NAME
    )
    pod = _pod(deployment)
    assert_restricted(NAME, pod)
    # Nothing the enricher does needs a low port, so no sysctl either.
    assert "sysctls" not in pod["securityContext"]


def test_enricher_settings_flow_into_its_environment(helm4: Renderer) -> None:
    """The package's own loader reads what the chart sets, value for value."""
    out = helm4([ALL_FEATURES])
    deployment = out.one("Deployment", "lure-enricher")
    assert deployment["spec"]["replicas"] == 2
    container = _container(deployment)
    assert container["image"].endswith("@sha256:89abcdef" + "0123456789abcdef" * 3 + "01234567")
    env = {k: v if isinstance(v, str) else "from-a-secret" for k, v in _env(deployment).items()}
    env["HONEYPODS_HOST_NAME"] = "pod-0"
    assert set(env) <= config.known_names()
    cfg = config.load(["enricher"], env=env).configs["enricher"]
    assert isinstance(cfg, EnricherConfig)
    values = yaml.safe_load(ALL_FEATURES.read_text())["enricher"]
    assert (cfg.port, cfg.horizon, cfg.max_spans, cfg.max_body, cfg.nodes) == (
        values["port"],
        values["horizon"],
        values["maxSpans"],
        values["maxBody"],
        True,
    )
    assert cfg.token == "from-a-secret"
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["events"] == 9600
    assert _env(out.one("Deployment", "payments-db"))["HONEYPODS_WEBHOOK_URL"] == (
        "http://lure-enricher.payments-internal.svc:9600/events"
    )


def test_values_defaults_agree_with_the_package() -> None:
    """STYLE §7: EnricherConfig holds the defaults; values.yaml repeats them."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())["enricher"]
    package = EnricherConfig()
    for key, field in DEFAULTS.items():
        chart = tuple(values[key]) if isinstance(values[key], list) else values[key]
        assert chart == getattr(package, field), key
    # The token is off by default on both sides: empty in the package, no Secret in the chart.
    assert package.token == ""
    assert values["authToken"]["enabled"] is False


# -- namespaced mode, nodes off ---------------------------------------------------------------------


def test_namespaced_mode_has_a_role_per_namespace_and_no_cluster_access(render: Renderer) -> None:
    out = render([NAMESPACED])
    assert not out.of("ClusterRole")
    assert not out.of("ClusterRoleBinding")
    roles = {r["metadata"]["namespace"]: r for r in out.of("Role")}
    bindings = {b["metadata"]["namespace"]: b for b in out.of("RoleBinding")}
    assert set(roles) == set(bindings) == {"kube-system", "kube-public"}
    for namespace, role in roles.items():
        assert role["metadata"]["name"] == RBAC_NAME
        # Nodes are cluster-scoped: a Role cannot grant them, and none asks.
        assert role["rules"] == [
            {"apiGroups": [""], "resources": ["pods"], "verbs": READ},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": READ},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": READ},
        ], namespace
        binding = bindings[namespace]
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": RBAC_NAME,
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}
        ]
    env = _env(out.one("Deployment", NAME))
    assert env["HONEYPODS_ENRICHER_NAMESPACES"] == "kube-system,kube-public"
    # values.yaml says nodes: true; without a ClusterRole the watch would only be refused.
    assert env["HONEYPODS_ENRICHER_NODES"] == "false"


def test_nodes_off_leaves_nodes_out_of_the_cluster_role(helm4: Renderer) -> None:
    out = helm4(sets=["enricher.nodes=false"])
    (role,) = out.of("ClusterRole")
    assert role["rules"][0] == {"apiGroups": [""], "resources": ["pods"], "verbs": READ}
    assert role["rules"][1:] == CLUSTER_RULES[1:]
    env = _env(out.one("Deployment", NAME))
    assert env["HONEYPODS_ENRICHER_NODES"] == "false"
    assert "HONEYPODS_ENRICHER_NAMESPACES" not in env


# -- the token --------------------------------------------------------------------------------------


def test_auth_token_reaches_the_enricher_and_every_decoy_from_one_secret(helm4: Renderer) -> None:
    out = helm4([NAMESPACED])
    secret = out.one("Secret", TOKEN_SECRET)
    assert set(secret["data"]) == {"token"}
    reference = {"secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}}
    enricher = _env(out.one("Deployment", NAME))
    assert enricher["HONEYPODS_ENRICHER_TOKEN"] == reference
    # The enricher forwards to outside receivers: the decoys' token must not go with it.
    assert "HONEYPODS_WEBHOOK_TOKEN" not in enricher
    for w in _decoys(out):
        env = _env(w)
        assert env["HONEYPODS_WEBHOOK_TOKEN"] == reference, w["metadata"]["name"]
        assert env["HONEYPODS_WEBHOOK_URL"] == EVENTS_URL
    # The token is in the Secret only, never in a pod spec.
    token = secret["data"]["token"]
    assert token not in json.dumps(out.workloads())


def test_no_token_secret_by_default(helm4: Renderer) -> None:
    out = helm4()
    names = {s["metadata"]["name"] for s in out.of("Secret")}
    assert f"{RELEASE}-enricher-token" not in names
    assert f"{RELEASE}-keys" in names
    assert "HONEYPODS_ENRICHER_TOKEN" not in _env(out.one("Deployment", NAME))


# -- the enricher off: the release as it was --------------------------------------------------------


def test_disabled_renders_no_enricher_and_direct_alerting_on_the_decoys(render: Renderer) -> None:
    out = render([DISABLED])
    assert not [d for d in out.every if NAME in d["metadata"]["name"]]
    assert not [d for d in out.docs if d["kind"] in RBAC_KINDS]
    assert [s["metadata"]["name"] for s in out.of("ServiceAccount")] == [RELEASE]
    values = yaml.safe_load(DISABLED.read_text())
    for w in out.workloads():
        name = w["metadata"]["name"]
        env = _env(w)
        assert _pod(w)["automountServiceAccountToken"] is False, name
        # Exactly the variables of direct alerting, and none of the enricher's.
        assert env["HONEYPODS_ALERTMANAGER_URL"] == values["directAlerting"]["alertmanagerUrl"]
        assert env["HONEYPODS_ALERT_LABELS"] == f"cluster=ci,namespace={NAMESPACE}"
        assert not {"HONEYPODS_WEBHOOK_URL", "HONEYPODS_WEBHOOK_TOKEN"} & set(env), name
        assert not [k for k in env if k.startswith("HONEYPODS_ENRICHER_")], name
    for policy in out.of("NetworkPolicy"):
        assert policy["spec"]["egress"] == values["networkPolicy"]["egress"]
    hook = next(d for d in out.hooks if d["kind"] == "Pod")["spec"]["containers"][0]
    assert hook["args"][2] == "null"
    assert "env" not in hook


def test_enricher_values_change_nothing_when_it_is_off(helm4: Renderer) -> None:
    """With enabled=false, no other enricher value reaches the decoys or their policies."""
    off = ["enricher.enabled=false", "directAlerting.webhookUrl=http://hook.example/x"]
    plain = helm4(sets=off)
    changed = helm4(
        sets=[
            *off,
            "enricher.authToken.enabled=true",
            "enricher.namespaces={default}",
            "enricher.port=9600",
            "networkPolicy.dnsTo[0].podSelector.matchLabels.k8s-app=kube-dns",
        ]
    )

    def decoys(out: Render) -> list[Any]:
        return [d for d in out.docs if d["kind"] in ("Deployment", "DaemonSet", "NetworkPolicy")]

    assert decoys(changed) == decoys(plain)
    assert [d["kind"] for d in changed.docs] == [d["kind"] for d in plain.docs]


# -- network policies -------------------------------------------------------------------------------


def test_decoys_may_reach_only_the_enricher_and_dns(render: Renderer) -> None:
    out = render()
    enricher_labels = _labels(out.one("Deployment", NAME))
    for policy in out.of("NetworkPolicy"):
        if policy["metadata"]["name"] == NAME:
            continue
        to_enricher, dns = policy["spec"]["egress"]
        assert to_enricher["ports"] == [{"port": 9479, "protocol": "TCP"}]
        (peer,) = to_enricher["to"]
        assert set(peer) == {"podSelector"}  # this namespace only
        # The peer is the enricher's pods, and no decoy's.
        assert [w["metadata"]["name"] for w in out.workloads() if _selects(
            peer["podSelector"], _labels(w))] == [NAME]  # fmt: skip
        assert _selects(peer["podSelector"], enricher_labels)
        assert dns == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def test_dns_can_be_narrowed(helm4: Renderer) -> None:
    out = helm4([ALL_FEATURES])
    dns_to = yaml.safe_load(ALL_FEATURES.read_text())["networkPolicy"]["dnsTo"]
    for policy in out.of("NetworkPolicy"):
        rules = [r for r in policy["spec"]["egress"] if r["ports"][0]["port"] == 53]
        assert [r["to"] for r in rules] == [dns_to], policy["metadata"]["name"]


def test_the_enricher_admits_only_the_decoys_the_test_pod_and_monitoring(render: Renderer) -> None:
    out = render()
    policy = out.one("NetworkPolicy", NAME)["spec"]
    assert _selects(policy["podSelector"], _labels(out.one("Deployment", NAME)))
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    events, metrics = policy["ingress"]
    assert events["ports"] == [{"port": 9479, "protocol": "TCP"}]
    admitted = [w["metadata"]["name"] for w in out.workloads()
                if any(_selects(p["podSelector"], _labels(w)) for p in events["from"])]  # fmt: skip
    assert sorted(admitted) == sorted(DECOYS)  # not the enricher itself, nor anything else
    hook = next(d for d in out.hooks if d["kind"] == "Pod")
    assert any(_selects(p["podSelector"], hook["metadata"]["labels"]) for p in events["from"])
    assert all(set(p) == {"podSelector"} for p in events["from"])  # this namespace only
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert metrics == {
        "from": values["networkPolicy"]["metricsFrom"],
        "ports": [{"port": 9478, "protocol": "TCP"}],
    }
    # Out: the API server, DNS, and nothing else by default (networkPolicy.egress is empty).
    assert policy["egress"] == [
        *values["enricher"]["apiServer"],
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
    ]
    assert values["enricher"]["apiServer"] == [
        {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}
    ]


def test_the_enricher_reaches_the_alert_receivers(helm4: Renderer) -> None:
    receiver = "networkPolicy.egress[0].ports[0].port=9093"
    out = helm4([ALL_FEATURES], sets=[receiver])
    values = yaml.safe_load(ALL_FEATURES.read_text())
    egress = out.one("NetworkPolicy", "lure-enricher")["spec"]["egress"]
    assert egress[0] == values["enricher"]["apiServer"][0]
    assert egress[-1] == {"ports": [{"port": 9093}]}
    # The receivers are the enricher's alone while it runs.
    for policy in out.of("NetworkPolicy"):
        if policy["metadata"]["name"] != "lure-enricher":
            assert {"ports": [{"port": 9093}]} not in policy["spec"]["egress"]


def test_the_test_pod_may_reach_the_enricher(helm4: Renderer) -> None:
    out = helm4()
    policy = next(d for d in out.hooks if d["kind"] == "NetworkPolicy")["spec"]
    enricher = _labels(out.one("Deployment", NAME))
    assert any(
        _selects(peer["podSelector"], enricher)
        for rule in policy["egress"]
        for peer in rule.get("to", [])
    )


# -- helm test --------------------------------------------------------------------------------------


def test_the_test_pod_asks_the_enricher_about_itself(render: Renderer) -> None:
    out = render()
    (hook,) = [d for d in out.hooks if d["kind"] == "Pod"]
    container = hook["spec"]["containers"][0]
    assert json.loads(container["args"][2]) == {
        "url": f"http://{NAME}.{NAMESPACE}.svc:9479/attribution",
        "wait": 60,
        "watched": True,
    }
    assert {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]} == {
        "POD_IP": "status.podIP",
        "POD_NAME": "metadata.name",
        "POD_NAMESPACE": "metadata.namespace",
    }
    # Still no token in the test pod: it asks the enricher, never the API.
    assert hook["spec"]["automountServiceAccountToken"] is False


def test_the_test_pod_knows_whether_its_namespace_is_watched(helm4: Renderer) -> None:
    unwatched = helm4([NAMESPACED])
    watched = helm4(sets=[f"enricher.namespaces={{default,{NAMESPACE}}}"])
    for out, expected in ((unwatched, False), (watched, True)):
        (hook,) = [d for d in out.hooks if d["kind"] == "Pod"]
        assert json.loads(hook["spec"]["containers"][0]["args"][2])["watched"] is expected


# -- monitoring -------------------------------------------------------------------------------------


def test_the_enricher_is_scraped_once_with_the_targets_own_labels(helm4: Renderer) -> None:
    out = helm4(sets=["monitoring.podMonitor.enabled=true"])
    monitors = {m["metadata"]["name"]: m["spec"] for m in out.of("PodMonitor")}
    assert set(monitors) == {RELEASE, NAME}
    for w in out.workloads():
        name = w["metadata"]["name"]
        scraping = [m for m, spec in monitors.items() if _selects(spec["selector"], _labels(w))]
        assert scraping == [NAME if name == NAME else RELEASE], name
    # No series may set the target's labels: the attacker's namespace is source_namespace.
    for spec in monitors.values():
        assert "honorLabels" not in spec["podMetricsEndpoints"][0]


def test_the_dashboard_shows_the_top_attacking_workloads(helm4: Renderer) -> None:
    board = json.loads((CHART / "dashboards" / "honeypods.json").read_text())
    (panel,) = [p for p in board["panels"] if p["title"] == "Top attacking workloads"]
    assert panel["type"] in ("table", "bargauge")
    (target,) = panel["targets"]
    assert target["expr"] == (
        "topk(10, max by (source_namespace, source_workload) (honeypods_enricher_workload_events))"
    )
    assert target["instant"] is True
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    (configmap,) = helm4(sets=["grafanaDashboard.enabled=true"]).of("ConfigMap")
    (text,) = configmap["data"].values()
    assert json.loads(text) == board


# -- values that the enricher would refuse ----------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "word"),
    [
        ("enricher.prot=1", "prot"),
        ("enricher.authToken.enable=true", "enable"),
        ("enricher.namespaces={Not_A_Namespace}", "namespaces"),
        ("enricher.horizon=10", "horizon"),
        ("enricher.maxSpans=10", "maxSpans"),
        ("enricher.maxBody=100", "maxBody"),
        ("enricher.port=0", "port"),
    ],
)
def test_schema_rejects_bad_enricher_values(helm4: Renderer, setting: str, word: str) -> None:
    with pytest.raises(HelmError) as err:
        helm4(sets=[setting])
    assert word in err.value.stderr


def test_schema_ranges_are_the_packages(helm4: Renderer) -> None:
    """The schema's bounds are where EnricherConfig.check() starts refusing."""
    edges = ["enricher.horizon=60", "enricher.maxSpans=1000", "enricher.maxBody=1024"]
    env = {k: v for k, v in _env(helm4(sets=edges).one("Deployment", NAME)).items()
           if isinstance(v, str)}  # fmt: skip
    config.load(["enricher"], env=env | {"HONEYPODS_HOST_NAME": "pod-0"})
    for setting in ("HONEYPODS_ENRICHER_HORIZON=59", "HONEYPODS_ENRICHER_MAX_SPANS=999"):
        name, value = setting.split("=")
        with pytest.raises(config.ConfigError):
            config.load(["enricher"], env=env | {name: value, "HONEYPODS_HOST_NAME": "pod-0"})


def test_enricher_port_must_differ_from_the_metrics_port(helm4: Renderer) -> None:
    with pytest.raises(HelmError) as err:
        helm4(sets=["enricher.port=9478"])
    assert "enricher.port equals metrics.port" in err.value.stderr
