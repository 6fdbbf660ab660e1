"""The `helm test` hook's script, run against real decoys on loopback.

The script is taken from the rendered test Pod and run with this interpreter, as the pod runs it
with the decoy image's; only the targets change (loopback ports instead of Service names). Decoys
whose module is not in this checkout are left out of the run. Its enricher check runs against a
stand-in /attribution on loopback, with the pod's downward-API variables set by hand.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.chart.conftest import Renderer
from tests.conftest import free_port
from tests.integration.kubeapi import pod, run_in_thread

pytestmark = pytest.mark.integration

RULE_OF = {"web": "honeypod.fake.svc", "mysql": "honeypod.vuln.svc", "ssh": "honeypod.network.ssh"}


def _hook_pod(helm4: Renderer) -> dict[str, Any]:
    (pod,) = [d for d in helm4().hooks if d["kind"] == "Pod"]
    return pod


def test_hook_targets_every_service_and_enough_scan_ports(helm4: Renderer) -> None:
    pod = _hook_pod(helm4)
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["python", "-c"]
    targets = json.loads(container["args"][1])
    kinds = [(t["host"].split(".")[0], t["port"], t["kind"]) for t in targets]
    assert kinds == [
        ("internal-app", 2375, "silent"),
        ("internal-app", 2376, "silent"),
        ("internal-app", 2379, "silent"),
        ("internal-app", 2380, "silent"),
        ("dashboard-internal-debug", 8888, "http"),
        ("dashboard-internal-service", 443, "https"),
        ("internal-backend", 3306, "mysql"),
        ("internal-bastion", 22, "ssh"),
    ]
    hooks = {(d["kind"], d["metadata"]["name"]) for d in helm4().hooks}
    # The port-scan decoy gets a name only while the test runs.
    assert ("Service", "internal-app") in hooks
    assert ("Service", "internal-app") not in {
        (d["kind"], d["metadata"]["name"]) for d in helm4().docs
    }


def test_hook_script_passes_against_real_decoys(
    helm4: Renderer, decoy_process: Callable[..., Any]
) -> None:
    present = [d for d in ("web", "mysql", "ssh") if importlib.util.find_spec(f"honeypods.{d}")]
    scan_ports = [free_port() for _ in range(4)]
    env = {
        "HONEYPODS_PORTSCAN_PORTS": ",".join(map(str, scan_ports)),
        "HONEYPODS_PORTSCAN_SCAN_REPORT_DELAY": "0.2",
    }
    targets = [{"host": "127.0.0.1", "port": p, "kind": "silent"} for p in scan_ports]
    if "web" in present:
        env["HONEYPODS_WEB_PORT"], env["HONEYPODS_WEB_TLS_PORT"] = map(
            str, (free_port(), free_port())
        )
        targets += [
            {"host": "127.0.0.1", "port": int(env["HONEYPODS_WEB_PORT"]), "kind": "http"},
            {"host": "127.0.0.1", "port": int(env["HONEYPODS_WEB_TLS_PORT"]), "kind": "https"},
        ]
    for decoy in ("mysql", "ssh"):
        if decoy in present:
            port = free_port()
            env[f"HONEYPODS_{decoy.upper()}_PORT"] = str(port)
            targets.append({"host": "127.0.0.1", "port": port, "kind": decoy})
    proc = decoy_process(["portscan", *present], env)
    script = _hook_pod(helm4)["spec"]["containers"][0]["args"][0]
    run = subprocess.run(
        [sys.executable, "-c", script, json.dumps(targets), "null"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(targets)
    assert all("FAILED" not in line for line in lines)
    # The probes are contacts like any other: the decoys record them under their alert rules.
    docs = proc.wait_for(
        lambda docs: any(d.get("rule", {}).get("name") == "honeypod.port.scan" for d in docs)
    )
    expected = {"honeypod.ip.enum", "honeypod.port.scan"}
    # The rule each decoy reports under is the alert the chart generates for it.
    expected |= {RULE_OF[d] for d in present}
    docs = proc.wait_for(lambda docs: expected <= {d["rule"]["name"] for d in docs if "rule" in d})
    by_decoy = {(d["honeypod"]["decoy"], d["rule"]["name"]) for d in docs if "rule" in d}
    for decoy in present:
        assert (decoy, RULE_OF[decoy]) in by_decoy, decoy


def test_hook_script_reports_a_dead_target(helm4: Renderer) -> None:
    script = _hook_pod(helm4)["spec"]["containers"][0]["args"][0]
    targets = [{"host": "127.0.0.1", "port": free_port(), "kind": "mysql"}]
    run = subprocess.run(
        [sys.executable, "-c", script, json.dumps(targets), "null"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "FAILED" in run.stdout


# -- the enricher check ------------------------------------------------------------------------------

POD = {"POD_IP": "10.244.1.7", "POD_NAME": "internal-services-connect", "POD_NAMESPACE": "decoys"}


class FakeEnricher(BaseHTTPRequestHandler):
    """GET /attribution: the answers in ``answers``, one per request, the last one repeated."""

    answers: ClassVar[list[dict[str, Any]]] = []
    asked: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.asked.append(self.path)
        answer = self.answers[min(len(self.asked), len(self.answers)) - 1]
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def enricher() -> Iterator[str]:
    """The stand-in's /attribution URL."""
    FakeEnricher.answers, FakeEnricher.asked = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEnricher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/attribution"
    finally:
        server.shutdown()
        server.server_close()


