"""A real Prometheus and Alertmanager on loopback, with the alert rules the chart renders.

The rules come from ``helm template`` of charts/honeypods (the PrometheusRule's ``spec.groups``,
written out as a Prometheus rules file), never from a hand-written copy, so the test checks what a
user deploys. Only interval settings differ from the chart's defaults, and only in ``fast`` mode:

* ``fast`` (the default): scrape and rule evaluation every second, so the suite stays short.
* ``chart`` (``HONEYPODS_E2E_INTERVALS=chart``): the scrape interval of the rendered PodMonitor
  and the rule interval of the rendered PrometheusRule, both as the chart ships them (15 s).

Scrape targets are written to a file_sd file as decoys start, with the ``namespace`` and ``pod``
labels the Prometheus Operator puts on PodMonitor targets (the rules group and match by them).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from tests.conftest import ROOT, free_port, require_tool

CHART = ROOT / "charts" / "honeypods"
RELEASE = "internal-services"
NAMESPACE = "internal-e2e"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def helm_template(values: Mapping[str, Any], show_only: str) -> list[dict[str, Any]]:
    """The documents of one chart template, rendered by the real Helm with ``values``."""
    helm = require_tool("helm3")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(dict(values), f)
        f.flush()
        out = subprocess.run(
            [helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
             "-f", f.name, "--show-only", show_only],
            check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+)(ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"unsupported duration {duration!r}")
    return sum(int(n) * units[u] for n, u in parts)


@dataclass(frozen=True)
class Intervals:
    scrape: str
    evaluation: str

    @property
    def slowest(self) -> float:
        return max(seconds(self.scrape), seconds(self.evaluation))


def chart_rules(mode: str) -> tuple[list[dict[str, Any]], Intervals]:
    """The chart's rule groups and the intervals to run them with (see the module docstring)."""
    values: dict[str, Any] = {
        "alerts": {"prometheusRule": {"enabled": True}},
        "monitoring": {"podMonitor": {"enabled": True}},
    }
    if mode == "fast":
        values["alerts"]["prometheusRule"]["interval"] = "1s"
    elif mode != "chart":
        raise ValueError(f"HONEYPODS_E2E_INTERVALS={mode!r}: fast or chart")
    (rule,) = helm_template(values, "templates/alerts-prometheusrule.yaml")
    (monitor,) = helm_template(values, "templates/podmonitor.yaml")
    groups = rule["spec"]["groups"]
    scrape = "1s" if mode == "fast" else monitor["spec"]["podMetricsEndpoints"][0]["interval"]
    return groups, Intervals(scrape=scrape, evaluation=groups[0]["interval"])


def _http(url: str, data: bytes | None = None, timeout: float = 10.0) -> Any:
    request = urllib.request.Request(url, data=data)  # noqa: S310 - http URLs built here
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as r:  # noqa: S310 - same
        body = r.read()
    return json.loads(body) if body else None


def _status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - http URLs built here
        return int(r.status)


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, ValueError):
            if check():
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.2)


class Process:
    """One server process, its output in a file, stopped by its own PID."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.proc.args[0]} exited: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


class Alertmanager:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "alertmanager.yml"
        # Notifications go nowhere: the test reads alerts through the API, which shows them as
        # soon as they arrive (group_wait only delays notifications).
        config.write_text(
            yaml.safe_dump(
                {
                    "route": {"receiver": "null", "group_by": ["alertname"]},
                    "receivers": [{"name": "null"}],
                }
            )
        )
        (workdir / "am-data").mkdir()
        self.process = Process(
            [ALERTMANAGER, f"--config.file={config}", f"--storage.path={workdir / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            workdir / "alertmanager.log",
        )  # fmt: skip
        _wait(self._ready, 60, "alertmanager ready")

    def _ready(self) -> bool:
        self.process.check_alive()
        return _status(f"{self.url}/-/ready") == 200

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (API v2), resolved ones left out by Alertmanager itself."""
        return list(_http(f"{self.url}/api/v2/alerts?active=true&silenced=true&inhibited=true"))

    def post(self, alerts: list[dict[str, Any]]) -> None:
        _http(f"{self.url}/api/v2/alerts", json.dumps(alerts).encode())


