"""Server names on the HTTPS port, against Debian's real nginx: a default server with
``ssl_reject_handshake on`` in front of the dashboard's server (``nginx/nginx-sni.conf``, the
certificate the decoy issued into its state directory), and nginx's stock configuration for the
names it refuses whatever the settings. Every answer to a raw ClientHello must be the same bytes;
a known name must get the same certificate chain from both."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.conftest import Captured, free_port, require_tool
from tests.integration.test_web_nginx import decoy, nginx  # noqa: F401 - fixtures
from tests.integration.test_web_nginx_tls import _ext, _key_share, _raw, _shape, _u16, _vec8, _vec16
from tests.integration.test_web_nginx_tls import hello as _hello

from honeypods.core.guard import Limits
from honeypods.web import server as web
from honeypods.web.config import WebConfig

pytestmark = pytest.mark.integration

CONF = Path(__file__).parent / "nginx" / "nginx-sni.conf"
NAMES = ("dashboard-internal-service", "dashboard-internal-service.ops.svc", "dashboard.internal")


def hello(sni: bytes | None, *, tls13: bool = True) -> bytes:
    """A ClientHello naming ``sni`` (None: no server_name extension at all)."""
    parts = [] if sni is None else [_ext(0, _vec16(b"\x00" + _vec16(sni)))]
    parts += [
        _ext(10, _vec16(_u16(0x001D) + _u16(0x0017))),
        _ext(11, _vec8(b"\x00")),
        _ext(13, _vec16(_u16(0x0804) + _u16(0x0403) + _u16(0x0401))),
    ]
    if tls13:
        parts += [_ext(43, _vec8(_u16(0x0304) + _u16(0x0303))), _key_share()]
    return _hello(
        ciphers=(0x1301, 0x1302, 0xC02B, 0xC02C, 0xC02F, 0xC030), extensions=b"".join(parts)
    )


# (name, ClientHello): what a scanner guessing names sends, for both TLS 1.3 and 1.2 hellos.
SNI_CASES: list[tuple[str, bytes]] = [
    (f"{name}{'' if tls13 else '-tls12'}", hello(sni, tls13=tls13))
    for tls13 in (True, False)
    for name, sni in [
        ("unknown", b"admin.internal"),
        ("no-sni", None),
        ("ip-literal", b"127.0.0.1"),
        ("known", b"dashboard.internal"),
        ("known-upper", b"Dashboard.INTERNAL"),
        ("known-trailing-dot", b"dashboard.internal."),
        ("known-with-port", b"dashboard.internal:443"),
        ("known-short", b"dashboard-internal-service"),
        ("suffix-of-known", b"internal"),
        ("double-dot", b"dashboard..internal"),
        ("slash", b"dashboard.internal/x"),
        ("space", b"dashboard internal"),
        ("only-dot", b"."),
    ]
]
# No valid host: only the default server's ssl_reject_handshake refuses them.
INVALID_CASES = [
    c for c in SNI_CASES if c[0].split("-tls12")[0] in ("double-dot", "slash", "space", "only-dot")
]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
async def strict_decoy(captured: Captured, state: Path) -> AsyncIterator[int]:
    config = WebConfig(
        port=free_port(), tls_port=free_port(), tls_reject_handshake=True, tls_server_names=NAMES
    )
    running = await web.start(config, limits=Limits(), host="127.0.0.1", state_dir=str(state))
    try:
        yield config.tls_port
    finally:
        await running.stop()


@pytest.fixture
def strict_nginx(tmp_path: Path, state: Path, strict_decoy: int) -> Iterator[int]:
    binary = require_tool("nginx")
    root = tmp_path / "nginx"
    for sub in ("html", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / sub).mkdir(parents=True)
    # The decoy issued its certificate at start: nginx serves the very same files.
    for name in ("tls.crt", "tls.key"):
        (root / name).write_bytes((state / "web" / name).read_bytes())
    port = free_port()
    text = CONF.read_text()
    for key, value in {
        "{dir}": str(root),
        "{tls_port}": str(port),
        "{names}": " ".join(NAMES),
    }.items():
        text = text.replace(key, value)
    (root / "nginx.conf").write_text(text)
    err = (tmp_path / "nginx.err").open("wb")
    proc = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-g",
         f"daemon off; pid {root}/nginx.pid; error_log stderr;"],
        stderr=err,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {(tmp_path / 'nginx.err').read_text()}")
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        err.close()


async def _differences(
    nginx_port: int, decoy_port: int, cases: list[tuple[str, bytes]]
) -> list[str]:
    failures = []
    for name, data in cases:
        want, got = await asyncio.gather(
            asyncio.to_thread(_raw, nginx_port, data), asyncio.to_thread(_raw, decoy_port, data)
        )
        if _shape(want) != _shape(got):
            failures.append(f"{name}:\n  nginx {_shape(want)!r}\n  decoy {_shape(got)!r}")
    return failures


UNRECOGNIZED_NAME = b"\x15\x03\x03\x00\x02\x02\x70"  # fatal alert 112


async def test_same_answer_as_nginx_with_ssl_reject_handshake(
    strict_nginx: int, strict_decoy: int, captured: Captured
) -> None:
    failures = await _differences(strict_nginx, strict_decoy, SNI_CASES)
    assert not failures, "\n".join(failures)
    # What nginx sends for an unknown name and for none: a fatal unrecognized_name, then close.
    assert (
        await asyncio.to_thread(_raw, strict_nginx, SNI_CASES[0][1]) == UNRECOGNIZED_NAME + b"<EOF>"
    )
    assert (
        await asyncio.to_thread(_raw, strict_nginx, SNI_CASES[1][1]) == UNRECOGNIZED_NAME + b"<EOF>"
    )
    # Each refusal is one web.tls event naming what was asked for: a scanner's guesses.
    refused = [e for e in captured.of("web.tls") if e.get("web.sni_rejected")]
    asked = {e.get("tls.client.server_name") for e in refused}
    assert {"admin.internal", None, "internal", "127.0.0.1", "dashboard..internal"} <= asked
    assert all(not e["tls.established"] for e in refused)
    assert not captured.of("honeypods.error")


def _chain(port: int, name: str, ca: Path) -> list[str]:
    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=name),
    ):
        pass  # a verifying client: the chain ends at the internal CA, the name is in the SANs
    out = subprocess.run(
        [require_tool("openssl"), "s_client", "-connect", f"127.0.0.1:{port}",
         "-servername", name, "-showcerts"],
        input=b"", capture_output=True, timeout=30, check=True,
    ).stdout.decode()  # fmt: skip
    return re.findall(r"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----", out)


@pytest.mark.parametrize("name", NAMES)
async def test_known_name_gets_the_certificate(
    strict_nginx: int, strict_decoy: int, state: Path, name: str
) -> None:
    ca = state / "web" / "ca.crt"
    want = await asyncio.to_thread(_chain, strict_nginx, name, ca)
    got = await asyncio.to_thread(_chain, strict_decoy, name, ca)
    assert got == want
    assert len(got) == 2


async def test_every_name_served_without_reject_handshake(
    nginx: tuple[int, int],  # noqa: F811
    decoy: tuple[int, int],  # noqa: F811
    captured: Captured,
) -> None:
    # nginx's only server (no ssl_reject_handshake) serves any name, valid host or not, and none.
    failures = await _differences(nginx[1], decoy[1], INVALID_CASES + SNI_CASES[:2])
    assert not failures, "\n".join(failures)
    assert not any(e.get("web.sni_rejected") for e in captured.of("web.tls"))


def _leaf(port: int) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="dashboard.internal") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


async def test_certificate_stable_across_restart(tmp_path: Path, captured: Captured) -> None:
    seen = []
    for state in ("a", "a", "b"):
        config = WebConfig(port=free_port(), tls_port=free_port())
        running = await web.start(
            config, limits=Limits(), host="127.0.0.1", state_dir=str(tmp_path / state)
        )
        try:
            seen.append(await asyncio.to_thread(_leaf, config.tls_port))
        finally:
            await running.stop()
    assert seen[0] == seen[1], "a restart with the same state directory serves another certificate"
    assert seen[2] != seen[0], "another install (state directory) has its own"