def _answer(attribution: str, namespace: str = "", pod: str = "") -> dict[str, Any]:
    kubernetes: dict[str, Any] = {"attribution": attribution}
    if namespace:
        kubernetes |= {"namespace": namespace, "pod": {"name": pod, "uid": "u-1"}}
    return {"ip": POD["POD_IP"], "at": "2026-12-03T08:00:00Z", "kubernetes": kubernetes,
            "last_event": None}  # fmt: skip


def _check_enricher(
    helm4: Renderer,
    url: str,
    wait: float,
    sets: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Any:
    pod = next(d for d in helm4(sets=list(sets)).hooks if d["kind"] == "Pod")
    args = pod["spec"]["containers"][0]["args"]
    rendered = json.loads(args[2])
    return subprocess.run(
        [sys.executable, "-c", args[0], "[]", json.dumps(rendered | {"url": url, "wait": wait})],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **POD, **(env or {})},
    )


def test_hook_passes_against_the_real_enricher_with_its_token(
    helm4: Renderer, decoy_process: Callable[..., Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The real enricher, reading a wire-protocol API server where the test pod is listed."""
    rendered = next(d for d in helm4(sets=["enricher.authToken.enabled=true"]).hooks
                    if d["kind"] == "Pod")  # fmt: skip
    env = {e["name"]: e for e in rendered["spec"]["containers"][0]["env"]}
    assert env["ENRICHER_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "token"
    with run_in_thread() as kube:
        kube.api.add("pods", pod(POD["POD_NAMESPACE"], POD["POD_NAME"], ip=POD["POD_IP"]))
        monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig(tmp_path / "kubeconfig")))
        port = free_port()
        decoy_process(
            ["enricher"], {"HONEYPODS_ENRICHER_PORT": str(port), "HONEYPODS_ENRICHER_TOKEN": "t0k"}
        )
        url = f"http://127.0.0.1:{port}/attribution"
        sets = ("enricher.authToken.enabled=true",)
        run = _check_enricher(helm4, url, wait=20, sets=sets, env={"ENRICHER_TOKEN": "t0k"})
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"exact decoys {POD['POD_NAME']}" in run.stdout
        refused = _check_enricher(helm4, url, wait=1, sets=sets, env={"ENRICHER_TOKEN": "wrong"})
        assert refused.returncode == 1
        assert "401" in refused.stdout


def test_hook_waits_until_the_enricher_names_the_pod(helm4: Renderer, enricher: str) -> None:
    # The watch has not seen the new pod yet, then it has.
    FakeEnricher.answers = [_answer("none"), _answer("exact", "decoys", POD["POD_NAME"])]
    run = _check_enricher(helm4, enricher, wait=20)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "exact decoys internal-services-connect" in run.stdout
    assert len(FakeEnricher.asked) == 2
    assert FakeEnricher.asked[0] == "/attribution?ip=10.244.1.7"


@pytest.mark.parametrize(
    "answer",
    [
        _answer("none"),
        _answer("exact", "other", POD["POD_NAME"]),
        _answer("exact", "decoys", "someone-else"),
        _answer("ambiguous"),
    ],
    ids=["none", "other-namespace", "other-pod", "ambiguous"],
)
def test_hook_fails_when_the_enricher_names_anything_else(
    helm4: Renderer, enricher: str, answer: dict[str, Any]
) -> None:
    FakeEnricher.answers = [answer]
    run = _check_enricher(helm4, enricher, wait=1)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED" in run.stdout
    assert len(FakeEnricher.asked) >= 1


def test_hook_fails_when_the_enricher_is_unreachable(helm4: Renderer) -> None:
    run = _check_enricher(helm4, f"http://127.0.0.1:{free_port()}/attribution", wait=1)
    assert run.returncode == 1
    assert "FAILED" in run.stdout
    assert "URLError" in run.stdout or "ConnectionRefused" in run.stdout


def test_hook_expects_none_where_the_namespace_is_not_watched(
    helm4: Renderer, enricher: str
) -> None:
    """Namespaced mode without the release's namespace: the enricher must not know the pod."""
    FakeEnricher.answers = [_answer("none")]
    run = _check_enricher(helm4, enricher, wait=1, sets=("enricher.namespaces={default}",))
    assert run.returncode == 0, run.stdout + run.stderr
    FakeEnricher.answers = [_answer("exact", "decoys", POD["POD_NAME"])]
    run = _check_enricher(helm4, enricher, wait=1, sets=("enricher.namespaces={default}",))
    assert run.returncode == 1, run.stdout
