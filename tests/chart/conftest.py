"""Fixtures for the chart tests: the real `helm template` of Helm 3 and Helm 4, parsed.

Renders are cached per (helm, values files, --set flags) for the session: each one generates an
RSA host key and a certificate, and the same render serves many assertions.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import IN_CI, ROOT, require_tool

CHART = ROOT / "charts" / "honeypods"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
ALL_FEATURES = CHART / "ci" / "04-all-features-values.yaml"
# Upstream copies kept in the repository, so a plain clone can validate the custom resources.
CRDS = Path(__file__).resolve().parent / "crds"
NAMESPACE = "decoys"
RELEASE = "internal-services"
HELMS = ("helm3", "helm4")


@dataclass(frozen=True)
class Render:
    """One `helm template` output: the text, the release's objects, and the test hooks."""

    text: str
    docs: tuple[dict[str, Any], ...]
    hooks: tuple[dict[str, Any], ...]

    @property
    def every(self) -> tuple[dict[str, Any], ...]:
        return self.docs + self.hooks

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.of(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
        return found[0]

    def workloads(self) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] in ("Deployment", "DaemonSet")]


class HelmError(Exception):
    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(stderr)
        self.returncode = returncode
        self.stderr = stderr


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm, *args], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


@functools.cache
def _render(helm: str, files: tuple[str, ...], sets: tuple[str, ...]) -> Render:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for f in files:
        args += ["--values", f]
    for s in sets:
        args += ["--set", s]
    proc = run_helm(helm, *args)
    if proc.returncode != 0:
        raise HelmError(proc.returncode, proc.stderr)
    parsed = [d for d in yaml.safe_load_all(proc.stdout) if d]
    hooks = tuple(d for d in parsed if "helm.sh/hook" in d["metadata"].get("annotations", {}))
    docs = tuple(d for d in parsed if d not in hooks)
    return Render(proc.stdout, docs, hooks)


Renderer = Callable[..., Render]


@pytest.fixture(params=HELMS)
def helm(request: pytest.FixtureRequest) -> str:
    """Path of Helm 3, then Helm 4."""
    return require_tool(request.param)


@pytest.fixture
def render(helm: str) -> Renderer:
    """``render(files=[...], sets=[...])``: the parsed `helm template` output (cached)."""

    def do(files: Sequence[Path | str] = (), sets: Sequence[str] = ()) -> Render:
        return _render(helm, tuple(str(f) for f in files), tuple(sets))

    return do


@pytest.fixture
def helm4() -> Renderer:
    """A renderer bound to Helm 4 only, for tests whose subject is the output, not Helm."""
    path = require_tool("helm4")

    def do(files: Sequence[Path | str] = (), sets: Sequence[str] = ()) -> Render:
        return _render(path, tuple(str(f) for f in files), tuple(sets))

    return do


def assert_restricted(name: str, pod: dict[str, Any]) -> None:
    """Pod Security "restricted" and the chart's own hardening, on one pod spec."""
    assert pod["enableServiceLinks"] is False, name
    assert pod["securityContext"]["runAsNonRoot"] is True, name
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host), name
    for sysctl in pod["securityContext"].get("sysctls", []):
        assert sysctl["name"] == "net.ipv4.ip_unprivileged_port_start", name
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, name
        assert sc["readOnlyRootFilesystem"] is True, name
        assert sc["capabilities"] == {"drop": ["ALL"]}, name
        assert isinstance(sc["runAsUser"], int), name
        assert sc["runAsUser"] > 0, name
        assert c["resources"]["requests"], name
        assert c["resources"]["limits"], name


FULL = (
    "alerts.prometheusRule.enabled=true",
    "alerts.globalAlert.enabled=true",
    "monitoring.podMonitor.enabled=true",
    "namespace.create=true",
)


def require_crds(*names: str) -> Path:
    """The CRD schemas folder; a missing one of ``names`` skips locally and fails under CI=true."""
    missing = [n for n in names if not (CRDS / n).is_file()]
    if missing:
        message = f"CRD schemas missing from {CRDS}: {', '.join(missing)} (tracked in git)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CRDS
