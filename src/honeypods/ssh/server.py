"""SSH lure: asyncssh speaks SSH; this module decides what an OpenSSH 8.4p1 sshd would answer.

Rules this module keeps:

1. Every TCP connection goes through the guard. The guard's inner protocol is ``Gate``, which
   checks the client's identification line as sshd's ``kex_exchange_identification`` does (answering
   garbage with sshd's texts) and then hands the transport to asyncssh's server connection.
2. Nothing the client receives names the library: the identification string, every KEXINIT list,
   the EXT_INFO extensions, USERAUTH_FAILURE method lists and DISCONNECT texts are those of the
   persona (``ssh_persona.py``). asyncssh's own error texts are never sent; where sshd sends a
   DISCONNECT it gets sshd's text, elsewhere the connection just closes, as sshd's ``logdie`` does.
3. Every authentication request that names a method is one ``ssh.login`` event. The default policy
   refuses all of them with sshd's limits: MaxAuthTries, LoginGraceTime, MaxStartups, failure delays.
4. Listed credentials (``HONEYPODS_SSH_ACCEPT``) get in; their exec, shell and subsystem requests
   are recorded as ``ssh.request`` and refused as a minimal shell would. Nothing is ever run.

``LureConnection`` overrides a handful of asyncssh methods that decide bytes on the wire; each
override says why. Everything else is asyncssh's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import logging
import os
import random
import re
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, cast

import asyncssh
from asyncssh.compression import get_compression_algs
from asyncssh.constants import MSG_DISCONNECT, MSG_IGNORE, MSG_USERAUTH_FAILURE
from asyncssh.encryption import get_encryption_algs
from asyncssh.kex import expand_kex_algs, get_kex_algs
from asyncssh.logging import SSHLogger
from asyncssh.mac import get_mac_algs
from asyncssh.packet import Boolean, NameList, PacketDecodeError, SSHPacket, String, UInt32
from asyncssh.public_key import get_public_key_algs

from honeypods.core import events
from honeypods.core.guard import Guard, Limits, Running, Session
from honeypods.ssh import persona as ssh_persona
from honeypods.ssh.config import SshConfig, parse_max_startups

DECOY: Final = "ssh"
RULE: Final = "honeypod.network.ssh"

# sscanf("SSH-%d.%d-%[^\n]") in kex.c: two integers and at least one more character.
_IDENT = re.compile(rb"SSH-\s*([+-]?\d+)\.\s*([+-]?\d+)-(.+)", re.DOTALL)
_EMPTY_IGNORE: Final = (String(b""),)
# Shell lines read per accepted session before the channel is closed, and bytes per line.
_MAX_SHELL_LINES: Final = 200
_MAX_LINE: Final = 4096


class Policy:
    """What the decoy answers, shared by all its connections.

    Args:
        config: the decoy's settings.
        options: asyncssh server options built once at start.
    """

    def __init__(self, config: SshConfig, options: asyncssh.SSHServerConnectionOptions) -> None:
        self.config = config
        self.options = options
        self.accept = frozenset(tuple(c.split(":", 1)) for c in config.accept)
        methods = (
            ssh_persona.AUTH_METHODS_KBDINT
            if config.keyboard_interactive
            else ssh_persona.AUTH_METHODS
        )
        self.methods = NameList([m.encode("ascii") for m in methods])
        self.start, self.rate, self.full = parse_max_startups(config.max_startups)
        self.startups = 0
        self.banner = config.server_version.encode("ascii") + b"\r\n"
        self.timing_secret = secrets.token_bytes(16)

    @functools.cached_property
    def kexinit_template(self) -> tuple[bytes, bytes, int]:
        return _kexinit_template(self.options)

    def kexinit(self) -> tuple[bytes, bytes]:
        """A fresh KEXINIT: its payload, and the cleartext packet carrying it.

        Only the cookie and the padding change from one connection to the next; the lists are
        the options', fixed at start, so the packet is assembled here rather than by asyncssh.
        """
        rest, header, padlen = self.kexinit_template
        noise = os.urandom(16 + padlen)
        payload = b"\x14" + noise[:16] + rest
        return payload, header + payload + noise[16:]

    def drop_startup(self) -> bool:
        """sshd's ``drop_connection``: random early drop between start and full."""
        n = self.startups
        if n < self.start:
            return False
        if n >= self.full or self.rate == 100:
            return True
        p = self.rate + (100 - self.rate) * (n - self.start) // (self.full - self.start)
        return random.randrange(100) < p  # noqa: S311 - load shedding, not cryptography

    def user_delay(self, user: str) -> float:
        """auth2.c ``user_specific_delay``: a stable per-user minimum time for a failure."""
        digest = hashlib.sha512(self.timing_secret + user.encode("utf-8", "replace")).digest()
        return ssh_persona.MIN_FAIL_DELAY + (
            int.from_bytes(digest[:4], "big") / 2**32 * ssh_persona.USER_FAIL_DELAY
        )

    def password_delay(self, user: str) -> float:
        base = self.config.password_fail_delay
        jitter = random.uniform(0.75, 1.25) if base else 0.0  # noqa: S311 - timing noise only
        return self.user_delay(user) + base * jitter


