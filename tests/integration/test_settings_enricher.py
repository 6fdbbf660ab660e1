"""Every HONEYPODS_ENRICHER_* setting, and the decoys' HONEYPODS_WEBHOOK_TOKEN, set through the
real CLI (``python -m honeypods run enricher --set``) against the wire-protocol API server.

Each setting is shown to have its documented effect on the wire, in the API requests or in the
events, or to be refused at start with exit status 2 and a message naming it.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import DecoyProcess, free_port, refused_at_start
from tests.integration.kubeapi import ThreadedKubeAPI, pod, run_in_thread

pytestmark = pytest.mark.integration

Start = Callable[..., DecoyProcess]


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedKubeAPI]:
    with run_in_thread() as api:
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(tmp_path / "kubeconfig")))
        yield api


def run_cli(decoy_process: Start, name: str, settings: dict[str, str]) -> DecoyProcess:
    """``honeypods run NAME --set ...``, once it listens."""
    args = [name]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    proc = decoy_process(args, wait=False)
    proc.expected = 1
    proc.wait_ready()
    return proc


def run_enricher(decoy_process: Start, settings: dict[str, str]) -> DecoyProcess:
    return run_cli(decoy_process, "enricher", settings)


def request(url: str, body: bytes | None = None, token: str = "") -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def contact(ip: str) -> dict[str, Any]:
    return {
        "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "log": {"level": "info"},
        "event": {"action": "session.connect", "kind": "alert", "dataset": "honeypods.ssh"},
        "honeypod": {"decoy": "ssh", "schema": "1", "session": "s", "active": 1},
        "host": {"name": "internal-bastion-9a7e3"},
        "rule": {"name": "honeypod.network.ssh"},
        "source": {"ip": ip, "port": 50000},
        "destination": {"ip": "10.244.0.9", "port": 2222},
        "network": {"transport": "tcp"},
    }


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith((name + " ", name + "{")):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}")


def wait(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.1)


def test_port_token_and_body_limit(decoy_process: Start, kube: ThreadedKubeAPI) -> None:
    kube.api.add("pods", pod("team-a", "web-1", ip="10.244.7.7"))
    port = free_port()
    run_enricher(
        decoy_process,
        {
            "HONEYPODS_ENRICHER_PORT": str(port),
            "HONEYPODS_ENRICHER_TOKEN": "tok-1",
            "HONEYPODS_ENRICHER_MAX_BODY": "2048",
        },
    )
    url = f"http://127.0.0.1:{port}"
    body = json.dumps({"events": [contact("10.244.7.7")]}).encode()
    assert request(f"{url}/events", body)[0] == 401
    assert request(f"{url}/events", body, token="tok-2")[0] == 401
    assert request(f"{url}/events", body, token="tok-1") == (200, {"accepted": 1, "rejected": 0})
    big = json.dumps({"events": [contact("10.244.7.7")] * 5}).encode()
    assert len(big) > 2048
    assert request(f"{url}/events", big, token="tok-1")[0] == 413
    status, answer = request(f"{url}/attribution?ip=10.244.7.7", token="tok-1")
    assert status == 200
    assert answer["kubernetes"]["pod"]["name"] == "web-1"


def test_namespaces_and_nodes(decoy_process: Start, kube: ThreadedKubeAPI) -> None:
    kube.api.add("pods", pod("team-a", "mine", ip="10.244.8.1"))
    kube.api.add("pods", pod("team-b", "theirs", ip="10.244.8.2"))
    port = free_port()
    run_enricher(
        decoy_process,
        {
            "HONEYPODS_ENRICHER_PORT": str(port),
            "HONEYPODS_ENRICHER_NAMESPACES": "team-a",
            "HONEYPODS_ENRICHER_NODES": "false",
        },
    )
    url = f"http://127.0.0.1:{port}/attribution?ip="
    wait(lambda: request(url + "10.244.8.1")[1]["kubernetes"]["attribution"] == "exact")
    assert request(url + "10.244.8.2")[1]["kubernetes"] == {"attribution": "none"}
    paths = {c.path for c in kube.api.calls("list")}
    assert paths == {
        "/api/v1/namespaces/team-a/pods",
        "/apis/apps/v1/namespaces/team-a/replicasets",
        "/apis/batch/v1/namespaces/team-a/jobs",
    }  # no cluster-wide list, and no nodes


def test_span_cap_and_horizon(decoy_process: Start, kube: ThreadedKubeAPI) -> None:
    kube.api.add_many("pods", (pod("bulk", f"p-{i}", ip=f"10.245.{i // 256}.{i % 256}")
                               for i in range(1500)))  # fmt: skip
    metrics = free_port()
    run_enricher(
        decoy_process,
        {
            "HONEYPODS_ENRICHER_PORT": str(free_port()),
            "HONEYPODS_ENRICHER_MAX_SPANS": "1000",
            "HONEYPODS_ENRICHER_HORIZON": "60",
            "HONEYPODS_METRICS_PORT": str(metrics),
        },
    )
    wait(lambda: metric(metrics, "honeypods_enricher_pods") == 1500)
    assert metric(metrics, "honeypods_enricher_spans") == 1000
    assert metric(metrics, 'honeypods_enricher_evicted_total{reason="cap"}') == 500


def test_decoys_send_the_webhook_token(decoy_process: Start, kube: ThreadedKubeAPI) -> None:
    kube.api.add("pods", pod("team-a", "prober", ip="127.0.0.1"))
    events_port = free_port()
    enricher = run_enricher(
        decoy_process,
        {"HONEYPODS_ENRICHER_PORT": str(events_port), "HONEYPODS_ENRICHER_TOKEN": "hook-token"},
    )
    url = f"http://127.0.0.1:{events_port}/events"
    for token in ("hook-token", "not-it"):
        port = free_port()
        settings = {
            "HONEYPODS_PORTSCAN_PORTS": str(port),
            "HONEYPODS_WEBHOOK_URL": url,
            "HONEYPODS_WEBHOOK_TOKEN": token,
        }
        run_cli(decoy_process, "portscan", settings)
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
    # The decoy with the right token is attributed; the other one is refused, and says so.
    docs = enricher.wait_for(
        lambda d: (
            any(e["event"]["action"] == "session.connect" for e in d)
            and any(e["event"]["action"] == "enricher.rejected" for e in d)
        )
    )
    connects = [d for d in docs if d["event"]["action"] == "session.connect"]
    assert {d["source"]["kubernetes"]["pod"]["name"] for d in connects} == {"prober"}
    rejected = [d for d in docs if d["event"]["action"] == "enricher.rejected"]
    assert rejected[0]["event"]["reason"] == "unauthorized"


BAD_VALUES = [
    ({"HONEYPODS_ENRICHER_PORT": "0"}, "HONEYPODS_ENRICHER_PORT"),
    ({"HONEYPODS_ENRICHER_TOKEN": "two words"}, "HONEYPODS_ENRICHER_TOKEN"),
    ({"HONEYPODS_ENRICHER_NAMESPACES": "Team_B"}, "HONEYPODS_ENRICHER_NAMESPACES"),
    ({"HONEYPODS_ENRICHER_NODES": "maybe"}, "HONEYPODS_ENRICHER_NODES"),
    ({"HONEYPODS_ENRICHER_HORIZON": "10"}, "HONEYPODS_ENRICHER_HORIZON"),
    ({"HONEYPODS_ENRICHER_MAX_SPANS": "10"}, "HONEYPODS_ENRICHER_MAX_SPANS"),
    ({"HONEYPODS_ENRICHER_MAX_BODY": "100"}, "HONEYPODS_ENRICHER_MAX_BODY"),
    ({"HONEYPODS_WEBHOOK_TOKEN": "a b"}, "HONEYPODS_WEBHOOK_TOKEN"),
]


@pytest.mark.parametrize(
    ("settings", "message"), BAD_VALUES, ids=[next(iter(s)) for s, _ in BAD_VALUES]
)
def test_bad_values_are_refused_at_start(
    decoy_process: Start, kube: ThreadedKubeAPI, settings: dict[str, str], message: str
) -> None:
    refused_at_start(decoy_process, "enricher", settings, message)
