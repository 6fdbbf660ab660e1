"""Every HONEYPODS_<DECOY>_PROXY_* setting, set through the real CLI (``python -m honeypods run
<decoy> --set NAME=VALUE``), has its documented effect on each decoy that reads it.

``test_proxy_protocol.py`` drives the decoys through a real HAProxy; here the point is the
settings: PROTOCOL turns the wait for a header on, TRUSTED says from whom, TIMEOUT how long.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from tests.conftest import DecoyProcess, free_port

pytestmark = pytest.mark.integration

LB = "127.0.0.2"
PORTS = {"web": "HONEYPODS_WEB_PORT", "mysql": "HONEYPODS_MYSQL_PORT", "ssh": "HONEYPODS_SSH_PORT"}
# Each decoy's own settings, spelt out so the settings test finds every name.
SETTINGS = {
    "web": {
        "HONEYPODS_WEB_PROXY_PROTOCOL": "true",
        "HONEYPODS_WEB_PROXY_TRUSTED": f"{LB}/32",
        "HONEYPODS_WEB_PROXY_TIMEOUT": "0.5",
    },
    "mysql": {
        "HONEYPODS_MYSQL_PROXY_PROTOCOL": "true",
        "HONEYPODS_MYSQL_PROXY_TRUSTED": f"{LB}/32",
        "HONEYPODS_MYSQL_PROXY_TIMEOUT": "0.5",
    },
    "ssh": {
        "HONEYPODS_SSH_PROXY_PROTOCOL": "true",
        "HONEYPODS_SSH_PROXY_TRUSTED": f"{LB}/32",
        "HONEYPODS_SSH_PROXY_TIMEOUT": "0.5",
    },
}


def _silent(port: int, source: str) -> bytes:
    """Connect from ``source``, send nothing, return what the decoy sent before closing."""
    with socket.socket() as sock:
        sock.settimeout(30)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        if source != LB:
            return sock.recv(4096)  # a speaking decoy speaks at once; web waits for a request
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        return data


@pytest.mark.parametrize("decoy", sorted(SETTINGS))
def test_proxy_settings_take_effect(decoy_process: Callable[..., DecoyProcess], decoy: str) -> None:
    port = free_port()
    args = [decoy, "--set", f"{PORTS[decoy]}={port}"]
    if decoy == "web":
        args += ["--set", f"HONEYPODS_WEB_TLS_PORT={free_port()}"]
    for name, value in SETTINGS[decoy].items():
        args += ["--set", f"{name}={value}"]
    proc = decoy_process(args, wait=False)
    proc.expected = 1
    proc.wait_ready()
    # TRUSTED and PROTOCOL: the balancer's connection waits for a header and gets not one byte
    # (no greeting, no banner); TIMEOUT: it is closed after half a second, logged as such.
    assert _silent(port, LB) == b""
    docs = proc.wait_for(lambda d: any(e["event"]["action"] == "proxy.invalid" for e in d))
    (invalid,) = [d for d in docs if d["event"]["action"] == "proxy.invalid"]
    assert invalid["honeypod"]["proxy"]["problem"] == "timeout"
    assert invalid["source"]["ip"] == LB
    # Anyone else is not trusted: served at once, as without the setting.
    if decoy != "web":
        assert _silent(port, "127.0.0.1")
