"""Static security check of the rendered manifests with checkov.

Every failure checkov reports must be one of the justified exceptions below; anything else fails
the test with checkov's own description of the problem.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.chart.conftest import ALL_FEATURES, CHART, FULL, Renderer
from tests.conftest import require_tool

NAMESPACED = CHART / "ci" / "05-enricher-namespaced-values.yaml"
# Skipped for every object, each for a reason that holds for the whole chart.
SKIPPED = {
    # "Image should use digest": the chart references the images by the release tag by default,
    # because digests only exist once CI has pushed them. decoys.<decoy>.image.digest pins one
    # (the all-features values do), and a digest wins over the tag.
    "CKV_K8S_43",
    # "Image Pull Policy should be Always": with immutable release tags or digests, Always only
    # makes every pod start depend on the registry; image.pullPolicy offers it for mutable tags.
    "CKV_K8S_15",
}
# Allowed for named objects only: (check, regular expression over "Kind.namespace.name").
JUSTIFIED = {
    # The `helm test` pod runs a few seconds and exits; a probe could only race the script.
    ("CKV_K8S_8", r"Pod\..*-connect"),
    ("CKV_K8S_9", r"Pod\..*-connect"),
    # decoys.portscan.sensor=on: the packet sensor's raw sockets need CAP_NET_RAW, which only root
    # can use in a container. The one documented exception to Pod Security "restricted"; off by
    # default, and the chart refuses it in a namespace it creates unless that allows privileged.
    ("CKV_K8S_23", r"DaemonSet\.payments-internal\.payments-worker"),
    ("CKV_K8S_25", r"DaemonSet\.payments-internal\.payments-worker"),
    ("CKV_K8S_40", r"DaemonSet\.payments-internal\.payments-worker"),
    # The enricher reads the Kubernetes API, so it mounts a token: its own account's, bound to
    # get/list/watch on pods, nodes, ReplicaSets and Jobs only (test_enricher.py holds the rules).
    ("CKV_K8S_38", r"Deployment\.[^.]+\.[^.]+-enricher"),
    # enricher.authToken (on in the all-features and namespaced values): the processes take
    # settings from the environment only (STYLE §7), so the token reaches them, and the helm test
    # pod's stdlib script, as an env var from the Secret; it never appears in a pod spec.
    ("CKV_K8S_35", r"(Deployment|DaemonSet)\.payments-internal\.[^.]+"),
    ("CKV_K8S_35", r"(Deployment|DaemonSet)\.decoys\.[^.]+"),
    ("CKV_K8S_35", r"Pod\..*-connect"),
}


def _failed(report: Any) -> list[dict[str, Any]]:
    reports = report if isinstance(report, list) else [report]
    failed: list[dict[str, Any]] = []
    for r in reports:
        failed += r.get("results", {}).get("failed_checks", [])
    return failed


def checkov(path: Path) -> tuple[list[dict[str, Any]], int]:
    # checkov comes from PyPI (the test extra): look beside this interpreter first.
    tool = shutil.which("checkov", path=str(Path(sys.executable).parent)) or require_tool("checkov")
    proc = subprocess.run(
        [
            tool,
            "--file",
            str(path),
            "--framework",
            "kubernetes",
            "--skip-check",
            ",".join(sorted(SKIPPED)),
            "--output",
            "json",
            "--quiet",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    passed = sum(
        r.get("summary", {}).get("passed", 0)
        for r in (report if isinstance(report, list) else [report])
    )
    return _failed(report), passed


@pytest.mark.parametrize(
    ("files", "sets"),
    [([], FULL), ([ALL_FEATURES], ()), ([NAMESPACED], FULL)],
    ids=["defaults", "all-features", "enricher-namespaced"],
)
def test_checkov_reports_only_justified_failures(
    helm4: Renderer, tmp_path: Path, files: list[Path], sets: tuple[str, ...]
) -> None:
    out = helm4(files, sets=list(sets))
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(out.text)
    failed, passed = checkov(manifest)
    assert passed > 100, "checkov checked nothing: the manifests were not parsed"
    unjustified = [
        f"{f['check_id']} {f['resource']}: {f['check_name']}"
        for f in failed
        if not any(f["check_id"] == c and re.fullmatch(r, f["resource"]) for c, r in JUSTIFIED)
    ]
    assert not unjustified, "\n".join(unjustified)


def test_digest_pins_every_image(helm4: Renderer) -> None:
    digest = "sha256:" + "ab" * 32
    sets = [f"decoys.{d}.image.digest={digest}" for d in ("portscan", "web", "mysql", "ssh")]
    sets.append(f"enricher.image.digest={digest}")
    out = helm4(sets=sets)
    for w in out.workloads():
        image = w["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.endswith("@" + digest), image
