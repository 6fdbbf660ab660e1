"""The chart renders, lints and validates with Helm 3 and Helm 4, and its objects fit together.

Every test runs the real `helm` binaries on the chart; nothing here is a snapshot of hand-written
YAML. Kubernetes objects are checked with kubernetes-validate (strict) for the oldest and newest
supported minors, custom resources against the upstream CRDs in tests/chart/crds/.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from tests.chart import values_doc
from tests.chart.conftest import (
    ALL_FEATURES,
    CHART,
    CI_VALUES,
    CRDS,
    FULL,
    NAMESPACE,
    RELEASE,
    HelmError,
    Render,
    Renderer,
    assert_restricted,
    require_crds,
    run_helm,
)

from honeypods.core import registry
from honeypods.core import settings as config
from honeypods.enricher.config import EnricherConfig
from honeypods.portscan.config import PortscanConfig
from honeypods.ssh.config import SshConfig

# Chart.yaml says kubeVersion >=1.25; kubernetes-validate bundles 1.25 to 1.37.
KUBE_VERSIONS = ("1.25.0", "1.37.0")
CUSTOM_KINDS = {"PrometheusRule", "PodMonitor", "GlobalAlert", "GlobalAlertTemplate"}
CLUSTER_KINDS = {
    "Namespace",
    "GlobalAlert",
    "GlobalAlertTemplate",
    "ClusterRole",
    "ClusterRoleBinding",
}
VALUE_FILES = [pytest.param(f, id=f.stem) for f in CI_VALUES]
ENRICHER = "internal-services-enricher"


def values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())  # type: ignore[no-any-return]


# -- lint and template ------------------------------------------------------------------------------


@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_lint_strict(helm: str, values_file: Path) -> None:
    proc = run_helm(helm, "lint", "--strict", str(CHART), "--values", str(values_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_template_renders(render: Renderer, values_file: Path) -> None:
    out = render([values_file])
    kinds = {d["kind"] for d in out.docs}
    assert {"DaemonSet", "Deployment", "Service", "Secret", "NetworkPolicy"} <= kinds
    # The enricher's Roles go where the pods it watches are; everything else in one namespace.
    watched = _ci_values(values_file).get("enricher", {}).get("namespaces", [])
    for doc in out.docs:
        if doc["kind"] in ("Role", "RoleBinding"):
            assert doc["metadata"]["namespace"] in watched, doc["kind"]
        elif doc["kind"] not in CLUSTER_KINDS:
            assert doc["metadata"]["namespace"] == out_namespace(values_file), doc["kind"]


def _ci_values(values_file: Path) -> dict[str, Any]:
    return yaml.safe_load(values_file.read_text()) or {}


def out_namespace(values_file: Path) -> str:
    name = _ci_values(values_file).get("namespace", {}).get("name")
    return str(name or NAMESPACE)


def test_default_render_shape(render: Renderer) -> None:
    """The default release: four decoys, their Services, the enricher, no CRD-backed objects."""
    out = render()
    assert [d["metadata"]["name"] for d in out.of("DaemonSet")] == ["internal-app"]
    assert sorted(d["metadata"]["name"] for d in out.of("Deployment")) == [
        "internal-bastion",
        "internal-dashboard",
        "internal-db",
        ENRICHER,
    ]
    services = {d["metadata"]["name"]: d["spec"]["ports"][0]["port"] for d in out.of("Service")}
    assert services == {
        "dashboard-internal-debug": 8888,
        "dashboard-internal-service": 443,
        "internal-backend": 3306,
        "internal-bastion": 22,
        ENRICHER: 9479,
    }
    assert not out.of("Namespace")
    assert not [d for d in out.docs if d["kind"] in CUSTOM_KINDS]


# -- schema -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "where", "key"),
    [
        ("decoys.web.prot=8081", "decoys.web", "prot"),
        ("alerts.prometheusRules.enabled=true", "alerts", "prometheusRules"),
        ("decoys.mysql.service.nmae=db", "decoys.mysql.service", "nmae"),
    ],
)
def test_schema_rejects_misspelt_key(render: Renderer, setting: str, where: str, key: str) -> None:
    with pytest.raises(HelmError) as err:
        render(sets=[setting])
    message = err.value.stderr
    # Helm 3 says "decoys.web: Additional property prot is not allowed", Helm 4
    # "at '/decoys/web': additional properties 'prot' not allowed": both name the key and its place.
    assert key in message
    assert where in message or "/" + where.replace(".", "/") in message
    assert "not allowed" in message


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("decoys.portscan.sensor=maybe", ("sensor",)),
        ("decoys.mysql.port=70000", ("port",)),
        ("alerts.rules.ipEnum.for=soon", ("for",)),
        ("decoys.ssh.accept={nocolon}", ("accept",)),
    ],
)
def test_schema_rejects_bad_values(render: Renderer, setting: str, words: tuple[str, ...]) -> None:
    with pytest.raises(HelmError) as err:
        render(sets=[setting])
    for word in words:
        assert word in err.value.stderr


def test_sensor_under_restricted_namespace_fails_clearly(helm4: Renderer) -> None:
    with pytest.raises(HelmError) as err:
        helm4(sets=["namespace.create=true", "decoys.portscan.sensor=on"])
    assert "CAP_NET_RAW" in err.value.stderr
    assert "namespace.podSecurity.enforce=privileged" in err.value.stderr


def test_metrics_port_clash_fails_clearly(helm4: Renderer) -> None:
    with pytest.raises(HelmError) as err:
        helm4(sets=["metrics.port=3306"])
    assert "decoys.mysql.port equals metrics.port" in err.value.stderr


# -- Kubernetes and CRD validation ------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_objects_validate_strictly(render: Renderer, values_file: Path, version: str) -> None:
    out = render([values_file], sets=["namespace.create=true"])
    checked = 0
    for doc in out.every:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 10


def _crd_schema(path: Path, version: str) -> dict[str, Any]:
    crd = yaml.safe_load(path.read_text())
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]
    raise AssertionError(f"{path.name} has no version {version}")


def _unknown_fields(doc: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields the API server would silently prune: the CRD schema does not declare them."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found: list[str] = []
    if isinstance(doc, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in doc.items():
            if key in props:
                found += _unknown_fields(value, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found += _unknown_fields(value, extra, f"{path}.{key}")
            elif path == "" and key in ("apiVersion", "kind", "metadata"):
                continue
            elif extra is not True:
                found.append(f"{path}.{key}")
    elif isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            found += _unknown_fields(item, schema["items"], f"{path}[{i}]")
    return found


CRD_FILES = {
    "PrometheusRule": [("monitoring.coreos.com_prometheusrules.yaml", "v1")],
    "PodMonitor": [("monitoring.coreos.com_podmonitors.yaml", "v1")],
    # The v3 native CRD of today, and the v1 backing CRD of the last release that had honeypods.
    "GlobalAlert": [
        ("projectcalico.org_globalalerts.yaml", "v3"),
        ("honeypod-era-ce-3.19/crd.projectcalico.org_globalalerts.yaml", "v1"),
    ],
    "GlobalAlertTemplate": [
        ("projectcalico.org_globalalerttemplates.yaml", "v3"),
        ("honeypod-era-ce-3.19/crd.projectcalico.org_globalalerttemplates.yaml", "v1"),
    ],
}


@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_custom_resources_match_crds(render: Renderer, values_file: Path) -> None:
    require_crds(*(filename for files in CRD_FILES.values() for filename, _ in files))
    out = render([values_file], sets=list(FULL))
    seen = set()
    for doc in out.docs:
        if doc["kind"] not in CUSTOM_KINDS:
            continue
        seen.add(doc["kind"])
        for filename, version in CRD_FILES[doc["kind"]]:
            schema = _crd_schema(CRDS / filename, version)
            jsonschema.Draft7Validator(schema).validate(doc)
            body = {k: v for k, v in doc.items() if k != "metadata"}
            assert not _unknown_fields(body, schema), filename
    assert seen == CUSTOM_KINDS


def test_globalalert_cel_rules_hold(helm4: Renderer) -> None:
    """The v3 CRD's CEL rules: a count metric has no field; a metric needs a condition."""
    for doc in helm4(sets=list(FULL)).of("GlobalAlert"):
        spec = doc["spec"]
        if "metric" in spec:
            assert spec["metric"] == "count"
            assert "field" not in spec
            assert spec["condition"] in ("gte", "gt")
        assert spec["type"] == "RuleBased"
        # Flow logs carry no credentials: the honeytoken alert reads the audit log.
        audit = doc["metadata"]["name"] == "honeypod.honeytoken.used"
        assert spec["dataSet"] == ("audit" if audit else "flows")


