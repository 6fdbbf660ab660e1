"""Every HONEYPODS_SSH_* setting, set through the real CLI (``python -m honeypods run ssh --set``).

Each setting is shown to have its documented effect on the wire or in the events, or to be
refused at start with exit status 2 and a message naming it. Settings are batched: one decoy
process for the persona and the authentication policy, one for the connection limits, and one
short-lived process per refused value. The clients are asyncssh, OpenSSH's ssh and raw sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import pytest
from tests.conftest import DecoyProcess, free_port, refused_at_start, require_tool
from tests.integration.paramiko_gex import note_groups

pytestmark = pytest.mark.integration

Start = Callable[..., DecoyProcess]
VERSION = "SSH-2.0-OpenSSH_8.4p1 Raspbian-5+deb11u3"


def run_ssh(decoy_process: Start, settings: dict[str, str]) -> DecoyProcess:
    """The SSH decoy with ``settings`` given as ``--set NAME=VALUE`` flags, once listening."""
    args = ["ssh"]
    for name, value in settings.items():
        args += ["--set", f"{name}={value}"]
    proc = decoy_process(args, wait=False)
    proc.expected = 1
    proc.wait_ready(60)
    return proc


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), 10, (source, 0))


def read_all(sock: socket.socket) -> bytes:
    out = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            out += chunk
    return out


def events_from(
    proc: DecoyProcess, action: str, port: int, count: int = 1, timeout: float = 15
) -> list[dict[str, Any]]:
    """The ``action`` events of the connection from local ``port``, once there are ``count``."""

    def match(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in docs if d["event"]["action"] == action and d["source"]["port"] == port]

    return match(proc.wait_for(lambda docs: len(match(docs)) >= count, timeout))


def closed(proc: DecoyProcess, port: int) -> dict[str, Any]:
    """The session.closed event of the connection from local ``port``."""
    return events_from(proc, "session.closed", port)[0]


async def login(port: int, **kwargs: Any) -> tuple[asyncssh.SSHClientConnection, int]:
    """An asyncssh client connection, and its local port."""
    conn = await asyncssh.connect(
        "127.0.0.1", port, known_hosts=None, client_keys=None, agent_path=None,
        connect_timeout=20, **kwargs,
    )  # fmt: skip
    return conn, int(conn.get_extra_info("sockname")[1])


async def refused_port(port: int, **kwargs: Any) -> int:
    """Try a login that must be refused; the local port it came from."""
    ports: list[int] = []

    class Client(asyncssh.SSHClient):
        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            ports.append(int(conn.get_extra_info("sockname")[1]))

    with pytest.raises(asyncssh.PermissionDenied):
        await login(port, client_factory=Client, **kwargs)
    return ports[0]


def test_persona_and_authentication_policy(decoy_process: Start, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key.write_private_key(str(keys / "ssh_host_ed25519_key"))
    port = free_port()
    proc = run_ssh(
        decoy_process,
        {
            "HONEYPODS_SSH_PORT": str(port),
            "HONEYPODS_SSH_SERVER_VERSION": VERSION,
            "HONEYPODS_SSH_HOST_KEY_DIR": str(keys),
            "HONEYPODS_SSH_ACCEPT": "root:toor,pi:raspberry",
            "HONEYPODS_SSH_KEYBOARD_INTERACTIVE": "true",
            "HONEYPODS_SSH_MAX_AUTH_TRIES": "2",
            "HONEYPODS_SSH_PASSWORD_FAIL_DELAY": "0.6",
            # Long enough for two refused passwords with PAM's delay on a loaded machine.
            "HONEYPODS_SSH_LOGIN_GRACE_TIME": "4",
            "HONEYPODS_SSH_MAX_STARTUPS": "3:100:10",
        },
    )
    # HONEYPODS_SSH_PORT: listened on, and nothing else.
    start = next(e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "ssh")
    assert start["honeypod"]["addresses"] == [f"127.0.0.1:{port}"]
    # HONEYPODS_SSH_HOST_KEY_DIR: the key found there is served (_authentication); the missing
    # ones are derived from the runner's seed, so nothing warns of random keys.
    assert not [e for e in proc.of("honeypods.warning") if "host keys" in e["error"]["message"]]

    # HONEYPODS_SSH_MAX_STARTUPS=3:100:10: the fourth unauthenticated connection is closed
    # before the banner (rate 100 %: every one past start).
    held = [connect(port) for _ in range(3)]
    for sock in held:
        # HONEYPODS_SSH_SERVER_VERSION: the identification string, sent first.
        assert sock.recv(100) == VERSION.encode() + b"\r\n"
    with connect(port) as fourth:
        assert read_all(fourth) == b""
        assert closed(proc, fourth.getsockname()[1])["event"]["reason"] == "over_capacity"
    for sock in held:
        local = sock.getsockname()[1]
        sock.close()
        closed(proc, local)

    # HONEYPODS_SSH_LOGIN_GRACE_TIME=4: a client that never authenticates is cut after 4 s,
    # without a message.
    with connect(port) as slow:
        began = time.monotonic()
        assert read_all(slow) == VERSION.encode() + b"\r\n"
        assert 3.5 <= time.monotonic() - began < 10
        assert closed(proc, slow.getsockname()[1])["event"]["reason"] == "deadline"

    asyncio.run(_authentication(proc, port, host_key))

    # HONEYPODS_SSH_KEYBOARD_INTERACTIVE=true: offered after publickey and password, as sshd does.
    ssh = require_tool("ssh")
    result = subprocess.run(
        [ssh, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no", "-o", "ConnectTimeout=20",
         "-p", str(port), "nobody@127.0.0.1", "true"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert b"Permission denied (publickey,password,keyboard-interactive)." in result.stderr


async def _authentication(proc: DecoyProcess, port: int, host_key: asyncssh.SSHKey) -> None:
    # HONEYPODS_SSH_ACCEPT: each listed user:password gets in, and is recorded as a success.
    conn, local = await login(
        port, username="root", password="toor", server_host_key_algs=["ssh-ed25519"]
    )
    async with conn:
        assert conn.get_extra_info("server_version") == VERSION
        served = conn.get_server_host_key()
        assert served is not None
        assert served.public_data == host_key.public_data
        result = await conn.run("id", encoding=None)
        assert (result.exit_status, result.stderr) == (127, b"sh: 1: id: not found\n")
    conn, pi_port = await login(port, username="pi", password="raspberry")
    conn.close()
    await conn.wait_closed()
    for local_port, user in ((local, "root"), (pi_port, "pi")):
        (event,) = events_from(proc, "ssh.login", local_port)
        assert (event["user"]["name"], event["event"]["outcome"]) == (user, "success")

    # HONEYPODS_SSH_PASSWORD_FAIL_DELAY=0.6: a wrong password is answered 0.6 s +-25 % later.
    began = time.monotonic()
    wrong = await refused_port(port, username="root", password="root", preferred_auth="password")
    assert 0.45 <= time.monotonic() - began < 5
    (event,) = events_from(proc, "ssh.login", wrong)
    assert (event["ssh"]["auth_method"], event["event"]["outcome"]) == ("password", "failure")

    # HONEYPODS_SSH_KEYBOARD_INTERACTIVE=true: PAM's "Password: " prompt, answered and recorded.
    kbd = await refused_port(
        port, username="pi", password="letmein", preferred_auth="keyboard-interactive"
    )
    (event,) = events_from(proc, "ssh.login", kbd)
    assert event["ssh"]["auth_method"] == "keyboard-interactive"
    assert event["ssh"]["password"] == "letmein"

    # HONEYPODS_SSH_MAX_AUTH_TRIES=2: the second failure is a DISCONNECT, not another prompt.
    ports: list[int] = []

    class Stubborn(asyncssh.SSHClient):
        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            ports.append(int(conn.get_extra_info("sockname")[1]))

        def password_auth_requested(self) -> str | None:
            return "guess"

    with pytest.raises(asyncssh.DisconnectError) as info:
        await login(port, username="oracle", client_factory=Stubborn, preferred_auth="password")
    assert (info.value.code, info.value.reason) == (2, "Too many authentication failures")
    closed(proc, ports[0])
    assert len(events_from(proc, "ssh.login", ports[0])) == 2


def test_connection_limits(decoy_process: Start) -> None:
    port = free_port()
    proc = run_ssh(
        decoy_process,
        {
            "HONEYPODS_SSH_PORT": str(port),
            # HONEYPODS_SSH_PERSONA: its banner, whatever the seed.
            "HONEYPODS_SSH_PERSONA": "openssh-8.9p1-ubuntu22.04",
            "HONEYPODS_SSH_MAX_PER_SOURCE": "2",
            "HONEYPODS_SSH_MAX_CONNECTIONS": "3",
            "HONEYPODS_SSH_IDLE_TIMEOUT": "2",
            "HONEYPODS_SSH_DEADLINE": "3",
            "HONEYPODS_SSH_MAX_BYTES_IN": "4096",
            # Banner (40 bytes) and KEXINIT (about 1 KiB) do not fit.
            "HONEYPODS_SSH_MAX_BYTES_OUT": "1000",
        },
    )
    # HONEYPODS_SSH_MAX_PER_SOURCE=2: a third connection from one address is refused.
    held = [connect(port), connect(port)]
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "session.connect" for d in docs) >= 2)
    with connect(port) as third:
        assert closed(proc, third.getsockname()[1])["event"]["reason"] == "over_capacity"
    # HONEYPODS_SSH_MAX_CONNECTIONS=3: a fourth connection is refused, whatever its source.
    held.append(connect(port, "127.0.0.2"))
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "session.connect" for d in docs) >= 4)
    with connect(port, "127.0.0.3") as fourth:
        assert closed(proc, fourth.getsockname()[1])["event"]["reason"] == "over_capacity"
    for sock in held:
        local = sock.getsockname()[1]
        sock.close()
        closed(proc, local)

    # HONEYPODS_SSH_IDLE_TIMEOUT=2: a silent client is dropped long before LoginGraceTime.
    with connect(port) as idle:
        began = time.monotonic()
        assert read_all(idle).startswith(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-")
        assert 1.5 <= time.monotonic() - began < 6
        assert closed(proc, idle.getsockname()[1])["event"]["reason"] == "idle_timeout"
    # HONEYPODS_SSH_DEADLINE=3: a client that keeps sending still ends after 3 s.
    with connect(port) as busy:
        began = time.monotonic()
        busy.settimeout(0.3)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            busy.sendall(b"SSH-2.0-")
            # One byte of identification line every 0.3 s: never idle, never complete.
            while time.monotonic() - began < 10:
                busy.sendall(b"a")
                with contextlib.suppress(TimeoutError):
                    if busy.recv(100) == b"":
                        break
        assert closed(proc, busy.getsockname()[1])["event"]["reason"] == "deadline"
        assert 2.5 <= time.monotonic() - began < 8
    # HONEYPODS_SSH_MAX_BYTES_IN=4096: a longer identification line ends the connection.
    with connect(port) as big:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            big.sendall(b"SSH-2.0-" + b"a" * 5000)
        event = closed(proc, big.getsockname()[1])
        assert event["event"]["reason"] == "limit"
        assert event["source"]["bytes"] > 4096
    # HONEYPODS_SSH_MAX_BYTES_OUT=1000: the KEXINIT would pass it, so it is never sent.
    with connect(port) as greedy:
        greedy.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
        assert read_all(greedy) == b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n"
        event = closed(proc, greedy.getsockname()[1])
        assert event["event"]["reason"] == "limit"


def test_moduli_file_gives_the_group_exchange_its_groups(
    decoy_process: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One 3072-bit group only: a client preferring 2048 bits gets it, as sshd picks the smallest
    # size not below the request from what its moduli file holds.
    shipped = resources.files("honeypods.ssh").joinpath("moduli").read_text().splitlines()
    line = next(entry for entry in shipped if entry.split()[4:5] == ["3071"])
    (tmp_path / "moduli").write_text(line + "\n")
    port = free_port()
    proc = run_ssh(
        decoy_process,
        {"HONEYPODS_SSH_PORT": str(port), "HONEYPODS_SSH_MODULI_FILE": str(tmp_path / "moduli")},
    )
    gex = paramiko.kex_gex.KexGexSHA256
    groups = note_groups(monkeypatch)
    monkeypatch.setattr(gex, "preferred_bits", 2048)
    others = [k for k in paramiko.Transport._preferred_kex if k != gex.name]
    transport = paramiko.Transport(("127.0.0.1", port), disabled_algorithms={"kex": others})
    try:
        transport.start_client(timeout=30)
    finally:
        transport.close()
    assert groups == [int(line.split()[6], 16)]
    proc.wait_for(lambda docs: any(d["event"]["action"] == "ssh.kex" for d in docs))


BAD_VALUES = [
    ({"HONEYPODS_SSH_PORT": "70000"}, "HONEYPODS_SSH_PORT=70000: a port is 0-65535"),
    ({"HONEYPODS_SSH_SERVER_VERSION": "OpenSSH_8.4p1"}, "HONEYPODS_SSH_SERVER_VERSION: SSH-2.0-"),
    ({"HONEYPODS_SSH_SERVER_VERSION": "SSH-2.0-OpenSSH_8.4p1 Débian"}, "must be ASCII"),
    ({"HONEYPODS_SSH_HOST_KEY_DIR": "{dir}/none"}, "HONEYPODS_SSH_HOST_KEY_DIR: no directory"),
    ({"HONEYPODS_SSH_MODULI_FILE": "{dir}/moduli"}, "HONEYPODS_SSH_MODULI_FILE: no file"),
    ({"HONEYPODS_SSH_HOST_KEY_DIR": "{dir}"}, "ssh_host_rsa_key is not a PEM/OpenSSH key"),
    ({"HONEYPODS_SSH_ACCEPT": "root"}, "HONEYPODS_SSH_ACCEPT: 'root' is not user:password"),
    ({"HONEYPODS_SSH_MAX_AUTH_TRIES": "0"}, "HONEYPODS_SSH_MAX_AUTH_TRIES must be at least 1"),
    ({"HONEYPODS_SSH_LOGIN_GRACE_TIME": "0"}, "HONEYPODS_SSH_LOGIN_GRACE_TIME > 0"),
    ({"HONEYPODS_SSH_PASSWORD_FAIL_DELAY": "-1"}, "PASSWORD_FAIL_DELAY >= 0"),
    ({"HONEYPODS_SSH_MAX_STARTUPS": "10:30"}, "expected start:rate:full or a number"),
    ({"HONEYPODS_SSH_MAX_STARTUPS": "20:30:10"}, "need 0 < start <= full and 0 < rate <= 100"),
    ({"HONEYPODS_SSH_KEYBOARD_INTERACTIVE": "maybe"}, "expected true or false"),
    ({"HONEYPODS_SSH_MAX_CONNECTIONS": "0"}, "HONEYPODS_SSH_MAX_CONNECTIONS must be positive"),
    ({"HONEYPODS_SSH_MAX_PER_SOURCE": "many"}, "HONEYPODS_SSH_MAX_PER_SOURCE='many'"),
    ({"HONEYPODS_SSH_IDLE_TIMEOUT": "-5"}, "HONEYPODS_SSH_IDLE_TIMEOUT must be positive"),
    ({"HONEYPODS_SSH_DEADLINE": "0"}, "HONEYPODS_SSH_DEADLINE must be positive"),
    ({"HONEYPODS_SSH_MAX_BYTES_IN": "0"}, "HONEYPODS_SSH_MAX_BYTES_IN must be positive"),
    ({"HONEYPODS_SSH_MAX_BYTES_OUT": "1e6"}, "HONEYPODS_SSH_MAX_BYTES_OUT='1e6'"),
]


@pytest.mark.parametrize(
    ("settings", "message"),
    BAD_VALUES,
    ids=[f"{next(iter(s))}={next(iter(s.values()))}" for s, _ in BAD_VALUES],
)
def test_bad_values_are_refused_at_start(
    decoy_process: Start, tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    (tmp_path / "ssh_host_rsa_key").write_text("not a key\n")
    values = {name: value.replace("{dir}", str(tmp_path)) for name, value in settings.items()}
    refused_at_start(decoy_process, "ssh", values, message)
