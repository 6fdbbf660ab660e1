"""The `helm test` hook's script, run against real decoys on loopback.

The script is taken from the rendered test Pod and run with this interpreter, as the pod runs it
with the decoy image's; only the targets change (loopback ports instead of Service names). Decoys
whose module is not in this checkout are left out of the run.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from tests.chart.conftest import Renderer
from tests.conftest import free_port

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
        [sys.executable, "-c", script, json.dumps(targets)],
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
        [sys.executable, "-c", script, json.dumps(targets)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "FAILED" in run.stdout