# -- hardening --------------------------------------------------------------------------------------


def _pods(out: Render) -> list[tuple[str, dict[str, Any]]]:
    pods = [(w["metadata"]["name"], w["spec"]["template"]["spec"]) for w in out.workloads()]
    pods += [(p["metadata"]["name"], p["spec"]) for p in out.hooks if p["kind"] == "Pod"]
    return pods


def test_pods_meet_pod_security_restricted(helm4: Renderer) -> None:
    out = helm4()
    for name, pod in _pods(out):
        # The enricher reads the API with its own account (test_enricher.py); nothing else does.
        assert pod["automountServiceAccountToken"] is (name == ENRICHER), name
        assert_restricted(name, pod)
    sa = out.one("ServiceAccount", "internal-services")
    assert sa["automountServiceAccountToken"] is False
    for binding in out.of("ClusterRoleBinding") + out.of("RoleBinding"):
        assert [s["name"] for s in binding["subjects"]] == [ENRICHER]


def test_low_ports_use_the_sysctl_not_a_capability(helm4: Renderer) -> None:
    out = helm4()
    for name, pod in _pods(out):
        ports = [p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])]
        sysctls = pod["securityContext"].get("sysctls", [])
        if any(p < 1024 for p in ports):
            assert sysctls == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}], name
        else:
            assert not sysctls, name