def _kexinit_template(options: asyncssh.SSHServerConnectionOptions) -> tuple[bytes, bytes, int]:
    """What ``SSHConnection._send_kexinit`` and ``send_packet`` would send, cookie and padding aside.

    Returns:
        The payload after the cookie, the packet header (length and padding length), the padding
        length.
    """
    # As asyncssh's server connection derives them from the options (no GSS: gss_host is None).
    host_key_algs = list(options.server_host_keys.keys())
    kex_algs = expand_kex_algs(options.kex_algs, [], bool(host_key_algs)) + [
        m.encode("ascii") for m in ssh_persona.KEX_MARKERS
    ]
    enc = NameList(options.encryption_algs)
    mac = NameList(options.mac_algs)
    cmp = NameList(options.compression_algs)
    langs = NameList([])
    rest = b"".join(
        (
            NameList(kex_algs),
            NameList(host_key_algs or [b"null"]),
            enc,
            enc,
            mac,
            mac,
            cmp,
            cmp,
            langs,
            langs,
            Boolean(False),
            UInt32(0),
        )
    )
    # Cleartext framing (RFC 4253 6): 8-byte blocks over length, padding length and payload,
    # at least 4 bytes of padding.
    payload_len = 1 + 16 + len(rest)
    padlen = -(5 + payload_len) % 8
    if padlen < 4:
        padlen += 8
    return rest, UInt32(1 + payload_len + padlen) + bytes((padlen,)), padlen


