"""End to end: a real decoy posts to the enricher, which names the attacking workload in a real
Alertmanager; a decoy whose enricher is gone keeps serving and counts what it could not send."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import DecoyProcess, free_port, require_tool
from tests.integration.kubeapi import pod, replicaset, run_in_thread
from tests.integration.promstack import Alertmanager

pytestmark = pytest.mark.integration

DEADLINE = 60.0
# The attacker: a pod whose address is one of loopback's, so the contact really comes from it.
ATTACKER_IP = "127.0.0.77"


def _metric(address: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _contact(port: int, source: str = ATTACKER_IP) -> None:
    with socket.socket() as s:
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /.env HTTP/1.0\r\n\r\n")


def _ready(address: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{address}/readyz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{address} not ready in {timeout} s")


def test_an_alert_names_the_namespace_and_workload_of_the_attacker(tmp_path: Path) -> None:
    for tool in ("prometheus-alertmanager",):
        require_tool(tool)
    alertmanager = Alertmanager(tmp_path)
    try:
        with run_in_thread() as kube:
            kube.api.add(
                "replicasets", replicaset("payments", "api-5c7d", owner=("Deployment", "api"))
            )
            kube.api.add("pods", pod("payments", "api-5c7d-q8w2e", ip=ATTACKER_IP,
                                     owner=("ReplicaSet", "api-5c7d")))  # fmt: skip
            events_port, enricher_metrics = free_port(), free_port()
            enricher = DecoyProcess(
                ["run", "enricher"],
                {
                    "KUBECONFIG": str(kube.kubeconfig(tmp_path / "kubeconfig")),
                    "HONEYPODS_ENRICHER_PORT": str(events_port),
                    "HONEYPODS_ENRICHER_TOKEN": "e2e-token",
                    "HONEYPODS_METRICS_PORT": str(enricher_metrics),
                    "HONEYPODS_ALERTMANAGER_URL": alertmanager.url,
                    "HONEYPODS_ALERT_LABELS": "namespace=enricher-e2e",
                    "HONEYPODS_HOST_NAME": "honeypods-enricher-0",
                },
                tmp_path / "enricher.jsonl",
                [],
            )
            port, decoy_metrics = free_port(), free_port()
            decoy = DecoyProcess(
                ["run", "portscan"],
                {
                    "HONEYPODS_PORTSCAN_PORTS": str(port),
                    "HONEYPODS_METRICS_PORT": str(decoy_metrics),
                    "HONEYPODS_WEBHOOK_URL": f"http://127.0.0.1:{events_port}/events",
                    "HONEYPODS_WEBHOOK_TOKEN": "e2e-token",
                    "HONEYPODS_HOST_NAME": "internal-app-7f9c2",
                },
                tmp_path / "decoy.jsonl",
                [],
            )
            try:
                _ready(f"127.0.0.1:{enricher_metrics}")
                decoy.wait_ready(timeout=60)
                start = time.monotonic()
                _contact(port)
                found: list[dict[str, Any]] = []
                while not found:
                    assert time.monotonic() - start < DEADLINE, alertmanager.alerts()
                    time.sleep(0.25)
                    found = [
                        a for a in alertmanager.alerts()
                        if a["labels"].get("namespace") == "enricher-e2e"
                    ]  # fmt: skip
                latency = time.monotonic() - start
                labels = found[0]["labels"]
                assert labels["source_namespace"] == "payments"
                assert labels["source_workload"] == "Deployment/api"
                assert labels["source_ip"] == ATTACKER_IP
                assert labels["pod"] == "internal-app-7f9c2"  # the decoy, not the enricher
                assert labels["alertname"] == "honeypod.ip.enum"
                print(f"\n  enriched alert in Alertmanager {latency:.1f} s after the contact")
                enriched = enricher.wait_for(
                    lambda docs: any(d["event"]["action"] == "session.connect" for d in docs)
                )
                connect = next(d for d in enriched if d["event"]["action"] == "session.connect")
                assert connect["source"]["kubernetes"]["pod"]["name"] == "api-5c7d-q8w2e"
                assert connect["source"]["kubernetes"]["workload"] == {
                    "kind": "Deployment",
                    "name": "api",
                }
                # The decoy's own stdout is unchanged: it knows nothing of Kubernetes.
                own = decoy.of("session.connect")[0]
                assert "kubernetes" not in own["source"]
            finally:
                decoy.stop()
                enricher.stop()
                decoy.events()
                enricher.events()
    finally:
        alertmanager.process.stop()


def test_a_decoy_whose_enricher_is_down_keeps_serving_and_counts_the_loss(tmp_path: Path) -> None:
    port, metrics = free_port(), free_port()
    decoy = DecoyProcess(
        ["run", "portscan"],
        {
            "HONEYPODS_PORTSCAN_PORTS": str(port),
            "HONEYPODS_METRICS_PORT": str(metrics),
            # Nothing listens there: the enricher is down.
            "HONEYPODS_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/events",
            "HONEYPODS_ALERT_QUEUE_SIZE": "3",
        },
        tmp_path / "decoy.jsonl",
        [],
    )
    try:
        decoy.wait_ready(timeout=60)
        started = time.monotonic()
        for _ in range(10):
            _contact(port, "127.0.0.1")
        # Every contact was served at once, whatever the webhook does.
        assert time.monotonic() - started < 10
        decoy.wait_for(lambda d: sum(e["event"]["action"] == "session.closed" for e in d) == 10)
        deadline = time.monotonic() + 30
        while _metric(f"127.0.0.1:{metrics}", "honeypods_alerting_dropped_total") == 0:
            assert time.monotonic() < deadline, "nothing counted as dropped"
            time.sleep(0.2)
        assert _metric(f"127.0.0.1:{metrics}", "honeypods_alerting_sent_total") == 0
    finally:
        decoy.stop()
    assert len(decoy.of("session.connect")) == 10