def test_sensor_is_the_one_documented_exception(helm4: Renderer) -> None:
    out = helm4([ALL_FEATURES])
    ns = out.of("Namespace")[0]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    for name, pod in _pods(out):
        for c in pod["containers"]:
            sc = c["securityContext"]
            if name == "payments-worker":
                assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_RAW"]}
                assert sc["runAsUser"] == 0
                assert sc["allowPrivilegeEscalation"] is False
                assert sc["readOnlyRootFilesystem"] is True
            else:
                assert sc["capabilities"] == {"drop": ["ALL"]}, name


def test_namespace_carries_pod_security_labels(helm4: Renderer) -> None:
    out = helm4(sets=["namespace.create=true"])
    (ns,) = out.of("Namespace")
    assert ns["metadata"]["name"] == NAMESPACE
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"


@pytest.mark.parametrize("enricher", [True, False], ids=["enricher", "no-enricher"])
def test_network_policies(helm4: Renderer, enricher: bool) -> None:
    """Decoy ports from anywhere, metrics only from the monitoring peers, no egress but alerts.

    The enricher's own policy, and the decoys' egress to it, are test_enricher.py's.
    """
    out = helm4([ALL_FEATURES], sets=[f"enricher.enabled={str(enricher).lower()}"])
    policies = {p["metadata"]["name"]: p for p in out.of("NetworkPolicy")}
    workloads = {w["metadata"]["name"]: w for w in out.workloads()}
    assert set(policies) == set(workloads)
    metrics_from = yaml.safe_load(ALL_FEATURES.read_text())["networkPolicy"]["metricsFrom"]
    for name, policy in policies.items():
        if name == "lure-enricher":
            continue
        spec = policy["spec"]
        pod = workloads[name]["spec"]["template"]
        assert _selects(spec["podSelector"]["matchLabels"], pod["metadata"]["labels"])
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        if enricher:
            assert [r["ports"][0]["port"] for r in spec["egress"]] == [9600, 53]
        else:
            assert spec["egress"] == []
        decoy_rule, metrics_rule = spec["ingress"]
        assert "from" not in decoy_rule
        container = pod["spec"]["containers"][0]
        decoy_ports = {p["containerPort"] for p in container["ports"] if p["name"] != "metrics"}
        assert {p["port"] for p in decoy_rule["ports"]} == decoy_ports
        assert metrics_rule["from"] == metrics_from
        assert metrics_rule["ports"] == [{"port": 9102, "protocol": "TCP"}]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# -- wiring: Services, probes, monitoring and env agree ---------------------------------------------


