"""Attacks with real tools raise exactly the right alerts in a real Prometheus and Alertmanager.

One Prometheus and one Alertmanager serve the whole module (promstack.py): the rules are the
chart's rendered PrometheusRule, the targets are real decoy processes, one "pod" per scenario, so
every scenario's alerts are told apart by their ``pod`` label. The tests run in file order: the
quiet period comes first, over the same decoys the attacks then hit.

Each scenario asserts through Alertmanager's API v2 that its pod has exactly the alerts it
should, with labels naming the decoy, within 60 s of the attack's start, and prints the latency.
The web, MySQL and SSH scenarios run when their decoy module is present.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import MYSQL_REFERENCE, ROOT, DecoyProcess, free_port, require_tool
from tests.integration.kubeapi import pod as pod_object
from tests.integration.kubeapi import replicaset, run_in_thread
from tests.integration.promstack import (
    NAMESPACE,
    Alertmanager,
    Netns,
    Prometheus,
    Receiver,
    helm_template,
    netns_with_veth,
    promstack,
    seconds,
)

pytestmark = pytest.mark.integration

DEADLINE = 60.0  # the promise: an alert within a minute of the attack
MODE = os.environ.get("HONEYPODS_E2E_INTERVALS", "fast")
DASHBOARD = ROOT / "charts" / "honeypods" / "dashboards" / "honeypods.json"
ALL_RULES = {
    "honeypod.ip.enum",
    "honeypod.port.scan",
    "honeypod.fake.svc",
    "honeypod.vuln.svc",
    "honeypod.network.ssh",
    "honeypod.honeytoken.used",
}
# One install's seed for every decoy, as the chart's Secret gives it to each pod; the decoy Secret
# is the chart's, rendered with that seed (test_honeytoken_*).
SEED = "e2eSeed-4f1c9a7b2d6e8035c1a9"
HONEYTOKEN_ENV = {
    "HONEYPODS_PERSONA_SEED": SEED,
    "HONEYPODS_HONEYTOKEN_SECRET": f"{NAMESPACE}/internal-db-credentials",
}


def has(decoy: str) -> bool:
    return importlib.util.find_spec(f"honeypods.{decoy}") is not None


@dataclass
class Pod:
    name: str
    decoy: str
    proc: DecoyProcess
    metrics: str  # host:port Prometheus scrapes
    ports: list[int]
    host: str = "127.0.0.1"


@dataclass
class Stack:
    prometheus: Prometheus
    alertmanager: Alertmanager
    pods: dict[str, Pod]
    netns: Netns | None
    workdir: Path
    started: float = field(default_factory=time.monotonic)
    # Alert names each pod should have by now; any other alert anywhere is a failure.
    expected: dict[str, set[str]] = field(default_factory=dict)

    def firing(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for alert in self.alertmanager.alerts():
            labels = alert["labels"]
            if labels.get("namespace") == NAMESPACE:
                out.setdefault(labels.get("pod", ""), set()).add(labels["alertname"])
        return out

    @property
    def settle(self) -> float:
        # Long enough for any further alert the attack could cause: a scrape, then two
        # evaluations, then the push to Alertmanager.
        return 3 * self.prometheus.intervals.slowest + 1


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for tool in ("prometheus", "prometheus-alertmanager", "promtool"):
        require_tool(tool)
    workdir = tmp_path_factory.mktemp("promstack")
    pods: dict[str, Pod] = {}
    with contextlib.ExitStack() as cleanup:
        prometheus, alertmanager = cleanup.enter_context(promstack(workdir, MODE))
        # The enricher, as the chart runs it: every decoy on loopback posts to it, and it knows
        # the attacker (127.0.0.1) as a pod of a Deployment, from a wire-protocol API server.
        kube = cleanup.enter_context(run_in_thread())
        kube.api.add(
            "replicasets", replicaset("tenant-x", "scanner-6b9f", owner=("Deployment", "scanner"))
        )
        kube.api.add("pods", pod_object("tenant-x", "scanner-6b9f-k2x7p", ip="127.0.0.1",
                                 owner=("ReplicaSet", "scanner-6b9f")))  # fmt: skip
        events_port, enricher_metrics = free_port(), free_port()
        enricher = DecoyProcess(
            ["run", "enricher"],
            {
                "KUBECONFIG": str(kube.kubeconfig(workdir / "kubeconfig")),
                "HONEYPODS_ENRICHER_PORT": str(events_port),
                "HONEYPODS_METRICS_PORT": str(enricher_metrics),
                "HONEYPODS_HOST_NAME": "internal-services-enricher",
            },
            workdir / "enricher.jsonl",
            [],
        )
        cleanup.callback(enricher.stop)
        enricher.wait_ready(timeout=60)
        prometheus.add_target(f"127.0.0.1:{enricher_metrics}", "internal-services-enricher")
        webhook = {"HONEYPODS_WEBHOOK_URL": f"http://127.0.0.1:{events_port}/events"}

        def add(name: str, decoy: str, env: dict[str, str], **kw: Any) -> None:
            netns: Netns | None = kw.pop("netns", None)
            prefix = netns.exec() if netns else []
            # In its namespace the enricher's loopback is out of reach, as a pod without the
            # NetworkPolicy's one allowed destination would be.
            full = {"HONEYPODS_HOST_NAME": name, **({} if netns else webhook), **HONEYTOKEN_ENV}
            full.update(env)
            proc = DecoyProcess(["run", decoy], full, workdir / f"{name}.jsonl", prefix)
            cleanup.callback(proc.stop)
            proc.wait_ready(timeout=60)
            pods[name] = pod = Pod(name, decoy, proc, **kw)
            prometheus.add_target(pod.metrics, name)

        ports, metrics = [free_port() for _ in range(5)], free_port()
        env = {
            "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, ports)),
            "HONEYPODS_METRICS_PORT": str(metrics),
        }
        add("internal-app-7f9c2", "portscan", env, metrics=f"127.0.0.1:{metrics}", ports=ports)
        for decoy, name in (
            ("web", "internal-dashboard-5d8b4"),
            ("mysql", "internal-db-6c4d1"),
            ("ssh", "internal-bastion-9a7e3"),
        ):
            if not has(decoy):
                continue
            port, metrics = free_port(), free_port()
            env = {
                f"HONEYPODS_{decoy.upper()}_PORT": str(port),
                "HONEYPODS_METRICS_PORT": str(metrics),
            }
            if decoy == "web":
                env["HONEYPODS_WEB_TLS_PORT"] = "0"
            if decoy == "mysql":
                env["HONEYPODS_MYSQL_ACCEPT"] = "root:root"  # the login the attack uses
                env.update(MYSQL_REFERENCE)  # the names its queries use
            add(name, decoy, env, metrics=f"127.0.0.1:{metrics}", ports=[port])
        netns = None
        if os.geteuid() == 0:
            # The packet sensor needs raw sockets: it runs in a namespace of its own, reached by
            # Prometheus and the attacker over a veth pair, as a pod is over its node's bridge.
            netns = cleanup.enter_context(netns_with_veth(uuid.uuid4().hex[:6]))
            listen = [2379, 6443]
            env = {
                "HONEYPODS_HOST": "0.0.0.0",
                "HONEYPODS_METRICS_HOST": "0.0.0.0",
                "HONEYPODS_METRICS_PORT": "9478",
                "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, listen)),
                "HONEYPODS_PORTSCAN_SENSOR": "on",
            }
            add("internal-app-k2m8q", "portscan", env, netns=netns,
                metrics=f"{netns.inner}:9478", ports=listen, host=netns.inner)  # fmt: skip
        yield Stack(prometheus, alertmanager, pods, netns, workdir)
    for pod in pods.values():
        pod.proc.events()  # every line validated against the event schema


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback/test namespace URL
        r.read()
        return int(r.status)


def test_quiet_period_with_scrapes_and_probes_raises_nothing(stack: Stack) -> None:
    prometheus, pods = stack.prometheus, stack.pods
    prometheus.wait_scraped(list(pods))
    (group,) = prometheus.api("rules")["groups"]
    assert {r["name"] for r in group["rules"]} == ALL_RULES
    window = max(10.0, 3 * prometheus.intervals.slowest + 2)
    end = time.monotonic() + window
    while time.monotonic() < end:
        # What kubelet and Prometheus do all day: probes and scrapes on the metrics port only.
        for pod in pods.values():
            for path in ("/healthz", "/readyz", "/metrics"):
                assert _get(f"http://{pod.metrics}{path}") == 200
        time.sleep(0.5)
    (group,) = prometheus.api("rules")["groups"]
    for rule in group["rules"]:
        assert rule["health"] == "ok", rule
        assert rule["state"] == "inactive", rule
    assert prometheus.api("alerts")["alerts"] == []
    assert stack.alertmanager.alerts() == []
    since = int(time.monotonic() - stack.started) + 5
    assert prometheus.query(f'count_over_time(ALERTS{{namespace="{NAMESPACE}"}}[{since}s])') == []
    # The alert counters exist at 0 from the start (so the first event is seen by increase()).
    zeros = prometheus.query(f'honeypods_alert_events_total{{namespace="{NAMESPACE}"}}')
    assert {r["metric"]["pod"] for r in zeros} == set(pods)
    assert {r["value"][1] for r in zeros} == {"0"}
    for pod in pods.values():
        assert [e for e in pod.proc.events() if e["event"]["kind"] == "alert"] == []


def attack(
    stack: Stack,
    capsys: pytest.CaptureFixture[str],
    *,
    pod_name: str,
    raises: set[str],
    what: str,
    run: Callable[[Pod], None],
) -> None:
    """Run ``run`` against the pod: ``raises`` must fire, and nothing the pod's attacks did not."""
    pod = stack.pods[pod_name]
    want = stack.expected.get(pod_name, set()) | raises
    start = time.monotonic()
    run(pod)
    ran = time.monotonic() - start
    latency: float | None = None
    while latency is None:
        now = time.monotonic()
        if raises <= stack.firing().get(pod_name, set()):
            latency = now - start
        elif now - start > DEADLINE:
            raise AssertionError(
                f"{what}: {sorted(raises)} not in Alertmanager {DEADLINE:.0f}s after the attack; "
                f"alerts now: {stack.firing()}"
            )
        else:
            time.sleep(0.25)
    stack.expected[pod_name] = want
    with capsys.disabled():
        print(
            f"\n  [{MODE} intervals] {what}: {', '.join(sorted(raises))} in Alertmanager "
            f"{latency:.1f} s after the attack started (the tool ran {ran:.1f} s)"
        )
    time.sleep(stack.settle)
    firing = stack.firing()
    # This attack's alerts, and nothing but what this pod's attacks raised (an earlier alert may
    # have resolved: the chart's rules fire for alerts.prometheusRule.range after the last event).
    assert raises <= firing.get(pod_name, set()) <= want, firing
    for other, names in firing.items():
        assert names <= stack.expected.get(other, set()), (other, names)
    for alert in stack.alertmanager.alerts():
        labels = alert["labels"]
        if labels.get("pod") != pod_name:
            continue
        assert labels["decoy"] == pod.decoy
        assert labels["namespace"] == NAMESPACE
        assert labels["severity"] == "critical"
        assert pod_name in alert["annotations"]["summary"]
        assert alert["status"]["state"] == "active"


