"""The web decoy's HTTPS in the chart: server names from the Service's DNS names, refused
otherwise; a certificate from a generated internal CA in the keys Secret, kept across upgrades
and renewed by one when a third of its life is left or the names changed."""

from __future__ import annotations

import asyncio
import base64
import datetime
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from tests.chart.conftest import NAMESPACE, Renderer
from tests.chart.test_render import _decoy_env
from tests.chart.test_upgrade import (
    SECRET_NAME,
    FakeApi,
    api,  # noqa: F401 - fixture
    render_against,
    stored_secret,
)
from tests.conftest import free_port

from honeypods.core import settings as config
from honeypods.core.guard import Limits

SVC = "dashboard-internal-service"
KEYS = "templates/keys-secret.yaml"


def _chain(data: dict[str, str]) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(base64.b64decode(data["tls.crt"]))


def _names(domain: str = "cluster.local") -> list[str]:
    return [
        "dashboard.internal",
        "localhost",
        SVC,
        f"{SVC}.{NAMESPACE}",
        f"{SVC}.{NAMESPACE}.svc",
        f"{SVC}.{NAMESPACE}.svc.{domain}",
    ]


@pytest.mark.parametrize("domain", ["cluster.local", "corp.example"])
def test_server_names_and_certificate(render: Renderer, domain: str) -> None:
    out = render(sets=[f"clusterDomain={domain}"])
    web = next(
        w
        for w in out.workloads()
        if w["spec"]["template"]["spec"]["containers"][0]["args"] == ["web"]
    )
    env = {
        e["name"]: e.get("value") for e in web["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["HONEYPODS_WEB_TLS_REJECT_HANDSHAKE"] == "true"
    assert env["HONEYPODS_WEB_TLS_SERVER_NAMES"].split(",") == _names(domain)
    secret = out.one("Secret", SECRET_NAME)
    leaf, ca = _chain(secret["data"])
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == _names(domain)
    # As from ACME: 90 days, ECDSA P-256, from "<Org> Internal CA", served with its issuer.
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == datetime.timedelta(days=90)
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert leaf.issuer.rfc4514_string() == "CN=Corp Internal CA"
    assert ca.subject == leaf.issuer
    leaf.verify_directly_issued_by(ca)
    assert x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ca.crt"])) == ca
    # The pod gets the pair only, never the CA's key.
    volumes = web["spec"]["template"]["spec"]["volumes"]
    items = {i["key"] for v in volumes if "secret" in v for i in v["secret"]["items"]}
    assert items == {"tls.crt", "tls.key"}


def _handshake(port: int, name: str | None, cafile: Path) -> str:
    ctx = ssl.create_default_context(cafile=str(cafile))
    if name is None:
        ctx.check_hostname = False
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname=name),
        ):
            return "ok"
    except ssl.SSLError as exc:
        return str(exc.reason)


async def test_rendered_decoy_refuses_unknown_names(helm4: Renderer, tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    from honeypods.web import server as web

    out = helm4()
    env = _decoy_env(out, tmp_path)["web"]
    env |= {"HONEYPODS_HOST": "127.0.0.1", "HONEYPODS_WEB_PORT": str(free_port())}
    env["HONEYPODS_WEB_TLS_PORT"] = str(free_port())
    loaded = config.load(["web"], env=env)
    cafile = tmp_path / "ca.crt"
    cafile.write_bytes(base64.b64decode(out.one("Secret", SECRET_NAME)["data"]["ca.crt"]))
    cfg = loaded.configs["web"]
    running = await web.start(cfg, limits=Limits(), host="127.0.0.1")
    try:
        got = {
            name: await asyncio.to_thread(_handshake, cfg.tls_port, name, cafile)
            for name in [f"{SVC}.{NAMESPACE}.svc", SVC, "admin.internal", None]
        }
    finally:
        await running.stop()
    assert got == {
        f"{SVC}.{NAMESPACE}.svc": "ok",
        SVC: "ok",
        "admin.internal": "TLSV1_UNRECOGNIZED_NAME",
        None: "TLSV1_UNRECOGNIZED_NAME",
    }


# -- upgrades ---------------------------------------------------------------------------------------


def _first_install(helm: str, kubeconfig: Path) -> dict[str, Any]:
    return render_against(helm, kubeconfig, KEYS)


def _store(secret: dict[str, Any], annotations: dict[str, str]) -> None:
    stored = stored_secret(SECRET_NAME, secret["data"])
    stored["metadata"]["annotations"] |= annotations
    FakeApi.secrets = {SECRET_NAME: stored}


def test_upgrade_keeps_a_fresh_certificate(helm: str, api: Path) -> None:  # noqa: F811
    first = _first_install(helm, api)
    assert set(first["metadata"]["annotations"]) == {"tls/names", "tls/not-after", "tls/not-before"}
    _store(first, first["metadata"]["annotations"])
    again = render_against(helm, api, KEYS)
    for key in ("ca.crt", "ca.key", "tls.crt", "tls.key"):
        assert again["data"][key] == first["data"][key], key
    assert again["metadata"]["annotations"] == first["metadata"]["annotations"]


@pytest.mark.parametrize("why", ["a third left", "names changed"])
def test_upgrade_renews_from_the_same_ca(helm: str, api: Path, why: str) -> None:  # noqa: F811
    first = _first_install(helm, api)
    now = int(time.time())
    marks = dict(first["metadata"]["annotations"])
    if why == "a third left":
        marks |= {"tls/not-before": str(now - 61 * 86400), "tls/not-after": str(now + 29 * 86400)}
    else:
        marks["tls/names"] = "old.internal"
    _store(first, marks)
    again = render_against(helm, api, KEYS)
    assert again["data"]["ca.crt"] == first["data"]["ca.crt"]
    assert again["data"]["ca.key"] == first["data"]["ca.key"]
    assert again["data"]["tls.key"] != first["data"]["tls.key"]
    leaf, ca = _chain(again["data"])
    assert ca == _chain(first["data"])[1]
    leaf.verify_directly_issued_by(ca)
    assert int(again["metadata"]["annotations"]["tls/not-before"]) >= now - 5
    assert again["metadata"]["annotations"]["tls/names"] == ",".join(_names())