@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_services_reach_decoy_ports(helm4: Renderer, values_file: Path) -> None:
    out = helm4([values_file], sets=list(FULL))
    for svc in out.of("Service"):
        if svc["metadata"]["name"].endswith("-enricher"):
            continue  # not a decoy: it serves its metrics port too (test_enricher.py)
        targets = [w for w in out.workloads() if _selects(svc["spec"]["selector"], _pod_labels(w))]
        assert len(targets) == 1, svc["metadata"]["name"]
        container = targets[0]["spec"]["template"]["spec"]["containers"][0]
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in named, svc["metadata"]["name"]
            assert port["targetPort"] != "metrics"


def _pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_probes_and_podmonitor_use_the_metrics_port(helm4: Renderer, values_file: Path) -> None:
    out = helm4([values_file], sets=list(FULL))
    monitors = out.of("PodMonitor")
    for w in out.workloads():
        # One PodMonitor each: a second would scrape every series twice.
        scraping = [m for m in monitors if _monitors(m, _pod_labels(w))]
        assert len(scraping) == 1, w["metadata"]["name"]
        container = w["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        metrics = [p for p in container["ports"] if p["name"] == "metrics"]
        assert metrics[0]["containerPort"] == int(env["HONEYPODS_METRICS_PORT"])
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    for monitor in monitors:
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
        assert monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"


def _monitors(monitor: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = monitor["spec"]["selector"]
    if not _selects(selector["matchLabels"], labels):
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "NotIn", expr
        if labels.get(expr["key"]) in expr["values"]:
            return False
    return True


def _decoy_env(out: Render, tmp_path: Path) -> dict[str, dict[str, str]]:
    """Each process's environment as it would see it, the Secret's files written out."""
    envs = {}
    for w in out.workloads():
        pod = w["spec"]["template"]["spec"]
        container = pod["containers"][0]
        (decoy,) = container["args"]
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
        files = {}
        for volume in pod.get("volumes", []):
            secret = out.one("Secret", volume["secret"]["secretName"])
            for item in volume["secret"]["items"]:
                data = base64.b64decode(secret["data"][item["key"]])
                path = Path(mounts[volume["name"]]) / item["path"]
                local = tmp_path / decoy / item["path"]
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(data)
                files[str(path)] = str(local)
                files[str(path.parent)] = str(local.parent)
        env = {}
        for e in container["env"]:
            value = e.get("value", "pod-0" if "valueFrom" in e else "")
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                value = base64.b64decode(out.one("Secret", ref["name"])["data"][ref["key"]])
                value = value.decode()
            env[e["name"]] = files.get(value, value)
        envs[decoy] = env
    return envs


@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_decoys_accept_the_environment(helm4: Renderer, values_file: Path, tmp_path: Path) -> None:
    """The package's own config loader accepts what the chart sets (an unknown name exits 2)."""
    out = helm4([values_file])
    envs = _decoy_env(out, tmp_path)
    enricher = _ci_values(values_file).get("enricher", {}).get("enabled", True)
    assert set(envs) == set(registry.NAMES) | ({"enricher"} if enricher else set())
    for decoy, env in envs.items():
        assert set(env) <= config.known_names(), decoy
        settings = config.load([decoy], env=env)
        assert settings.common.host_name == "pod-0"
        assert settings.common.metrics_port == int(env["HONEYPODS_METRICS_PORT"])


def test_container_ports_match_what_the_decoys_bind(helm4: Renderer, tmp_path: Path) -> None:
    out = helm4([ALL_FEATURES])
    envs = _decoy_env(out, tmp_path)
    for w in out.workloads():
        container = w["spec"]["template"]["spec"]["containers"][0]
        (decoy,) = container["args"]
        settings = config.load([decoy], env=envs[decoy])
        cfg = settings.configs[decoy]
        declared = {p["containerPort"] for p in container["ports"] if p["name"] != "metrics"}
        if decoy == "portscan":
            bound = set(cfg.ports)
        elif decoy == "web":
            bound = {cfg.port, cfg.tls_port} - {0}
        else:
            bound = {cfg.port}
        assert declared == bound, decoy


def test_defaults_agree_with_the_package(helm4: Renderer, tmp_path: Path) -> None:
    """STYLE §7: defaults live in the settings classes; values.yaml repeats them, except where a pod differs.

    Deliberate differences, each for a reason given in values.yaml: the bind address (0.0.0.0 in a
    pod, loopback on a workstation), the SSH port (22 in a pod, 2222 unprivileged), the port-scan
    list (the package's plus 22), the files the Secret provides (TLS pair, host-key directory),
    the HTTPS server names (the Services' DNS names, refused otherwise: a pod has them, a
    workstation has none), and the decoys' webhook, which is the enricher.
    """
    deliberate = {
        "HONEYPODS_HOST",
        "HONEYPODS_METRICS_HOST",
        "HONEYPODS_HOST_NAME",
        "HONEYPODS_SSH_PORT",
        "HONEYPODS_PORTSCAN_PORTS",
        "HONEYPODS_WEB_TLS_CERT",
        "HONEYPODS_WEB_TLS_KEY",
        "HONEYPODS_WEB_TLS_REJECT_HANDSHAKE",
        "HONEYPODS_WEB_TLS_SERVER_NAMES",
        "HONEYPODS_SSH_HOST_KEY_DIR",
        "HONEYPODS_WEBHOOK_URL",
        # The seed is generated per install; the Secret and the Service's name exist only in a pod.
        "HONEYPODS_PERSONA_SEED",
        "HONEYPODS_HONEYTOKEN_SECRET",
        "HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS",
    }
    envs = _decoy_env(helm4(), tmp_path)
    compared: set[str] = set()
    for decoy, env in envs.items():
        chart = config.load([decoy], env=env)
        package = config.load([decoy], env={})
        pairs = [(f"HONEYPODS_{f.name.upper()}", f.name) for f in dataclasses.fields(config.Common)]
        for name, attr in pairs:
            if name in env and name not in deliberate:
                assert getattr(chart.common, attr) == getattr(package.common, attr), name
                compared.add(name)
        cls = registry.get(decoy).config
        for f in dataclasses.fields(cls):
            name = f"HONEYPODS_{decoy.upper()}_{f.name.upper()}"
            if name in env and name not in deliberate:
                chart_value = getattr(chart.configs[decoy], f.name)
                assert chart_value == getattr(package.configs[decoy], f.name), name
                compared.add(name)
    assert len(compared) >= 15
    # The enricher is compared like a decoy; what the chart leaves unset by default (token,
    # namespaces) is compared on the values themselves.
    enricher = {
        f"HONEYPODS_ENRICHER_{k}" for k in ("PORT", "NODES", "HORIZON", "MAX_SPANS", "MAX_BODY")
    }
    assert enricher <= compared
    chart_enricher = values()["enricher"]
    assert tuple(chart_enricher["namespaces"]) == EnricherConfig().namespaces
    assert chart_enricher["authToken"]["enabled"] is bool(EnricherConfig().token)
    # Personas (version strings) are tied to each decoy's code: the chart leaves them to the image.
    for decoy, env in envs.items():
        assert f"HONEYPODS_{decoy.upper()}_SERVER_VERSION" not in env, decoy
    portscan = config.load(["portscan"], env=envs["portscan"]).configs["portscan"]
    assert set(portscan.ports) == set(PortscanConfig().ports) | {22}
    assert values()["decoys"]["ssh"]["port"] == 22
    assert SshConfig().port == 2222


# -- secrets ----------------------------------------------------------------------------------------


def test_keys_are_generated_fresh_and_usable(helm4: Renderer, tmp_path: Path) -> None:
    pytest.importorskip("asyncssh")
    import asyncssh
    from cryptography import x509

    keys = f"{RELEASE}-keys"
    first = helm4().one("Secret", keys)["data"]
    again = helm4(sets=["logLevel=warning"]).one("Secret", keys)["data"]
    assert set(first) == {
        "ssh_host_ecdsa_key",
        "ssh_host_ed25519_key",
        "ssh_host_rsa_key",
        "ca.crt",
        "ca.key",
        "tls.crt",
        "tls.key",
    }
    for key in first:
        assert first[key] != again[key], f"{key} must be generated per install"
    algorithms = set()
    for name in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key", "ssh_host_rsa_key"):
        algorithms.add(asyncssh.import_private_key(base64.b64decode(first[name])).algorithm)
    assert algorithms == {b"ssh-ed25519", b"ecdsa-sha2-nistp256", b"ssh-rsa"}
    cert = x509.load_pem_x509_certificate(base64.b64decode(first["tls.crt"]))
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = set(sans.get_values_for_type(x509.DNSName))
    assert {"dashboard.internal", f"dashboard-internal-service.{NAMESPACE}.svc"} <= names
    assert cert.subject.rfc4514_string() == "CN=dashboard.internal"


# -- no tells ---------------------------------------------------------------------------------------

TELL = re.compile(r"honeypo[dt]", re.IGNORECASE)
ALERT_KINDS = {"PrometheusRule", "GlobalAlert", "GlobalAlertTemplate"}


def _strip_images(doc: Any) -> Any:
    """The object without image references (the published image names are the project's)."""
    if isinstance(doc, dict):
        return {k: _strip_images(v) for k, v in doc.items() if k != "image"}
    if isinstance(doc, list):
        return [_strip_images(v) for v in doc]
    return doc


@pytest.mark.parametrize("values_file", VALUE_FILES)
def test_nothing_a_workload_sees_says_honeypot(helm4: Renderer, values_file: Path) -> None:
    """Names, labels, annotations, DNS names, env values: no "honeypot" and no "honeypod".

    Exempt: the alert definitions (they keep the original honeypod.* names and are read by the
    security team), the image references, and the HONEYPODS_* variable names inside a decoy's own
    process environment.
    """
    out = helm4([values_file], sets=list(FULL))
    for doc in out.every:
        if doc["kind"] in ALERT_KINDS:
            continue
        text = json.dumps(_strip_images(doc))
        text = re.sub(r'"name": "HONEYPODS_[A-Z0-9_]+"', "", text)
        assert not TELL.search(text), f"{doc['kind']}/{doc['metadata']['name']}: {text[:200]}"
    assert "honeypot" not in out.text.lower()


# -- documentation ----------------------------------------------------------------------------------


def test_every_value_is_commented_and_in_the_readme() -> None:
    missing = [path for path, _default, note in values_doc.rows() if not note]
    assert not missing, f"values.yaml keys without a comment: {missing}"
    readme = values_doc.README.read_text()
    assert values_doc.table() in readme, "run `python -m tests.chart.values_doc`"


def test_values_schema_closes_every_object() -> None:
    """additionalProperties: false everywhere but `global` and Kubernetes' own objects."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects = []

    def walk(node: dict[str, Any], path: str) -> None:
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties") is not False:
                open_objects.append(path)
            for key, sub in node["properties"].items():
                walk(sub, f"{path}.{key}" if path else key)

    walk(schema, "")
    assert open_objects == []
    assert schema["properties"]["global"]["type"] == "object"


def test_selectors_survive_label_changes(helm4: Renderer) -> None:
    """Workload selectors are immutable: changing partOf or commonLabels must not touch them."""

    def selectors(out: Render) -> dict[str, Any]:
        return {w["metadata"]["name"]: w["spec"]["selector"] for w in out.workloads()}

    before = selectors(helm4())
    after = selectors(helm4(sets=["partOf=billing", "commonLabels.team=payments"]))
    assert before == after
