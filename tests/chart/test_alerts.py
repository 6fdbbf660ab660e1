"""The alert definitions: generated from the values, valid, and firing on what the decoys export.

The PrometheusRule is rendered by the real chart and checked with `promtool check rules`. Its
behaviour is proven with `promtool test rules` on series taken from a real decoy's /metrics
endpoint (the port-scan decoy, attacked over loopback) and from the package's own metrics
observer for the other decoys, labelled as the Prometheus Operator's PodMonitor labels them.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.chart.conftest import NAMESPACE, Render, Renderer
from tests.conftest import free_port, require_tool

from honeypods.core import metrics

RULES = (
    "honeypod.ip.enum",
    "honeypod.port.scan",
    "honeypod.fake.svc",
    "honeypod.vuln.svc",
    "honeypod.network.ssh",
    "honeypod.honeytoken.used",
)
PROM_ON = ("alerts.prometheusRule.enabled=true",)
SERIES = re.compile(r"^(honeypods_[a-z_]+)(?:\{(.*)\})? ([0-9.e+-]+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Sample lines of a Prometheus text exposition: (name, labels, value)."""
    out = []
    for line in text.splitlines():
        m = SERIES.match(line)
        if m:
            out.append((m[1], dict(LABEL.findall(m[2] or "")), float(m[3])))
    return out


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return resp.read().decode()  # type: ignore[no-any-return]


def rule_groups(out: Render) -> dict[str, Any]:
    (rule,) = out.of("PrometheusRule")
    return {"groups": rule["spec"]["groups"]}


def write_rules(out: Render, tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule_groups(out)))
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = require_tool("promtool")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, check=False)


# -- the rules are valid ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sets",
    [PROM_ON, (*PROM_ON, "alerts.prometheusRule.matchNamespace=false")],
    ids=["default", "no-namespace"],
)
def test_promtool_check_rules(render: Renderer, sets: tuple[str, ...], tmp_path: Path) -> None:
    out = render(sets=list(sets))
    proc = promtool("check", "rules", str(write_rules(out, tmp_path)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout + proc.stderr


def test_one_alert_per_original_name(helm4: Renderer) -> None:
    out = helm4(sets=[*PROM_ON, "alerts.globalAlert.enabled=true"])
    prom = [r["alert"] for g in rule_groups(out)["groups"] for r in g["rules"]]
    assert prom == list(RULES)
    calico = [d["metadata"]["name"] for d in out.of("GlobalAlert")]
    assert calico == list(RULES)
    assert [d["metadata"]["name"] for d in out.of("GlobalAlertTemplate")] == list(RULES)


# -- the rules fire on what the decoys export -------------------------------------------------------


@pytest.fixture
def exported(decoy_process: Callable[..., Any]) -> dict[str, Any]:
    """Series the decoys really export: quiet, then after contacts of each alert's kind.

    The port-scan decoy runs as a process and is scanned over loopback; its /metrics is scraped
    before (quiet: start-up and health probes only) and after. The other decoys' alert counters
    come from the observer the runner registers, fed with one event of each rule.
    """
    ports = [free_port() for _ in range(4)]
    metrics_port = free_port()
    proc = decoy_process(
        ["portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, ports)),
            "HONEYPODS_METRICS_PORT": str(metrics_port),
            "HONEYPODS_PORTSCAN_SCAN_REPORT_DELAY": "0.2",
        },
    )
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}{path}", timeout=10):
            pass
    quiet = scrape(metrics_port)
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
    proc.wait_for(lambda docs: any(d["event"]["action"] == "portscan.scan" for d in docs))
    deadline = time.monotonic() + 15
    while True:
        attacked = scrape(metrics_port)
        if 'rule="honeypod.port.scan"' in attacked or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    series = [s for s in parse_exposition(attacked) if s[0] == "honeypods_alert_events_total"]
    for decoy, action, rule in (
        ("web", "web.request", "honeypod.fake.svc"),
        ("mysql", "mysql.login", "honeypod.vuln.svc"),
        ("ssh", "ssh.login", "honeypod.network.ssh"),
        ("mysql", "honeytoken.used", "honeypod.honeytoken.used"),
    ):
        metrics.observe({"honeypod.decoy": decoy, "event.action": action, "rule.name": rule})
    from prometheus_client import generate_latest

    local = parse_exposition(generate_latest(metrics.REGISTRY).decode())
    series += [
        s for s in local if s[0] == "honeypods_alert_events_total" and s[1]["decoy"] != "portscan"
    ]
    return {"quiet": parse_exposition(quiet), "alerts": series}


POD_OF = {
    "portscan": "internal-app-x7k2p",
    "web": "internal-dashboard-6df9-mtmqr",
    "mysql": "internal-db-5c57-k5ksj",
    "ssh": "internal-bastion-7b9c-q2w4r",
}


def _pod_labels(labels: dict[str, str], namespace: str = NAMESPACE) -> dict[str, str]:
    """The labels a PodMonitor scrape adds to every series."""
    pod = POD_OF.get(labels.get("decoy", ""), POD_OF["portscan"])
    return {
        **labels,
        "namespace": namespace,
        "pod": pod,
        "container": pod.rsplit("-", 2)[0],
        "endpoint": "metrics",
        "instance": "10.244.1.17:9478",
        "job": f"{NAMESPACE}/internal-services",
    }


def _selector(name: str, labels: dict[str, str]) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}}"


