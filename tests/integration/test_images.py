"""The decoy images: built from this checkout, run hardened, attacked with real clients.

Each image is built by ``scripts/build-images.sh`` on the stand-in base (``scripts/build-base.sh``)
and reused while its inputs are unchanged. Every container runs the way the README and the chart
run it: read-only root filesystem, no capabilities, no-new-privileges, user 65532, ports published
on 127.0.0.1 only. The live tests cover each decoy whose module exists in this checkout, so a decoy
merged later is attacked as soon as it lands.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import IN_CI, ROOT, free_port, require_root, require_tool, validate_event
from tests.integration.kubeapi import pod, run_in_thread

# Building four images from cold takes a few minutes on two cores; the first test pays for it.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

# The decoys, and the enricher, which is built and hardened the same way.
DECOYS = ("portscan", "web", "mysql", "ssh", "enricher")
LIVE = [d for d in DECOYS if importlib.util.find_spec(f"honeypods.{d}") is not None]
USER = "65532"
# Uncompressed size budgets on the stand-in base, in bytes (issue #7); the enricher carries
# kubernetes_asyncio's generated client beside aiohttp (116 MB measured on 2026-12-03).
BUDGET = {"portscan": 80e6, "mysql": 80e6, "web": 120e6, "ssh": 120e6, "enricher": 130e6}
HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
MARKER = "# This decoy:"
METRICS = 9478


def _tool(name: str) -> str:
    """A tool from this venv (pip-installed linters) or the system."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return require_tool(name)


def _docker(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


# -- static checks: no engine needed ---------------------------------------------------------------


def _dockerfile(decoy: str) -> str:
    return (ROOT / "images" / decoy / "Dockerfile").read_text()


def test_dockerfiles_share_one_skeleton() -> None:
    skeletons = {decoy: _dockerfile(decoy).split(MARKER)[0] for decoy in DECOYS}
    assert all(MARKER in _dockerfile(d) for d in DECOYS)
    assert len(set(skeletons.values())) == 1, "the Dockerfiles differ above the decoy block"
    for decoy in DECOYS:
        tail = _dockerfile(decoy).split(MARKER)[1].splitlines()[1:]
        instructions = [line.split()[0] for line in tail if line and not line.startswith(" ")]
        assert set(instructions) <= {"LABEL", "ENV", "EXPOSE", "ENTRYPOINT"}, instructions
        assert f'ENTRYPOINT ["/venv/bin/python3", "-m", "honeypods", "{decoy}"]' in tail


def test_dockerfile_hardening_rules() -> None:
    text = _dockerfile("portscan")
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"gcr\.io/distroless/python3-debian13:nonroot@sha256:[0-9a-f]{64}", base[1])
    runs = [line for line in text.splitlines() if line.startswith("RUN")]
    assert runs, "the builder runs nothing?"
    assert all(line.startswith('RUN ["') for line in runs), "a RUN needs a shell the base lacks"
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users[-1] == f"{USER}:{USER}", "the runtime stage must end on the numeric non-root user"
    assert "--no-index" in text
    assert "--require-hashes" in text


def _clean(command: list[str]) -> None:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_clean() -> None:
    hadolint = _tool("hadolint")
    files = [str(ROOT / "images" / d / "Dockerfile") for d in DECOYS]
    _clean([hadolint, *files])


def test_workflows_lint_clean() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert any(w.name == "images.yml" for w in workflows)
    _clean([_tool("actionlint"), *map(str, workflows)])
    _clean([_tool("zizmor"), "--offline", "--no-progress", *map(str, workflows)])


def test_workflow_actions_pinned_by_sha() -> None:
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        for line in workflow.read_text().splitlines():
            match = re.search(r"uses:\s*(\S+)", line)
            if match and not match[1].startswith("./"):
                assert re.search(r"@[0-9a-f]{40}\s+# v\d", line), f"{workflow.name}: {line.strip()}"


# -- the engine and the images ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker() -> str:
    """A Docker engine that answers, started here when none runs (CI machines have none)."""
    require_tool("docker")
    if subprocess.run(["docker", "version"], capture_output=True, check=False).returncode != 0:
        require_root()
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "start-dockerd.sh")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            message = f"cannot start dockerd: {result.stderr}"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
    return "docker"