class Gate(asyncio.Protocol):
    """The guard's inner protocol until the client's first binary packet arrives.

    It checks the identification line as sshd's ``kex_exchange_identification`` does, answers a
    valid one with the server's KEXINIT, and builds asyncssh's connection only when the client sends
    more: banner grabs, garbage and version-only scans cost no SSH state.

    It also holds what lasts the whole pre-authentication phase: the MaxStartups slot, the
    LoginGraceTime timer and the one ``ssh.disconnect`` record.
    """

    # One per unauthenticated connection, held open by the thousand: no per-instance dict.
    __slots__ = (
        "buf",
        "client_line",
        "client_version",
        "conn",
        "counted",
        "disconnected",
        "grace",
        "kexinit",
        "kexinit_at",
        "policy",
        "session",
        "transport",
    )

    def __init__(self, session: Session, policy: Policy) -> None:
        self.session = session
        self.policy = policy
        self.conn: LureConnection | None = None
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.counted = False
        self.disconnected = False
        self.grace: asyncio.TimerHandle | None = None
        # Set once a valid identification has been answered with KEXINIT.
        self.client_line = b""
        self.client_version = ""
        self.kexinit = b""
        self.kexinit_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        policy = self.policy
        if policy.drop_startup():
            # sshd closes a connection past MaxStartups before sending its banner.
            self.session.close("over_capacity")
            return
        self.counted = True
        policy.startups += 1
        self.grace = asyncio.get_running_loop().call_later(
            policy.config.login_grace_time, self._grace_expired
        )
        self.transport = cast(asyncio.Transport, transport)
        # sshd writes its identification string on accept, before reading anything.
        self.transport.write(policy.banner)

    def note_disconnect(self, reason: str, code: int | None, by: str) -> None:
        if self.disconnected:
            return
        self.disconnected = True
        fields: dict[str, Any] = {
            "ssh.disconnect_reason": events.clip_text(reason),
            "ssh.disconnect_by": by,
        }
        if code is not None:
            fields["ssh.disconnect_code"] = code
        self.session.emit("ssh.disconnect", fields)

    def release(self) -> None:
        """Leave the MaxStartups count and stop the LoginGraceTime clock (auth done, or gone)."""
        if self.counted:
            self.counted = False
            self.policy.startups -= 1
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None

    def _grace_expired(self) -> None:
        # sshd's grace alarm exits without a DISCONNECT.
        self.grace = None
        self.note_disconnect("LoginGraceTime exceeded", None, "server")
        self.session.close("deadline")

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        if self.kexinit:
            self._hand_over(transport, data)
            return
        buf = self.buf + data
        end = buf.find(b"\n", 0, ssh_persona.IDENT_MAX_LEN + 2)
        line = buf if end < 0 else buf[:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        # sshd reads byte by byte: NUL, or CR not followed by LF, ends it at once.
        bad = b"\0" in line or b"\r" in line or len(line) > ssh_persona.IDENT_MAX_LEN
        if end < 0 and not bad:
            self.buf = buf
            return
        self.buf = b""
        version, cut = events.clip(line)
        match = _IDENT.fullmatch(line) if not bad and line.startswith(b"SSH-") else None
        reply = b""
        if match is None:
            reply = ssh_persona.IDENT_INVALID
        else:
            major, minor = int(match[1]), int(match[2])
            if not (major == 2 or (major == 1 and minor == 99)):
                reply = ssh_persona.IDENT_MAJOR_DIFFERS
        fields: dict[str, Any] = {"ssh.client_version": version}
        if cut:
            fields["ssh.client_version_truncated"] = True
        if reply:
            fields["ssh.invalid"] = True
        self.session.emit("ssh.client_version", fields)
        if reply:
            transport.write(reply)
            self.note_disconnect(reply.decode().strip(), None, "server")
            self.session.close("protocol_error")
            return
        assert match is not None  # noqa: S101 - reply is empty only for a match
        software = match[3].decode("utf-8", "replace")
        if software.startswith(ssh_persona.PROBE_PREFIX) or ssh_persona.SCANNER_MARK in software:
            self.note_disconnect("probe or scanner identification", None, "server")
            self.session.close("policy")
            return
        # sshd sends its KEXINIT as soon as the identification is read (kex_setup).
        self.client_line = line
        self.client_version = version
        self.kexinit, packet = self.policy.kexinit()
        self.kexinit_at = time.monotonic()
        transport.write(packet)
        rest = buf[end + 1 :]
        if rest:
            self._hand_over(transport, rest)

    def _hand_over(self, transport: asyncio.Transport, data: bytes) -> None:
        conn = self.conn = LureConnection(self, self.client_version)
        conn.connection_made(transport)
        conn.hp_resume(self.client_line, self.kexinit, self.kexinit_at)
        # From here on asyncssh owns the bytes; the guard feeds it directly.
        transport.set_protocol(conn)
        conn.data_received(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        # Only reached before the hand-over; afterwards the guard talks to the connection.
        self.release()
        if self.kexinit and not self.disconnected:
            # What LureConnection._cleanup records for a close it did not start, and when: asyncssh
            # runs its clean-up one loop turn later, after the guard's session.closed.
            reason = self.session.reason
            if reason not in (None, "eof"):
                asyncio.get_running_loop().call_soon(self.note_disconnect, reason, None, "server")


class _LevelFirstLogger(SSHLogger):
    """asyncssh's logger formats every argument before the level check; most of its records are
    debug or info, which the runner drops, and formatting them was a tenth of a connection's cost.
    """

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            super().log(level, msg, *args, **kwargs)


_LOGGER: Final = _LevelFirstLogger()


class LureConnection(asyncssh.SSHServerConnection):
    """asyncssh's server connection, with what reaches the wire made OpenSSH's."""

    # Client DISCONNECTs are recorded before asyncssh handles them.
    _packet_handlers = dict(asyncssh.SSHServerConnection._packet_handlers)  # noqa: RUF012 - asyncssh's per-class dispatch table

    def __init__(self, gate: Gate, client_version: str) -> None:
        super().__init__(asyncio.get_running_loop(), gate.policy.options)
        self._logger = _LOGGER
        self.hp_gate = gate
        self.hp_session = gate.session
        self.hp_policy = gate.policy
        self.hp_client_version = client_version
        self.hp_user: str | None = None
        self.hp_method = b""
        self.hp_requests = 0
        self.hp_failures = 0
        self.hp_attempts = 0
        self.hp_host_key_alg = b""

    # -- bookkeeping -------------------------------------------------------------------------------

    def _hp_disconnect(self, text: str, reason: str) -> None:
        """Send a DISCONNECT with sshd's text and code, then close."""
        self.hp_gate.note_disconnect(text, ssh_persona.DISC_PROTOCOL_ERROR, "server")
        super()._send_disconnect(ssh_persona.DISC_PROTOCOL_ERROR, text, "")
        self.hp_session.close(reason)
        self._force_close(None)

    def _cleanup(self, exc: Exception | None) -> None:
        gate = self.hp_gate
        gate.release()
        if not gate.disconnected:
            reason = self.hp_session.reason
            if reason not in (None, "eof"):
                gate.note_disconnect(reason, None, "server")
            elif isinstance(exc, asyncssh.ConnectionLost) or exc is None:
                # A plain TCP close: session.closed (reason eof) already says it all.
                gate.disconnected = True
            elif isinstance(exc, asyncssh.DisconnectError):
                # asyncssh's own reason, for the log only: nothing of it was sent.
                gate.note_disconnect(exc.reason, None, "server")
        super()._cleanup(exc)

    def hp_resume(self, client_line: bytes, kexinit: bytes, sent_at: float) -> None:
        """Take over where the gate stopped: identification read, KEXINIT sent.

        This is the state ``_recv_version`` and ``_send_kexinit`` leave. The gate has checked the
        line as sshd does, which allows up to 8192 bytes (asyncssh alone would hang up on one
        longer than RFC 4253's 255, where sshd carries on), and sent the KEXINIT as packet 0.
        """
        self._client_version = client_line
        self.set_extra_info(client_version=self.hp_client_version)
        self._server_kexinit = kexinit
        self._kexinit_sent = True
        self._send_seq = 1
        if self._rekey_seconds:
            self._rekey_time = sent_at + self._rekey_seconds
        self._recv_handler = self._recv_pkthdr

    def _recv_pkthdr(self) -> bool:
        # sshd refuses a packet length below 5 as it does one above 256 KiB ("Packet corrupt");
        # asyncssh checks only the upper bound and would wait for a packet that cannot come.
        done = super()._recv_pkthdr()
        if done and self._pktlen < 5:
            raise asyncssh.ProtocolError(ssh_persona.DISC_PACKET_CORRUPT)
        return done

    def _log_packet(
        self, msg: str, pkttype: int, pktid: int | None, packet: bytes | SSHPacket, note: str
    ) -> None:
        # asyncssh describes every packet (name, size) before its logger drops the debug record.
        if _LOGGER.isEnabledFor(logging.DEBUG):
            super()._log_packet(msg, pkttype, pktid, packet, note)

    async def reload_config(self) -> None:
        # asyncssh re-builds the options on each new user's first request, for per-user (Match)
        # config. The lure has no config file and no reverse lookup, so that would only rebuild,
        # per login, what the policy built once at start.
        return

    def _send_version(self) -> None:
        # The gate wrote this exact identification string at accept.
        version = b"SSH-2.0-" + self._version
        self._server_version = version
        self.set_extra_info(server_version=version.decode("ascii"))

    # -- wire fidelity -----------------------------------------------------------------------------

    def _get_extra_kex_algs(self) -> list[bytes]:
        # asyncssh appends ext-info-s too, which sshd sends only from 9.6.
        return [m.encode("ascii") for m in ssh_persona.KEX_MARKERS]

    def _send_ext_info(self) -> None:
        # sshd 8.4 sends server-sig-algs alone; asyncssh adds global-requests-ok.
        self._extensions_to_send = OrderedDict(((b"server-sig-algs", b",".join(self._sig_algs)),))
        super()._send_ext_info()

    def send_packet(
        self, pkttype: int, *args: bytes, handler: asyncssh.packet.SSHPacketLogger | None = None
    ) -> None:
        # asyncssh puts an empty IGNORE before every encrypted non-kex packet (a CBC countermeasure;
        # no CBC cipher is offered). sshd does not, and the extra packet shows in traffic sizes.
        if pkttype == MSG_IGNORE and args == _EMPTY_IGNORE:
            return
        super().send_packet(pkttype, *args, handler=handler)

    def _send_disconnect(self, code: int, reason: str, lang: str) -> None:
        # asyncssh's error texts name its internals. sshd answers a bad packet length with
        # "Packet corrupt"; for every other error it logs and exits without a DISCONNECT.
        if reason in ("Max packet size exceeded", ssh_persona.DISC_PACKET_CORRUPT):
            self.hp_gate.note_disconnect(
                ssh_persona.DISC_PACKET_CORRUPT, ssh_persona.DISC_PROTOCOL_ERROR, "server"
            )
            super()._send_disconnect(
                ssh_persona.DISC_PROTOCOL_ERROR, ssh_persona.DISC_PACKET_CORRUPT, ""
            )
        else:
            self.hp_gate.note_disconnect(reason, None, "server")
        self.hp_session.close("protocol_error")

    def send_channel_open_failure(self, send_chan: int, code: int, reason: str, lang: str) -> None:
        # serverloop.c answers every refused open with "open failed" (prohibited) and an empty
        # language, except a failed connect, which carries strerror's text.
        if reason != "Connection refused":
            code, reason = asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "open failed"
        super().send_channel_open_failure(send_chan, code, reason, "")

    def choose_server_host_key(self, peer_host_key_algs: Sequence[bytes]) -> bool:
        for alg in peer_host_key_algs:
            if alg in self._server_host_keys:
                self.hp_host_key_alg = alg
                break
        return super().choose_server_host_key(peer_host_key_algs)

    def send_newkeys(self, k: bytes, h: bytes) -> None:
        first = not self._session_id
        kex_alg = self._kex.algorithm if self._kex is not None else b""
        super().send_newkeys(k, h)
        if first:
            self.hp_session.emit("ssh.kex", self._hp_kex_fields(kex_alg))

    def _hp_kex_fields(self, kex_alg: bytes) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "ssh.kex_algorithm": kex_alg.decode("ascii", "replace"),
            "ssh.host_key_algorithm": self.hp_host_key_alg.decode("ascii", "replace"),
            "ssh.cipher": self._enc_alg_cs.decode("ascii", "replace"),
            "ssh.mac": self._mac_alg_cs.decode("ascii", "replace"),
            "ssh.compression": self._cmp_alg_cs.decode("ascii", "replace"),
        }
        algorithms = hassh_algorithms(self._client_kexinit)
        if algorithms is not None:
            fields["ssh.hassh_algorithms"] = events.clip_text(algorithms, events.LONG_TEXT_CAP)
            fields["ssh.hassh"] = hashlib.md5(
                algorithms.encode("utf-8", "backslashreplace"), usedforsecurity=False
            ).hexdigest()
        return fields

    def _hp_process_disconnect(self, pkttype: int, pktid: int, packet: SSHPacket) -> None:
        peek = SSHPacket(packet.get_remaining_payload())
        with contextlib.suppress(PacketDecodeError):
            code = peek.get_uint32()
            reason = peek.get_string()
            self.hp_gate.note_disconnect(events.clip_text(reason), code, "client")
        self._process_disconnect(pkttype, pktid, packet)

    _packet_handlers[MSG_DISCONNECT] = _hp_process_disconnect

    # -- authentication ----------------------------------------------------------------------------

    async def _finish_userauth(self, begin_auth: bool, method: bytes, packet: SSHPacket) -> None:
        user = self._username
        if self.hp_user is None:
            self.hp_user = user
        elif user != self.hp_user:
            text = ssh_persona.DISC_CHANGE_OF_USER.format(
                self.hp_user, "ssh-connection", user, "ssh-connection"
            )
            self._hp_disconnect(text, "policy")
            return
        self.hp_method = method
        self.hp_requests += 1
        if method not in (b"password", b"publickey", b"keyboard-interactive"):
            if method != b"none":
                # hostbased, gssapi-*: off in sshd's defaults; a refused attempt all the same.
                self.hp_login(user, events.clip_text(method, 64), {}, success=False)
            # sshd answers no failure sooner than its per-user minimum (auth2.c), "none" included.
            await asyncio.sleep(self.hp_policy.user_delay(user))
        await super()._finish_userauth(begin_auth, method, packet)

    def send_userauth_failure(self, partial_success: bool) -> None:
        # auth2.c userauth_finish: the first "none" is free; the MaxAuthTries-th failure is
        # answered with a DISCONNECT instead of a failure; methods in sshd's order.
        if not (self.hp_requests == 1 and self.hp_method == b"none"):
            self.hp_failures += 1
        if self.hp_failures >= self.hp_policy.config.max_auth_tries:
            self._hp_disconnect(ssh_persona.DISC_TOO_MANY_FAILURES, "policy")
            return
        self._auth = None
        self.send_packet(MSG_USERAUTH_FAILURE, self.hp_policy.methods, Boolean(partial_success))

    async def send_userauth_success(self) -> None:
        self.hp_gate.release()
        await super().send_userauth_success()

    async def validate_public_key(
        self, username: str, key_data: bytes, msg: bytes, signature: bytes
    ) -> bool:
        # Taken here, not in SSHServer.validate_public_key, so that keys and certificates the
        # library cannot parse are recorded too: the fingerprint is over the blob, as ssh-keygen's.
        algorithm = _key_type(key_data)
        fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(key_data).digest()).decode(
            "ascii"
        ).rstrip("=")
        self.hp_login(
            username,
            "publickey",
            {"ssh.key_type": events.clip_text(algorithm), "ssh.key_fingerprint": fingerprint},
            success=False,
        )
        await asyncio.sleep(self.hp_policy.user_delay(username))
        return False

    def hp_login(self, user: str, method: str, extra: dict[str, Any], *, success: bool) -> None:
        self.hp_attempts += 1
        fields: dict[str, Any] = {
            "user.name": events.clip_text(user),
            "event.outcome": "success" if success else "failure",
            "ssh.auth_method": method,
            "ssh.attempt": self.hp_attempts,
        }
        if self.hp_client_version:
            fields["ssh.client_version"] = self.hp_client_version
        fields.update(extra)
        self.hp_session.emit("ssh.login", fields)