class Prometheus:
    def __init__(self, workdir: Path, alertmanager: Alertmanager, mode: str) -> None:
        groups, self.intervals = chart_rules(mode)
        self.rules = workdir / "rules.yml"
        self.rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        self.targets_file = workdir / "targets.json"
        self._targets: list[dict[str, Any]] = []
        self._write_targets()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        scrape_timeout = min(seconds(self.intervals.scrape), 10.0)
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": self.intervals.scrape,
                        "scrape_timeout": f"{int(scrape_timeout * 1000)}ms",
                        "evaluation_interval": self.intervals.evaluation,
                    },
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [f"127.0.0.1:{alertmanager.port}"]}]}
                        ]
                    },
                    "rule_files": [str(self.rules)],
                    "scrape_configs": [
                        {
                            "job_name": f"{NAMESPACE}/{RELEASE}",
                            "file_sd_configs": [
                                {"files": [str(self.targets_file)], "refresh_interval": "1s"}
                            ],
                        }
                    ],
                }
            )
        )
        check = subprocess.run(
            [require_tool("promtool"), "check", "rules", str(self.rules)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        self.process = Process(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            workdir / "prometheus.log",
        )  # fmt: skip
        _wait(self._ready, 60, "prometheus ready")

    def _ready(self) -> bool:
        self.process.check_alive()
        return _status(f"{self.url}/-/ready") == 200

    def _write_targets(self) -> None:
        # Written whole and renamed, so file_sd never reads half a file.
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._targets))
        os.replace(tmp, self.targets_file)

    def add_target(self, address: str, pod: str) -> None:
        """Scrape ``address`` with the labels a PodMonitor target of ``pod`` would carry."""
        labels = {"namespace": NAMESPACE, "pod": pod, "container": pod, "endpoint": "metrics"}
        self._targets.append({"targets": [address], "labels": labels})
        self._write_targets()

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        answer = _http(url)
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def query_range(self, expr: str, seconds: float, step: float) -> list[dict[str, Any]]:
        """Like a Grafana time-series panel: the last ``seconds``, one point per ``step``."""
        end = time.time()
        params = {"query": expr, "start": end - seconds, "end": end, "step": step}
        answer = _http(f"{self.url}/api/v1/query_range?" + urllib.parse.urlencode(params))
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def api(self, path: str) -> Any:
        answer = _http(f"{self.url}/api/v1/{path}")
        assert answer["status"] == "success", answer
        return answer["data"]

    def wait_scraped(self, pods: list[str], timeout: float = 60.0) -> None:
        """Until every pod's target has been scraped successfully at least twice."""

        def done() -> bool:
            self.process.check_alive()
            up = self.query(f'count_over_time(up{{namespace="{NAMESPACE}"}}[5m]) >= 2')
            seen = {r["metric"]["pod"] for r in up}
            healthy = self.query(f'up{{namespace="{NAMESPACE}"}} == 1')
            return set(pods) <= seen and set(pods) <= {r["metric"]["pod"] for r in healthy}

        _wait(done, timeout, f"targets {pods} scraped")


@contextlib.contextmanager
def promstack(workdir: Path, mode: str) -> Iterator[tuple[Prometheus, Alertmanager]]:
    """Alertmanager, then Prometheus sending to it; both stopped at exit."""
    alertmanager = Alertmanager(workdir)
    prometheus: Prometheus | None = None
    try:
        prometheus = Prometheus(workdir, alertmanager, mode)
        yield prometheus, alertmanager
    finally:
        if prometheus is not None:
            prometheus.process.stop()
        alertmanager.process.stop()


@dataclass
class Netns:
    """A network namespace joined to this one by a veth pair: ``outer`` here, ``inner`` there."""

    name: str
    outer: str
    inner: str

    def exec(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]


@contextlib.contextmanager
def netns_with_veth(tag: str) -> Iterator[Netns]:
    """A namespace the test owns, reachable at a 10.x/30 address no interface here uses yet."""
    ip = require_tool("ip")
    used = subprocess.run([ip, "-4", "-o", "addr"], capture_output=True, text=True, check=True)
    for second in range(200, 250):
        third = int(tag[:2], 16)
        prefix = f"10.{second}.{third}."
        if prefix not in used.stdout:
            break
    else:  # pragma: no cover - every candidate taken
        raise AssertionError("no free 10.x address for the test namespace")
    name, outer_if, inner_if = f"hp-{tag}", f"hpo{tag}", f"hpi{tag}"
    subprocess.run([ip, "netns", "add", name], check=True)
    try:
        steps = [
            [ip, "link", "add", outer_if, "type", "veth", "peer", "name", inner_if],
            [ip, "link", "set", inner_if, "netns", name],
            [ip, "addr", "add", f"{prefix}1/30", "dev", outer_if],
            [ip, "link", "set", outer_if, "up"],
            [ip, "-n", name, "addr", "add", f"{prefix}2/30", "dev", inner_if],
            [ip, "-n", name, "link", "set", inner_if, "up"],
            [ip, "-n", name, "link", "set", "lo", "up"],
        ]
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield Netns(name, f"{prefix}1", f"{prefix}2")
    finally:
        subprocess.run([ip, "link", "delete", outer_if], check=False, capture_output=True)
        subprocess.run([ip, "netns", "delete", name], check=False)


class Receiver:
    """A real HTTP server on loopback: answers with the statuses queued, then 200; may hang."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self.hang = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hang.is_set():
                    receiver.release.wait(30)
                receiver.bodies.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