def _expected(rule: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    def fill(text: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m[1], ""), text)

    return {
        "exp_labels": {
            **rule["labels"],
            "namespace": labels["namespace"],
            "pod": labels["pod"],
            "decoy": labels["decoy"],
        },
        "exp_annotations": {k: fill(v) for k, v in rule["annotations"].items()},
    }


def _alert_tests(
    rules: dict[str, dict[str, Any]], eval_time: str, firing: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    return [
        {
            "eval_time": eval_time,
            "alertname": name,
            "exp_alerts": [_expected(rules[name], firing[name])] if name in firing else [],
        }
        for name in RULES
    ]


def test_alerts_fire_on_exported_series_and_stay_silent_without(
    helm4: Renderer, exported: dict[str, Any], tmp_path: Path
) -> None:
    out = helm4(sets=list(PROM_ON))
    groups = rule_groups(out)["groups"]
    rules = {r["alert"]: r for g in groups for r in g["rules"]}
    assert "honeypods_alert_events_total" in "".join(r["expr"] for r in rules.values())
    by_rule = {s[1]["rule"]: s for s in exported["alerts"]}
    assert set(by_rule) == set(RULES), "every alert needs a series the decoys export"
    assert {s[1]["decoy"] for s in exported["alerts"]} == {"portscan", "web", "mysql", "ssh"}
    assert by_rule["honeypod.ip.enum"][2] >= 4  # one per port connected to

    tests: list[dict[str, Any]] = []
    for rule, (name, labels, value) in by_rule.items():
        full = _pod_labels(labels)
        series = _selector(name, full)
        v = int(value)
        # A counter child appears at its first event: absent, then the value from the scrape.
        tests.append(
            {
                "name": f"{rule}: first event",
                "interval": "15s",
                "input_series": [{"series": series, "values": f"_x3 {v}x30"}],
                "alert_rule_test": _alert_tests(rules, "1m", {rule: full})
                + _alert_tests(rules, "6m", {}),
            }
        )
        # A counter that already existed and goes up.
        tests.append(
            {
                "name": f"{rule}: later event",
                "interval": "15s",
                "input_series": [{"series": series, "values": f"3x12 {3 + v}x30"}],
                "alert_rule_test": _alert_tests(rules, "2m", {})
                + _alert_tests(rules, "3m30s", {rule: full})
                + _alert_tests(rules, "7m", {}),
            }
        )
        # Another namespace's decoys are another release's business.
        tests.append(
            {
                "name": f"{rule}: other namespace",
                "interval": "15s",
                "input_series": [
                    {
                        "series": _selector(name, _pod_labels(labels, "elsewhere")),
                        "values": f"_x3 {v}x30",
                    }
                ],
                "alert_rule_test": _alert_tests(rules, "1m", {}),
            }
        )
    # Quiet: start-up, health probes and scrapes only, plus alert counters held at zero.
    quiet = [
        {
            "series": _selector(n, _pod_labels(lab)),
            "values": f"{int(val)}x40",
        }
        for n, lab, val in exported["quiet"]
    ]
    quiet += [
        {"series": _selector(name, _pod_labels(labels)), "values": "0x40"}
        for name, labels, _ in by_rule.values()
    ]
    # Decoys create their alert counters at 0 on start: a quiet decoy exports only zeros.
    assert all(v == 0 for n, _l, v in exported["quiet"] if n == "honeypods_alert_events_total")
    tests.append(
        {
            "name": "quiet period",
            "interval": "15s",
            "input_series": quiet,
            "alert_rule_test": [
                t for at in ("30s", "1m", "3m", "9m") for t in _alert_tests(rules, at, {})
            ],
        }
    )
    rules_file = write_rules(out, tmp_path)
    test_file = tmp_path / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [rules_file.name], "evaluation_interval": "15s", "tests": tests},
            width=1000,
        )
    )
    proc = promtool("test", "rules", str(test_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


# -- values drive the alerts ------------------------------------------------------------------------


def test_per_alert_settings(helm4: Renderer) -> None:
    out = helm4(
        sets=[
            *PROM_ON,
            "alerts.globalAlert.enabled=true",
            "alerts.rules.vulnSvc.enabled=false",
            "alerts.rules.ipEnum.severity=warning",
            "alerts.rules.ipEnum.for=30s",
            "alerts.rules.ipEnum.labels.team=security",
            "alerts.rules.ipEnum.annotations.runbook_url=https://runbooks.example.com/x",
            "alerts.rules.portScan.calicoSeverity=80",
            "alerts.prometheusRule.labels.release=kps",
            "alerts.prometheusRule.interval=30s",
            "alerts.prometheusRule.range=5m",
        ]
    )
    (rule,) = out.of("PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kps"
    (group,) = rule["spec"]["groups"]
    assert group["interval"] == "30s"
    rules = {r["alert"]: r for r in group["rules"]}
    assert "honeypod.vuln.svc" not in rules
    assert "honeypod.vuln.svc" not in [d["metadata"]["name"] for d in out.of("GlobalAlert")]
    ip = rules["honeypod.ip.enum"]
    assert ip["for"] == "30s"
    assert ip["labels"] == {"severity": "warning", "team": "security"}
    assert ip["annotations"]["runbook_url"] == "https://runbooks.example.com/x"
    assert "[5m]" in ip["expr"]
    assert "offset 5m" in ip["expr"]
    assert rules["honeypod.fake.svc"]["labels"] == {"severity": "critical"}
    scan = out.one("GlobalAlert", "honeypod.port.scan")["spec"]
    assert scan["severity"] == 80


def test_alerts_follow_disabled_decoys(helm4: Renderer) -> None:
    out = helm4(sets=[*PROM_ON, "decoys.web.enabled=false", "decoys.ssh.enabled=false"])
    names = [r["alert"] for r in rule_groups(out)["groups"][0]["rules"]]
    # The port-scan decoy listens on 22, so SSH contact is still reported.
    assert names == [
        "honeypod.ip.enum",
        "honeypod.port.scan",
        "honeypod.vuln.svc",
        "honeypod.network.ssh",
        "honeypod.honeytoken.used",  # the database login is still planted, in the Secret
    ]
    out = helm4(sets=[*PROM_ON, "decoys.ssh.enabled=false", "decoys.portscan.ports={2375,6379}"])
    names = [r["alert"] for r in rule_groups(out)["groups"][0]["rules"]]
    assert "honeypod.network.ssh" not in names
    # No decoy a token can be used on: no honeytoken alert.
    off = [f"decoys.{d}.enabled=false" for d in ("web", "mysql", "ssh")]
    out = helm4(sets=[*PROM_ON, *off])
    names = [r["alert"] for r in rule_groups(out)["groups"][0]["rules"]]
    assert "honeypod.honeytoken.used" not in names
    out = helm4(sets=[*PROM_ON, "honeytokens.enabled=false"])
    names = [r["alert"] for r in rule_groups(out)["groups"][0]["rules"]]
    assert "honeypod.honeytoken.used" not in names


def test_ports_names_and_namespace_flow_into_alerts_and_services(helm4: Renderer) -> None:
    """Change ports, names and the namespace: the Services, the pods and every alert follow."""
    out = helm4(
        sets=[
            *PROM_ON,
            "alerts.globalAlert.enabled=true",
            "namespace.name=ops-internal",
            "metrics.port=9500",
            "decoys.web.port=9080",
            "decoys.web.tlsPort=9443",
            "decoys.web.services.debug.port=9999",
            "decoys.web.name=ops-console",
            "decoys.mysql.port=3307",
            "decoys.mysql.name=billing-db",
            "decoys.mysql.service.name=billing-backend",
            "decoys.mysql.service.port=3308",
            "decoys.ssh.port=2200",
            "decoys.portscan.name=ops-agent",
            "decoys.portscan.scanThreshold=6",
        ]
    )
    dash = out.one("Deployment", "ops-console")["spec"]["template"]["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in dash["ports"]} == {
        "http": 9080,
        "https": 9443,
        "metrics": 9500,
    }
    debug = out.one("Service", "dashboard-internal-debug")["spec"]
    assert debug["ports"] == [
        {"name": "http", "port": 9999, "targetPort": "http", "protocol": "TCP"}
    ]
    assert debug["selector"]["app"] == "ops-console"
    backend = out.one("Service", "billing-backend")["spec"]
    assert backend["ports"][0]["port"] == 3308
    assert backend["selector"]["app"] == "billing-db"

    calico = {d["metadata"]["name"]: d["spec"] for d in out.of("GlobalAlert")}
    audit = calico.pop("honeypod.honeytoken.used")
    assert '"objectRef.namespace"="ops-internal"' in audit["query"]
    for spec in calico.values():
        assert 'dest_namespace="ops-internal"' in spec["query"]
    assert '"dest_labels.labels"="app=ops-agent"' in calico["honeypod.ip.enum"]["query"]
    assert 'dest_port!="9500"' in calico["honeypod.ip.enum"]["query"]
    assert calico["honeypod.port.scan"]["threshold"] == 6
    assert '"dest_labels.labels"="app=ops-console"' in calico["honeypod.fake.svc"]["query"]
    assert 'dest_port IN {"9080","9443"}' in calico["honeypod.fake.svc"]["query"]
    assert '"dest_labels.labels"="app=billing-db"' in calico["honeypod.vuln.svc"]["query"]
    # The SSH lure's port and the port-scan decoy's 22.
    assert 'dest_port IN {"2200","22"}' in calico["honeypod.network.ssh"]["query"]

    rules = {r["alert"]: r for r in rule_groups(out)["groups"][0]["rules"]}
    for rule in rules.values():
        assert 'namespace="ops-internal"' in rule["expr"]
        assert "kubectl logs -n ops-internal" in rule["annotations"]["description"]
    assert "dashboard-internal-debug:9999" in rules["honeypod.fake.svc"]["annotations"]["summary"]
    assert "9080,9443" in rules["honeypod.fake.svc"]["annotations"]["summary"]
    assert "billing-backend:3308" in rules["honeypod.vuln.svc"]["annotations"]["summary"]
    assert "pod port 3307" in rules["honeypod.vuln.svc"]["annotations"]["summary"]
    assert "internal-bastion port 2200" in rules["honeypod.network.ssh"]["annotations"]["summary"]
    assert "6 or more ports" in rules["honeypod.port.scan"]["annotations"]["summary"]


def test_extra_matchers_and_namespace_switch(helm4: Renderer) -> None:
    out = helm4(
        sets=[
            *PROM_ON,
            "alerts.prometheusRule.matchNamespace=false",
            'alerts.prometheusRule.extraMatchers=cluster="prod"',
        ]
    )
    for rule in rule_groups(out)["groups"][0]["rules"]:
        assert "namespace=" not in rule["expr"]
        assert 'cluster="prod"' in rule["expr"]