def _key_type(key_data: bytes) -> str:
    # The blob opens with the key type as an SSH string.
    if len(key_data) >= 4:
        (n,) = struct.unpack(">I", key_data[:4])
        if 0 < n <= 64 and len(key_data) >= 4 + n:
            return key_data[4 : 4 + n].decode("ascii", "backslashreplace")
    return ""


def hassh_algorithms(kexinit: bytes) -> str | None:
    """The HASSH input from a client's KEXINIT payload: kex;ciphers;macs;compression (c->s).

    Returns:
        The string, or None when the payload does not parse.
    """
    packet = SSHPacket(kexinit)
    try:
        packet.get_byte()
        packet.get_bytes(16)
        lists = [packet.get_namelist() for _ in range(8)]
    except PacketDecodeError:
        return None
    kex, _hostkey, enc, _enc_sc, mac, _mac_sc, comp, _comp_sc = lists
    return ";".join(
        b",".join(names).decode("ascii", "backslashreplace") for names in (kex, enc, mac, comp)
    )


class Lure(asyncssh.SSHServer):
    """The per-connection policy callbacks asyncssh calls."""

    def __init__(self) -> None:
        self.conn: LureConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = cast(LureConnection, conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        conn = self.conn
        return conn is not None and conn.hp_policy.config.keyboard_interactive

    def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return ("", "", "", [(ssh_persona.KBDINT_PROMPT, False)])

    async def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        password = responses[0] if responses else ""
        return await self._password(username, password, "keyboard-interactive")

    async def validate_password(self, username: str, password: str) -> bool:
        return await self._password(username, password, "password")

    async def change_password(self, username: str, old_password: str, new_password: str) -> bool:
        return await self._password(username, old_password, "password")

    async def _password(self, username: str, password: str, method: str) -> bool:
        conn = self.conn
        if conn is None:
            return False
        policy = conn.hp_policy
        success = (username, password) in policy.accept
        extra = {"ssh.password": events.clip_text(password)}
        conn.hp_login(username, method, extra, success=success)
        if not success:
            await asyncio.sleep(policy.password_delay(username))
        return success

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        # A pivot attempt names its target: worth recording. sshd would connect; nothing here
        # does, and the refusal reads as the target's.
        conn = self.conn
        if conn is not None:
            target = events.clip_text(f"{dest_host}:{dest_port}")
            conn.hp_session.emit(
                "ssh.request", {"ssh.request": "direct-tcpip", "ssh.command": target}
            )
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Connection refused", "")

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        conn = self.conn
        if conn is not None:
            target = events.clip_text(f"{listen_host}:{listen_port}")
            conn.hp_session.emit(
                "ssh.request", {"ssh.request": "tcpip-forward", "ssh.command": target}
            )
        return False

    def session_requested(self) -> asyncssh.SSHServerSession[bytes] | bool:
        conn = self.conn
        if conn is None:
            return False
        return RefusingSession(conn.hp_session)


class RefusingSession(asyncssh.SSHServerSession[bytes]):
    """A session channel after an accepted login: records requests, runs nothing.

    It answers as a shell with no commands would: ``sh: 1: NAME: not found``, status 127.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.command: str | None = None
        self.shell = False
        self.pty = False
        self.line = b""
        self.lines = 0

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def _record(self, request: str, command: str | bytes | None = None) -> None:
        fields: dict[str, Any] = {"ssh.request": request}
        if command is not None:
            text, cut = events.clip(command)
            fields["ssh.command"] = text
            if cut:
                fields["ssh.command_truncated"] = True
        self.session.emit("ssh.request", fields)

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        self.pty = True
        self._record("pty-req", term_type)
        return True

    def shell_requested(self) -> bool:
        self.shell = True
        self._record("shell")
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        self._record("exec", command)
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        self._record("subsystem", subsystem)
        return False

    def session_started(self) -> None:
        chan = self.chan
        if chan is None:
            return
        if self.command is not None:
            chan.write_stderr(_not_found(self.command.encode("utf-8", "surrogateescape")))
            chan.exit(127)
        elif self.shell:
            chan.write(b"$ ")

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        chan = self.chan
        if chan is None or not self.shell:
            return
        if self.pty:
            chan.write(data.replace(b"\r", b"\r\n"))
        self.line += data
        while True:
            cut = min(
                (i for i in (self.line.find(b"\n"), self.line.find(b"\r")) if i >= 0), default=-1
            )
            if cut < 0:
                if len(self.line) > _MAX_LINE:
                    cut = _MAX_LINE
                else:
                    return
            line, self.line = self.line[:cut].strip(), self.line[cut + 1 :]
            if not line:
                chan.write(b"$ ")
                continue
            self.lines += 1
            self._record("input", line)
            if line == b"exit" or self.lines >= _MAX_SHELL_LINES:
                chan.exit(0)
                return
            chan.write(_not_found(line).replace(b"\n", b"\r\n" if self.pty else b"\n") + b"$ ")

    def eof_received(self) -> bool:
        if self.chan is not None:
            self.chan.exit(0)
        return False


def _not_found(command: bytes) -> bytes:
    words = command.split()
    name = words[0][:256] if words else b""
    return b"sh: 1: " + name + b": not found\n"


# -- start-up ---------------------------------------------------------------------------------------


def load_host_keys(directory: str) -> tuple[list[asyncssh.SSHKey], list[str]]:
    """Host keys in the persona's order, read from ``directory`` or generated.

    Returns:
        The keys, and the names of those that had to be generated.
    """
    keys: list[asyncssh.SSHKey] = []
    generated: list[str] = []
    for name, alg, bits in ssh_persona.HOST_KEYS:
        path = Path(directory, name) if directory else None
        if path is not None and path.is_file():
            keys.append(asyncssh.read_private_key(str(path)))
            continue
        generated.append(name)
        if alg == "ssh-rsa":
            keys.append(asyncssh.generate_private_key(alg, key_size=bits))
        else:
            keys.append(asyncssh.generate_private_key(alg))
    return keys, generated


def available(wanted: Sequence[str], supported: Sequence[bytes]) -> list[str]:
    """The persona's algorithms this installation can do, in the persona's order."""
    have = set(supported)
    return [alg for alg in wanted if alg.encode() in have]


def missing_algorithms() -> list[str]:
    """Persona algorithms the SSH library cannot do here (umac needs libnettle, for one)."""
    out = []
    for wanted, supported in (
        (ssh_persona.KEX_ALGS, get_kex_algs()),
        (ssh_persona.CIPHERS, get_encryption_algs()),
        (ssh_persona.MACS, get_mac_algs()),
        (ssh_persona.COMPRESSION, get_compression_algs()),
        (ssh_persona.SERVER_SIG_ALGS, get_public_key_algs()),
    ):
        have = set(supported)
        out += [alg for alg in wanted if alg.encode() not in have]
    return out


async def build_options(
    config: SshConfig, keys: list[asyncssh.SSHKey]
) -> asyncssh.SSHServerConnectionOptions:
    """asyncssh server options with every list set to the persona's."""
    options: asyncssh.SSHServerConnectionOptions = (
        await asyncssh.SSHServerConnectionOptions.construct(
            server_factory=Lure,
            server_version=config.server_version.removeprefix("SSH-2.0-"),
            server_host_keys=keys,
            send_server_host_keys=True,
            kex_algs=available(ssh_persona.KEX_ALGS, get_kex_algs()),
            encryption_algs=available(ssh_persona.CIPHERS, get_encryption_algs()),
            mac_algs=available(ssh_persona.MACS, get_mac_algs()),
            compression_algs=available(ssh_persona.COMPRESSION, get_compression_algs()),
            signature_algs=available(ssh_persona.SERVER_SIG_ALGS, get_public_key_algs()),
            # LoginGraceTime is ours (LureConnection), so that its close carries a reason.
            login_timeout=None,
            keepalive_interval=0,
            gss_host=None,
            allow_scp=False,
            x11_forwarding=False,
            agent_forwarding=False,
            encoding=None,
            line_editor=False,
        )
    )
    # asyncssh orders host key algorithms its own way; sshd's order is the persona's.
    by_alg = options.server_host_keys
    options.server_host_keys = OrderedDict(
        (alg.encode(), by_alg[alg.encode()])
        for alg in ssh_persona.HOST_KEY_ALGS
        if alg.encode() in by_alg
    )
    return options


async def start(config: SshConfig, *, limits: Limits, host: str, metrics_port: int = 0) -> Running:
    """Start the SSH lure.

    Args:
        config: the decoy's settings.
        limits: connection limits for its guard.
        host: address to bind.
        metrics_port: unused; part of every decoy's signature.
    """
    del metrics_port
    loop = asyncio.get_running_loop()
    keys, generated = await loop.run_in_executor(None, load_host_keys, config.host_key_dir)
    if generated:
        events.emit(
            "honeypods.warning",
            DECOY,
            {
                "error.message": "generated SSH host keys "
                + ", ".join(generated)
                + ": they change on every restart, which a returning client notices; mount "
                "them through HONEYPODS_SSH_HOST_KEY_DIR"
            },
            level="warning",
        )
    missing = missing_algorithms()
    if missing:
        events.emit(
            "honeypods.warning",
            DECOY,
            {
                "error.message": "the SSH persona cannot offer "
                + ", ".join(missing)
                + ": its algorithm lists differ from the real build's (umac needs libnettle)"
            },
            level="warning",
        )
    policy = Policy(config, await build_options(config, keys))
    guard = Guard(DECOY, limits, RULE)
    factory: Callable[[], asyncio.Protocol] = guard.protocol_factory(
        lambda session: Gate(session, policy)
    )
    return await guard.start(host, [(factory, config.port)])
