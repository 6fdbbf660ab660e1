"""Keys survive upgrades: the chart reads its Secrets back through `lookup`.

A real cluster is not available here, so Helm talks to a minimal read-only Kubernetes API on
loopback that serves discovery and the stored Secrets. Helm's own client does the discovery and the
GET; the tests then check that the rendered Secret carries the stored keys and generates only the
missing ones.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from tests.chart.conftest import CHART, NAMESPACE, RELEASE, run_helm

from honeypods.core.honeytokens import values

SECRET_NAME = f"{RELEASE}-keys"
SECRETS = f"/api/v1/namespaces/{NAMESPACE}/secrets/"
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    # group/version -> (plural, kind, namespaced): what the chart renders, for Helm's REST mapper.
    "v1": [
        ("secrets", "Secret", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("pods", "Pod", True),
        ("namespaces", "Namespace", False),
    ],
    "apps/v1": [("deployments", "Deployment", True), ("daemonsets", "DaemonSet", True)],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy", True)],
    "rbac.authorization.k8s.io/v1": [
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
    ],
}


class FakeApi(BaseHTTPRequestHandler):
    # Secret name -> the stored object, in NAMESPACE.
    secrets: ClassVar[dict[str, dict[str, Any]]] = {}
    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        self.requests.append(self.path)

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        groups = [gv for gv in RESOURCES if "/" in gv]
        if path == "/version":
            self._send(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"})
        elif path == "/api":
            self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
        elif path == "/apis":
            self._send(
                200,
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": gv.split("/")[0],
                            "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                            "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                        }
                        for gv in groups
                    ],
                },
            )
        elif path == "/api/v1" or path.removeprefix("/apis/") in groups:
            gv = "v1" if path == "/api/v1" else path.removeprefix("/apis/")
            self._send(
                200,
                {
                    "kind": "APIResourceList",
                    "groupVersion": gv,
                    "resources": [
                        {"name": n, "kind": k, "namespaced": ns, "verbs": ["get", "list"]}
                        for n, k, ns in RESOURCES[gv]
                    ],
                },
            )
        elif path.removeprefix(SECRETS) in self.secrets:
            self._send(200, self.secrets[path.removeprefix(SECRETS)])
        else:
            self._send(
                404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
            )


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig pointing at the fake API; the stored Secret is set per test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
                ],
                "users": [{"name": "u", "user": {"token": "test"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    config.chmod(0o600)
    FakeApi.requests.clear()
    try:
        yield config
    finally:
        server.shutdown()
        server.server_close()
        FakeApi.secrets = {}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def stored_secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    """A Secret as the first install left it, with Helm's ownership marks."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {
                "meta.helm.sh/release-name": RELEASE,
                "meta.helm.sh/release-namespace": NAMESPACE,
            },
        },
        "type": "Opaque",
        "data": data,
    }


def render_against(helm: str, kubeconfig: Path, template: str, *sets: str) -> dict[str, Any]:
    """One template as an upgrade renders it: Helm reads the fake cluster for `lookup`."""
    args = [f"--set={s}" for s in sets]
    proc = run_helm(
        helm,
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kubeconfig",
        str(kubeconfig),
        "--dry-run=server",
        "--disable-openapi-validation",
        *args,
        "--show-only",
        template,
    )
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)  # type: ignore[no-any-return]


def test_upgrade_keeps_stored_keys_and_fills_in_missing_ones(helm: str, api: Path) -> None:
    stored = {
        "ssh_host_ed25519_key": _b64("stored ed25519 key"),
        "tls.crt": _b64("stored certificate"),
        "tls.key": _b64("stored certificate key"),
    }
    FakeApi.secrets = {SECRET_NAME: stored_secret(SECRET_NAME, stored)}
    data = render_against(helm, api, "templates/keys-secret.yaml")["data"]
    assert any(SECRET_NAME in r for r in FakeApi.requests), "Helm never looked the Secret up"
    for key, value in stored.items():
        assert data[key] == value, key
    # Keys the stored Secret lacked (a decoy enabled later) are generated, not left empty.
    for key in ("ssh_host_ecdsa_key", "ssh_host_rsa_key"):
        assert base64.b64decode(data[key]).startswith(b"-----BEGIN "), key


def test_upgrade_keeps_the_enricher_token(helm: str, api: Path) -> None:
    """A new token on upgrade would lock out every decoy still running with the old one."""
    name = f"{RELEASE}-enricher-token"
    stored = _b64("stored-token-0123456789")
    FakeApi.secrets = {name: stored_secret(name, {"token": stored})}
    secret = render_against(
        helm, api, "templates/enricher-token-secret.yaml", "enricher.authToken.enabled=true"
    )
    assert any(name in r for r in FakeApi.requests), "Helm never looked the Secret up"
    assert secret["metadata"]["name"] == name
    assert secret["data"] == {"token": stored}


def test_first_install_generates_a_token(helm: str, api: Path) -> None:
    tokens = [
        base64.b64decode(
            render_against(
                helm, api, "templates/enricher-token-secret.yaml", "enricher.authToken.enabled=true"
            )["data"]["token"]
        ).decode()
        for _ in range(2)
    ]
    assert tokens[0] != tokens[1], "nothing stored: each first install draws its own"
    for token in tokens:
        # What HONEYPODS_ENRICHER_TOKEN and HONEYPODS_WEBHOOK_TOKEN accept: printable, no spaces.
        assert len(token) == 48
        assert token.isascii()
        assert token.isalnum()


# -- honeytokens -------------------------------------------------------------------------------------

HONEYTOKEN_SEED = "Q7w2Er5Ty8Ui1Op4As6Df9Gh3Jk0LzXc"


def _render_against(helm: str, kubeconfig: Path) -> list[dict[str, Any]]:
    proc = run_helm(
        helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
        "--kubeconfig", str(kubeconfig), "--dry-run=server", "--disable-openapi-validation",
        "--show-only", "templates/honeytokens-secret.yaml",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def test_upgrade_keeps_the_seed_so_the_planted_tokens_stay(helm: str, api: Path) -> None:
    stored = base64.b64encode(HONEYTOKEN_SEED.encode()).decode()
    FakeApi.secrets = {f"{RELEASE}-seed": stored_secret(f"{RELEASE}-seed", {"seed": stored})}
    seed, creds = _render_against(helm, api)
    assert any(f"{RELEASE}-seed" in r for r in FakeApi.requests), "Helm never looked the Secret up"
    assert seed["data"] == {"seed": stored}
    assert creds["stringData"]["BASTION_PASSWORD"] == values(HONEYTOKEN_SEED)["ssh_password"]
    FakeApi.secrets = {}
    first, again = (_render_against(helm, api)[0]["data"]["seed"] for _ in range(2))
    assert first != again, "nothing stored: each first install draws its own"
    assert len(base64.b64decode(first)) == 48