@pytest.fixture(scope="session")
def images(docker: str) -> dict[str, str]:
    """decoy -> image reference, built (or reused) from this checkout."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-images.sh"), *DECOYS],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert result.returncode == 0, result.stderr
    built = dict(line.split() for line in result.stdout.splitlines())
    assert sorted(built) == sorted(DECOYS)
    return built


@dataclass
class Container:
    id: str
    ports: dict[int, int] = field(default_factory=dict)

    def port(self, container_port: int) -> int:
        if container_port not in self.ports:
            out = _docker("port", self.id, f"{container_port}/tcp").stdout.split()[0]
            host, _, port = out.rpartition(":")
            assert host == "127.0.0.1", f"published on {host}, not loopback only"
            self.ports[container_port] = int(port)
        return self.ports[container_port]

    def running(self) -> bool:
        state = _docker("inspect", "--format", "{{.State.Running}}", self.id, check=False)
        return state.stdout.strip() == "true"

    def logs(self) -> tuple[str, str]:
        result = _docker("logs", self.id)
        return result.stdout, result.stderr

    def events(self) -> list[dict[str, Any]]:
        """Every stdout line, parsed and validated against the event schema."""
        docs = []
        for line in self.logs()[0].splitlines():
            doc = json.loads(line)
            validate_event(doc)
            docs.append(doc)
        return docs

    def actions(self) -> list[str]:
        return [d["event"]["action"] for d in self.events()]

    def wait_for(self, action: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in self.events() if d["event"]["action"] == action]
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {action} in {timeout}s; logs: {self.logs()}")
            time.sleep(0.2)

    def wait_ready(self, timeout: float = 60.0) -> None:
        url = f"http://127.0.0.1:{self.port(METRICS)}/readyz"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if not self.running():
                raise AssertionError(f"container exited before ready; logs: {self.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready in {timeout}s; logs: {self.logs()}")
            time.sleep(0.1)


@pytest.fixture
def run(images: dict[str, str]) -> Iterator[Callable[..., Container]]:
    """Factory: run a decoy image hardened, ports on 127.0.0.1; removed at the end."""
    started: list[str] = []

    def start(decoy: str, ports: list[int], env: dict[str, str] | None = None) -> Container:
        args = ["run", "--detach", *HARDENED, "--user", USER]
        for port in [*ports, METRICS]:
            args += ["--publish", f"127.0.0.1::{port}"]
        for name, value in (env or {}).items():
            args += ["--env", f"{name}={value}"]
        container_id = _docker(*args, images[decoy]).stdout.strip()
        started.append(container_id)
        container = Container(container_id)
        container.wait_ready()
        return container

    yield start
    for container_id in started:
        _docker("rm", "--force", container_id, check=False)


def _in_image(image: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the image's own Python with the same hardening, instead of the decoy."""
    return _docker(
        "run", "--rm", *HARDENED, "--user", USER, "--entrypoint", "/venv/bin/python3", image,
        *args, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("decoy", DECOYS)
def test_image_metadata_and_size(images: dict[str, str], decoy: str) -> None:
    (info,) = json.loads(_docker("image", "inspect", images[decoy]).stdout)
    config = info["Config"]
    assert config["User"] == f"{USER}:{USER}"
    assert config["Entrypoint"] == ["/venv/bin/python3", "-m", "honeypods", decoy]
    assert f"{METRICS}/tcp" in config["ExposedPorts"]
    labels = config["Labels"]
    for key in ("source", "version", "revision", "licenses", "title"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.title"] == f"honeypods-{decoy}"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["HONEYPODS_HOST"] == "0.0.0.0"
    assert env["HONEYPODS_METRICS_HOST"] == "0.0.0.0"
    size = info["Size"]
    print(
        f"\nimage {decoy}: {size / 1e6:.1f} MB uncompressed (budget {BUDGET[decoy] / 1e6:.0f} MB)"
    )
    assert size <= BUDGET[decoy]


@pytest.mark.parametrize("decoy", DECOYS)
def test_image_has_no_shell(images: dict[str, str], decoy: str) -> None:
    for shell in ("sh", "/bin/sh", "bash", "/bin/bash", "dash", "busybox"):
        result = _docker(
            "run", "--rm", *HARDENED, "--entrypoint", shell, images[decoy], "-c", "id", check=False
        )
        assert result.returncode != 0, f"{shell} ran in {decoy}: {result.stdout}"
        assert "executable file not found" in result.stderr or "no such file" in result.stderr
    listing = _in_image(
        images[decoy],
        "-c",
        "import json, os; print(json.dumps(os.listdir('/usr/bin') + os.listdir('/bin')))",
    )
    assert listing.returncode == 0, listing.stderr
    programs = set(json.loads(listing.stdout))
    assert programs <= {"python", "python3", "python3.13"}, programs


@pytest.mark.parametrize("decoy", DECOYS)
def test_image_runs_as_non_root_with_only_its_extra(images: dict[str, str], decoy: str) -> None:
    script = (
        "import json, os, sys, importlib.util as u; "
        "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), "
        "'site': sorted(os.listdir(next(p for p in sys.path if p.endswith('site-packages')))), "
        "'pip': u.find_spec('pip') is not None, "
        "'writable': os.access('/venv/lib', os.W_OK)}))"
    )
    result = _in_image(images[decoy], "-c", script)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["uid"] == int(USER)
    assert facts["gid"] == int(USER)
    assert not facts["pip"], "a package manager ships in the image"
    assert not facts["writable"], "the decoy can rewrite its own code"
    site = {name.lower() for name in facts["site"]}
    assert "honeypods" in site
    if decoy in ("portscan", "mysql"):
        assert not site & {"aiohttp", "asyncssh"}, site
    if decoy == "web":
        assert "aiohttp" in site
        assert "asyncssh" not in site
    if decoy == "ssh":
        assert "asyncssh" in site
        assert "aiohttp" not in site
    if decoy == "enricher":
        assert {"kubernetes_asyncio", "aiohttp"} <= site
        assert "asyncssh" not in site

    # No .pyc is written at run time (read-only), so the standard library must come compiled.
    probe = _in_image(
        images[decoy],
        "-c",
        "import importlib.util, os, asyncio; "
        "print(os.path.exists(importlib.util.cache_from_source(asyncio.__file__)))",
    )
    assert probe.stdout.strip() == "True", probe.stderr


# -- live: real clients against running containers -------------------------------------------------


@pytest.mark.skipif("portscan" not in LIVE, reason="no portscan module in this checkout")
def test_portscan_answers_nmap(run: Callable[..., Container]) -> None:
    nmap = require_tool("nmap")
    ports = [2375, 5432, 6379, 9200, 27017]
    container = run("portscan", ports, {"HONEYPODS_PORTSCAN_SCAN_REPORT_DELAY": "0.5"})
    host_ports = ",".join(str(container.port(p)) for p in ports)
    result = subprocess.run(
        [nmap, "-sT", "-Pn", "-n", "--max-retries", "1", "-p", host_ports, "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for port in ports:
        assert re.search(rf"^{container.port(port)}/tcp\s+open", result.stdout, re.MULTILINE), (
            result.stdout
        )
    connects = container.wait_for("session.connect")
    scans = container.wait_for("portscan.scan")
    assert {e["destination"]["port"] for e in connects} >= set(ports)
    assert scans[0]["rule"]["name"].startswith("honeypod.")


@pytest.mark.skipif("web" not in LIVE, reason="no web module in this checkout")
def test_web_answers_curl_as_nginx(run: Callable[..., Container]) -> None:
    curl = require_tool("curl")
    container = run("web", [8080, 8443])
    for url in (
        f"http://127.0.0.1:{container.port(8080)}/",
        f"https://127.0.0.1:{container.port(8443)}/",
    ):
        result = subprocess.run(
            [curl, "--silent", "--show-error", "--insecure", "--max-time", "20", "-D", "-", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("HTTP/1.1 "), result.stdout[:200]
        assert re.search(r"^Server: nginx", result.stdout, re.MULTILINE | re.IGNORECASE)
    requests = container.wait_for("web.request")
    assert len(requests) >= 2


@pytest.mark.skipif("mysql" not in LIVE, reason="no mysql module in this checkout")
def test_mysql_answers_the_mysql_client(run: Callable[..., Container]) -> None:
    mysql = require_tool("mysql")
    container = run("mysql", [3306])
    result = subprocess.run(
        [mysql, "--host=127.0.0.1", f"--port={container.port(3306)}", "--user=root",
         "--password=not-the-password", "--connect-timeout=20", "--execute=SELECT 1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # Refused or let in, the client must get a MySQL answer, not a broken connection.
    assert result.returncode == 0 or "ERROR 1045" in result.stderr, result.stderr
    assert "Lost connection" not in result.stderr
    logins = container.wait_for("mysql.login")
    assert logins[0]["user"]["name"] == "root"


@pytest.mark.skipif("ssh" not in LIVE, reason="no ssh module in this checkout")
def test_ssh_answers_openssh_client(run: Callable[..., Container]) -> None:
    ssh = require_tool("ssh")
    sshpass = require_tool("sshpass")
    container = run("ssh", [22])
    port = container.port(22)
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        banner = sock.recv(256)
    assert banner.startswith(b"SSH-2.0-OpenSSH_"), banner
    result = subprocess.run(
        [sshpass, "-p", "hunter2", ssh, "-p", str(port), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password",
         "-o", "PubkeyAuthentication=no", "-o", "ConnectTimeout=20", "-o", "NumberOfPasswordPrompts=1",
         "root@127.0.0.1", "true"],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Permission denied" in result.stderr, result.stderr
    logins = container.wait_for("ssh.login")
    assert logins[0]["user"]["name"] == "root"


@pytest.mark.skipif("enricher" not in LIVE, reason="no enricher module in this checkout")
def test_enricher_image_attributes_a_contact_from_a_kubeconfig(
    images: dict[str, str], tmp_path: Path
) -> None:
    with run_in_thread() as kube:
        kube.api.add("pods", pod("payments", "api-0", ip="10.244.9.9"))
        config = kube.kubeconfig(tmp_path / "kubeconfig").read_text()
        # A volume rather than a bind mount: the engine may not share this filesystem (a CI job in
        # a container that talks to the host's engine through its socket).
        volume = _docker("volume", "create").stdout.strip()
        subprocess.run(
            ["docker", "run", "--rm", "--interactive", "--network", "none", "--user", "0",
             "--volume", f"{volume}:/kube", "--entrypoint", "/venv/bin/python3", images["enricher"],
             "-c", "import os, sys; open('/kube/config', 'w').write(sys.stdin.read());"
                   " os.chmod('/kube/config', 0o644)"],
            input=config, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        port, metrics = free_port(), free_port()
        # The host's network, so that the API server on this host's loopback is the container's:
        # nothing leaves 127.0.0.1.
        container_id = _docker(
            "run", "--detach", *HARDENED, "--user", USER, "--network", "host",
            "--volume", f"{volume}:/etc/kube:ro", "--env", "KUBECONFIG=/etc/kube/config",
            "--env", "HONEYPODS_HOST=127.0.0.1", "--env", "HONEYPODS_METRICS_HOST=127.0.0.1",
            "--env", f"HONEYPODS_METRICS_PORT={metrics}",
            "--env", f"HONEYPODS_ENRICHER_PORT={port}",
            images["enricher"],
        ).stdout.strip()  # fmt: skip
        container = Container(container_id, {METRICS: metrics})
        try:
            container.wait_ready()
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
            event = {
                "@timestamp": now,
                "log": {"level": "info"},
                "event": {"action": "session.connect", "kind": "alert",
                          "dataset": "honeypods.portscan"},
                "honeypod": {"decoy": "portscan", "schema": "1", "session": "s1", "active": 1},
                "host": {"name": "internal-app-7f9c2"},
                "rule": {"name": "honeypod.ip.enum"},
                "source": {"ip": "10.244.9.9", "port": 41000},
                "destination": {"ip": "10.244.0.3", "port": 2379},
                "network": {"transport": "tcp"},
            }  # fmt: skip
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/events",
                data=json.dumps({"events": [event]}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                assert json.loads(response.read()) == {"accepted": 1, "rejected": 0}
            (enriched,) = container.wait_for("session.connect")
            assert enriched["source"]["kubernetes"]["namespace"] == "payments"
            assert enriched["source"]["kubernetes"]["pod"]["name"] == "api-0"
        finally:
            _docker("rm", "--force", container_id, check=False)
            _docker("volume", "rm", "--force", volume, check=False)