def _run(
    args: list[str], timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=check)


def test_nmap_connect_scan_raises_port_scan_and_ip_enum(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    nmap = require_tool("nmap")

    def scan(pod: Pod) -> None:
        out = _run([nmap, "-sT", "-Pn", "-n", "-p", ",".join(map(str, pod.ports)), pod.host])
        assert out.stdout.count("/tcp open") == len(pod.ports), out.stdout

    attack(
        stack,
        capsys,
        pod_name="internal-app-7f9c2",
        raises={"honeypod.ip.enum", "honeypod.port.scan"},
        what="nmap -sT connect scan",
        run=scan,
    )


def test_ping_then_syn_scan_seen_by_the_sensor(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import require_root

    require_root()
    assert stack.netns is not None
    nmap, ping = require_tool("nmap"), require_tool("ping")
    pod = "internal-app-k2m8q"
    target = stack.netns.inner

    def pinged(_pod: Pod) -> None:
        _run([ping, "-c1", "-W5", target])

    attack(
        stack,
        capsys,
        pod_name=pod,
        raises={"honeypod.ip.enum"},
        what="ping (packet sensor)",
        run=pinged,
    )

    def syn_scan(p: Pod) -> None:
        # Four closed ports and the two listeners: only the sensor sees the closed ones.
        ports = [22, 80, 443, 3306, *p.ports]
        _run([nmap, "-sS", "-Pn", "-n", "-p", ",".join(map(str, ports)), target])

    attack(
        stack,
        capsys,
        pod_name=pod,
        raises={"honeypod.port.scan"},
        what="nmap -sS SYN scan (packet sensor)",
        run=syn_scan,
    )
    # The scan's packets raised port.scan only: ip.enum came from the ping alone.
    by_rule = {
        e["event"]["action"]
        for e in stack.pods[pod].proc.events()
        if e.get("rule", {}).get("name") == "honeypod.ip.enum"
    }
    assert by_rule == {"sensor.icmp_echo"}


@pytest.mark.skipif(not has("web"), reason="the web decoy is not on this branch yet")
def test_curl_logins_on_the_dashboard_raise_fake_svc(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    curl = require_tool("curl")
    from honeypods.web.site import LOGIN_PATH

    def logins(pod: Pod) -> None:
        base = f"http://{pod.host}:{pod.ports[0]}"
        _run([curl, "-sS", "-o", "/dev/null", f"{base}/"])
        login = '{"username":"admin","password":"admin"}'
        json_type = "Content-Type: application/json"
        _run([curl, "-sS", "-o", "/dev/null", "-H", json_type, "-d", login, f"{base}{LOGIN_PATH}"])
        _run([curl, "-sS", "-o", "/dev/null", "-u", "ops:Winter2024!", f"{base}/api/v1/status"])

    attack(
        stack,
        capsys,
        pod_name="internal-dashboard-5d8b4",
        raises={"honeypod.fake.svc"},
        what="curl logins",
        run=logins,
    )


@pytest.mark.skipif(not has("mysql"), reason="the MySQL decoy is not on this branch yet")
def test_mysql_login_and_queries_raise_vuln_svc(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    mysql = require_tool("mysql")

    def session(pod: Pod) -> None:
        base = [
            mysql,
            "-h",
            pod.host,
            "-P",
            str(pod.ports[0]),
            "--skip-ssl",
            "--connect-timeout=10",
        ]
        wrong = _run([*base, "-u", "root", "--password=hunter2", "-e", "SELECT 1"], check=False)
        assert wrong.returncode != 0
        _run([*base, "-u", "root", "--password=root", "-e", "SELECT VERSION(); SHOW DATABASES;"])

    attack(
        stack,
        capsys,
        pod_name="internal-db-6c4d1",
        raises={"honeypod.vuln.svc"},
        what="mysql login + queries",
        run=session,
    )


@pytest.mark.skipif(not has("ssh"), reason="the SSH decoy is not on this branch yet")
def test_ssh_and_hydra_passwords_raise_network_ssh(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    ssh, sshpass, hydra = require_tool("ssh"), require_tool("sshpass"), require_tool("hydra")
    words = stack.workdir / "words.txt"
    words.write_text("123456\npassword\nletmein\n")

    def passwords(pod: Pod) -> None:
        port = str(pod.ports[0])
        opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "ConnectTimeout=20", "-o", "PubkeyAuthentication=no",
                "-o", "NumberOfPasswordPrompts=1"]  # fmt: skip
        out = _run(
            [sshpass, "-p", "toor", ssh, *opts, "-p", port, f"root@{pod.host}", "id"], check=False
        )
        assert out.returncode != 0
        _run([hydra, "-l", "root", "-P", str(words), "-t", "2", "-W", "1", "-I", "-s", port,
              pod.host, "ssh"], timeout=180, check=False)  # fmt: skip

    attack(
        stack,
        capsys,
        pod_name="internal-bastion-9a7e3",
        raises={"honeypod.network.ssh"},
        what="ssh + hydra passwords",
        run=passwords,
    )


@pytest.mark.skipif(not (has("web") and has("mysql")), reason="needs the web and MySQL decoys")
def test_honeytoken_from_the_dashboard_used_on_mysql_raises_honeytoken_used(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.crawl import crawl

    mysql = require_tool("mysql")
    web = stack.pods["internal-dashboard-5d8b4"]
    # The intruder's crawl: the page, what it links, the files scanners try.
    loot = crawl(f"http://{web.host}:{web.ports[0]}")
    ((user, password, _host, _port),) = loot.mysql
    assert "/config.js" in loot.found_in[password]

    def login(pod: Pod) -> None:
        out = _run([mysql, "-h", pod.host, "-P", str(pod.ports[0]), "--skip-ssl",
                    "--connect-timeout=10", "-u", user, f"--password={password}",
                    "-e", "SELECT email FROM app_prod.users"])  # fmt: skip
        assert "ops-admin@corp.internal" in out.stdout

    attack(
        stack,
        capsys,
        pod_name="internal-db-6c4d1",
        raises={"honeypod.honeytoken.used", "honeypod.vuln.svc"},
        what="mysql login with the dashboard's leaked credential",
        run=login,
    )
    (used,) = stack.pods["internal-db-6c4d1"].proc.of("honeytoken.used")
    assert used["honeytoken"]["secret_read"] is False
    assert "dashboard:/config.js" in used["honeytoken"]["placements"]


@pytest.mark.skipif(not has("ssh"), reason="the SSH decoy is not on this branch yet")
def test_honeytoken_from_the_secret_used_on_ssh_raises_honeytoken_used(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    ssh, sshpass = require_tool("ssh"), require_tool("sshpass")
    # What `kubectl get secret internal-db-credentials -o yaml` shows: the chart's own render.
    docs = helm_template({"honeytokens": {"seed": SEED}}, "templates/honeytokens-secret.yaml")
    (secret,) = [d for d in docs if d["metadata"]["name"] == "internal-db-credentials"]
    user, password = secret["stringData"]["BASTION_USER"], secret["stringData"]["BASTION_PASSWORD"]

    def login(pod: Pod) -> None:
        opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "ConnectTimeout=20", "-o", "PubkeyAuthentication=no",
                "-o", "NumberOfPasswordPrompts=1"]  # fmt: skip
        _run([sshpass, "-p", password, ssh, *opts, "-p", str(pod.ports[0]),
              f"{user}@{pod.host}", "id"], check=False)  # fmt: skip

    attack(
        stack,
        capsys,
        pod_name="internal-bastion-9a7e3",
        raises={"honeypod.honeytoken.used", "honeypod.network.ssh"},
        what="ssh login with the decoy Secret's credential",
        run=login,
    )
    (used,) = stack.pods["internal-bastion-9a7e3"].proc.of("honeytoken.used")
    assert used["honeytoken"]["secret_read"] is True
    assert used["honeytoken"]["placements"] == [f"secret:{NAMESPACE}/internal-db-credentials"]
    for alert in stack.alertmanager.alerts():
        if alert["labels"]["alertname"] == "honeypod.honeytoken.used":
            assert alert["labels"]["severity"] == "critical"


def _panel_queries() -> list[tuple[str, dict[str, Any]]]:
    """Every panel query of the dashboard as the chart ships it (rendered ConfigMap)."""
    values = {"grafanaDashboard": {"enabled": True}}
    (configmap,) = helm_template(values, "templates/grafana-dashboard-configmap.yaml")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    (text,) = configmap["data"].values()
    board = json.loads(text)
    assert text.strip() == DASHBOARD.read_text().strip()
    return [(panel["title"], target) for panel in board["panels"] for target in panel["targets"]]


def test_dashboard_queries_return_data_after_the_attacks(stack: Stack) -> None:
    if not stack.expected:
        pytest.skip("no attack ran in this session")
    queries = _panel_queries()
    assert queries
    prometheus = stack.prometheus
    logins = any(p.decoy in ("web", "mysql", "ssh") for p in stack.pods.values())
    time.sleep(2 * prometheus.intervals.slowest)  # the last attack's samples are in
    # Grafana's variables for a dashboard zoomed out to the whole test, the namespace set to ours.
    since = int(time.monotonic() - stack.started) + 5
    scrape = seconds(prometheus.intervals.scrape)
    step = max(scrape, since // 100)
    rate_interval = max(step + scrape, 4 * scrape)
    for title, target in queries:
        expr = (
            target["expr"]
            .replace("$__rate_interval", f"{int(rate_interval)}s")
            .replace("$__range", f"{since}s")
            .replace("$namespace", NAMESPACE)
        )
        if target.get("instant"):
            values = [float(r["value"][1]) for r in prometheus.query(expr)]
        else:
            series = prometheus.query_range(expr, since, step)
            values = [float(v) for r in series for _t, v in r["values"]]
        if "honeypods_login_attempts_total" in expr and not logins:
            assert values == []  # no decoy with logins on this branch
            continue
        assert values, f"panel {title!r}: no data for {expr}"
        assert max(values) > 0, f"panel {title!r}: all zero for {expr}"
    labels = prometheus.api("label/namespace/values?match[]=honeypods_build_info")
    assert NAMESPACE in labels
    # The attacks came from 127.0.0.1, which the enricher knows as a pod of Deployment scanner.
    top = prometheus.query("honeypods_enricher_workload_events")
    assert {(r["metric"]["source_namespace"], r["metric"]["source_workload"]) for r in top} == {
        ("tenant-x", "Deployment/scanner")
    }
    assert top[0]["metric"]["pod"] == "internal-services-enricher"  # the target's own label


def _metric(address: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_direct_alerting_reaches_the_real_alertmanager_without_prometheus(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nmap = require_tool("nmap")
    ports, metrics = [free_port() for _ in range(4)], free_port()
    pod = "internal-app-d1r3c"
    env = {
        "HONEYPODS_HOST_NAME": pod,
        "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, ports)),
        "HONEYPODS_METRICS_PORT": str(metrics),
        "HONEYPODS_ALERTMANAGER_URL": stack.alertmanager.url,
        "HONEYPODS_ALERT_LABELS": "namespace=direct-e2e,cluster=test",
    }
    proc = DecoyProcess(["run", "portscan"], env, tmp_path / "direct.jsonl", [])
    try:
        proc.wait_ready(timeout=60)
        start = time.monotonic()
        _run([nmap, "-sT", "-Pn", "-n", "-p", ",".join(map(str, ports)), "127.0.0.1"])
        want = {"honeypod.ip.enum", "honeypod.port.scan"}
        found: dict[str, dict[str, Any]] = {}
        while not want <= set(found):
            assert time.monotonic() - start < DEADLINE, found
            time.sleep(0.25)
            found = {
                a["labels"]["alertname"]: a
                for a in stack.alertmanager.alerts()
                if a["labels"].get("namespace") == "direct-e2e"
            }
        latency = time.monotonic() - start
        with capsys.disabled():
            print(f"\n  direct alerting: {', '.join(sorted(want))} {latency:.1f} s after the scan")
        assert set(found) == want
        for alert in found.values():
            labels = alert["labels"]
            assert labels["decoy"] == "portscan"
            assert labels["pod"] == pod
            assert labels["source_ip"] == "127.0.0.1"
            assert labels["cluster"] == "test"
            assert labels["severity"] == "critical"
        enum = found["honeypod.ip.enum"]["annotations"]
        assert set(enum["destination_ports"].split(",")) <= set(map(str, ports))
        assert _metric(f"127.0.0.1:{metrics}", "honeypods_alerting_sent_total") > 0
        dropped = _metric(f"127.0.0.1:{metrics}", "honeypods_alerting_dropped_total")
        assert dropped == 0
    finally:
        proc.stop()
        proc.events()


def test_webhook_gets_every_alert_event_even_at_shutdown(tmp_path: Path) -> None:
    receiver = Receiver()
    port = free_port()
    env = {
        "HONEYPODS_PORTSCAN_PORTS": str(port),
        "HONEYPODS_METRICS_PORT": str(free_port()),
        "HONEYPODS_WEBHOOK_URL": receiver.url + "/hooks/decoys",
    }
    proc = DecoyProcess(["run", "portscan"], env, tmp_path / "hook.jsonl", [])
    try:
        proc.wait_ready(timeout=60)
        held = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            held.append(s)
        proc.wait_for(lambda d: sum(e["event"]["action"] == "session.connect" for e in d) == 3)
        # SIGTERM while the connections are open: their session.closed events are written during
        # shutdown, and the webhook must still get them.
        assert proc.stop() == 0
        for s in held:
            s.close()
    finally:
        proc.stop()
        receiver.close()
    alerts = [e for e in proc.events() if e["event"]["kind"] == "alert"]
    assert {e["event"]["action"] for e in alerts} >= {"session.connect", "session.closed"}
    sent = [e for body in receiver.bodies for e in body["events"]]
    assert sent == alerts
