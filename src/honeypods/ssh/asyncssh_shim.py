"""The only module that touches asyncssh's private names: how the lure's policy reaches the wire.

Verified on asyncssh 2.21.0, 2.21.1, 2.22.0, 2.23.1, 2.24.0 and 2.24.1 (2.20 sends its own text
for a refused TUN open); tests/unit/test_shim_asyncssh.py fails naming any name or signature used
here that changed. The service request and group exchange
hooks (``_hp_process_service_request``, ``_PersonaGex``) are verified on 2.24.1 so far. The policy (``policy.Lure``) decides, this module acts; nothing else in the
package uses an asyncssh underscore name. Each part, and the upstream change
that would make it unnecessary:

* ``LureConnection.resume`` takes over from ``gate.Gate``, which writes sshd's identification at
  accept, reads the client's as sshd does (8192 bytes; asyncssh hangs up after RFC 4253's 255)
  and sends a KEXINIT built once (``Template``): the connection starts in the state
  ``_recv_version`` and ``_send_kexinit`` leave, so banner grabs cost no SSH state. Upstream:
  starting a server connection from an identification line read elsewhere, with a pre-built
  KEXINIT.
* ``LureConnection`` overrides, each saying why. Upstream: a per-request auth hook and a
  MaxAuthTries hook (``_finish_userauth``, ``send_userauth_failure``); a raw key blob hook
  (``validate_public_key``); the negotiated algorithms (``send_newkeys``,
  ``choose_server_host_key``); options for the extra kex markers, the EXT_INFO extensions, the
  CBC IGNORE countermeasure, DISCONNECT and open-failure texts and a minimum packet length
  (``_get_extra_kex_algs``, ``_send_ext_info``, ``send_packet``, ``_send_disconnect``,
  ``send_channel_open_failure``, ``_recv_pkthdr``); a DISCONNECT callback (``_packet_handlers``);
  no per-user config reload (``reload_config``); a server_factory per connection
  (``_protocol_factory``); a service request and a DH group exchange hook
  (``_packet_handlers``, ``_PersonaGex``). Close and success reach the policy through the public
  ``SSHServer.connection_lost`` and ``auth_completed``.
* ``_LevelFirstLogger``, ``_log_packet``: asyncssh formats log arguments and describes packets
  before the level check. Upstream: checking the level first.
* ``_register_sntrup``: sntrup761x25519 key exchange through ``kex_dh._KexHybridECDH`` with the
  package's own encapsulation (``ssh/sntrup.py``) when asyncssh found no liboqs. Upstream: a
  post-quantum backend that needs no liboqs.
* ``ssh/options.py`` (``build_options``, ``missing_algorithms``) uses only public names of
  asyncssh's submodules (``asyncssh.kex``, ``.encryption``, ``.mac``, ``.compression``,
  ``.public_key``) to list what this build supports.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, cast

import asyncssh
from asyncssh import constants as msg
from asyncssh import kex_dh
from asyncssh.crypto import Curve25519DH
from asyncssh.kex import expand_kex_algs, get_kex_algs, register_kex_alg
from asyncssh.logging import SSHLogger
from asyncssh.packet import Boolean, MPInt, NameList, PacketDecodeError, SSHPacket, String, UInt32

from honeypods.core import events
from honeypods.ssh import persona, sntrup

if TYPE_CHECKING:
    from honeypods.ssh.persona import Persona
    from honeypods.ssh.policy import Lure

_EMPTY_IGNORE: Final = (String(b""),)


class _LevelFirstLogger(SSHLogger):
    """asyncssh's logger formats every argument before the level check; most of its records are
    debug or info, which the runner drops, and formatting them was a tenth of a connection's cost.
    """

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            super().log(level, msg, *args, **kwargs)


_LOGGER: Final = _LevelFirstLogger()

# -- options and the KEXINIT ------------------------------------------------------------------------


class _Sntrup761:
    """asyncssh's PQ key interface (``crypto.pq.PQKey``), server side, over ``ssh/sntrup.py``."""

    pubkey_bytes: Final = sntrup.PUBLIC_KEY_BYTES
    ciphertext_bytes: Final = sntrup.CIPHERTEXT_BYTES

    def __init__(self, _alg_name: bytes) -> None:
        pass

    def encaps(self, peer_public: bytes) -> tuple[bytes, bytes]:
        return sntrup.encapsulate(peer_public)


def _register_sntrup() -> None:
    # asyncssh registers these only when it finds liboqs; then its own are used.
    have = set(get_kex_algs())
    for name in (b"sntrup761x25519-sha512", b"sntrup761x25519-sha512@openssh.com"):
        if name not in have:
            args = (_Sntrup761, b"sntrup761", Curve25519DH)
            register_kex_alg(name, kex_dh._KexHybridECDH, hashlib.sha512, args, False)


_register_sntrup()


class Template:
    """What every connection starts from: the options, and the KEXINIT they imply.

    The KEXINIT is what ``_send_kexinit`` and ``send_packet`` would send; only its cookie and
    padding change per connection, so it is assembled once here rather than by asyncssh each time.

    Args:
        options: built by ``build_options``.
        p: the persona whose KEX markers and EXT_INFO extensions are sent.
    """

    def __init__(self, options: asyncssh.SSHServerConnectionOptions, p: Persona) -> None:
        self.options = options
        self.markers = [m.encode("ascii") for m in p.kex_markers]
        self.extensions = [(k.encode("ascii"), v.encode("ascii")) for k, v in p.extensions]
        # As asyncssh's server connection derives them from the options (no GSS: gss_host is None).
        host_key_algs = list(options.server_host_keys.keys())
        kex_algs = expand_kex_algs(options.kex_algs, [], bool(host_key_algs)) + self.markers
        enc, mac, cmp, langs = (
            NameList(algs)
            for algs in (options.encryption_algs, options.mac_algs, options.compression_algs, [])
        )
        kex, host_key = NameList(kex_algs), NameList(host_key_algs or [b"null"])
        self.rest = b"".join(
            (kex, host_key, enc, enc, mac, mac, cmp, cmp, langs, langs, Boolean(False), UInt32(0))
        )
        # Cleartext framing (RFC 4253 6): 8-byte blocks over length, padding length and payload,
        # at least 4 bytes of padding.
        payload_len = 1 + 16 + len(self.rest)
        padlen = -(5 + payload_len) % 8
        self.padlen = padlen + 8 if padlen < 4 else padlen
        self.header = UInt32(1 + payload_len + self.padlen) + bytes((self.padlen,))

    def kexinit(self) -> tuple[bytes, bytes]:
        """A fresh KEXINIT: its payload, and the cleartext packet carrying it."""
        noise = os.urandom(16 + self.padlen)
        payload = b"\x14" + noise[:16] + self.rest
        return payload, self.header + payload + noise[16:]


# -- asyncssh's connection --------------------------------------------------------------------------

# Twice the largest session key need of the persona's ciphers (chacha20-poly1305's 512 bits).
_DH_EXPONENT_BITS: Final = 1024
# RFC 3526's groups by size, which sshd falls back to (moduli.fallback_size).
_FALLBACK: Final = {size: (g, p) for size, g, p in kex_dh._dh_gex_groups}


class _PersonaGex(kex_dh._KexDHGex):
    """Group exchange with sshd's choice of group (``Policy.dh_group``); asyncssh's goes down to
    1024 bits. Like sshd 8.4 it leaves the old one-number request unhandled (UNIMPLEMENTED)."""

    def _hp_process_request(self, _pkttype: int, _pktid: int, packet: SSHPacket) -> None:
        if self._p:
            raise asyncssh.ProtocolError("Kex DH group already requested")
        self._gex_data = packet.get_remaining_payload()
        minimum, wanted, maximum = packet.get_uint32(), packet.get_uint32(), packet.get_uint32()
        packet.check_end()
        choice = cast(LureConnection, self._conn).hp_lure.policy.dh_group(minimum, wanted, maximum)
        if choice is None:
            raise asyncssh.ProtocolError("DH GEX group out of range")  # sshd's log text
        g, p = _FALLBACK[choice] if isinstance(choice, int) else (choice.g, choice.p)
        self._init_group(g, p)
        self._gex_data += MPInt(p) + MPInt(g)
        self.send_packet(self._group_type, MPInt(p), MPInt(g))

    def _compute_server_shared(self) -> bytes:
        # asyncssh's DH has OpenSSL check the group's primes on every exchange: 1 s of CPU at
        # 2048 bits, 100 s at 8192. sshd trusts its moduli file, checks e (dh_pub_is_valid) and
        # draws a short exponent (dh_gen_key: twice the session key bits, at least 512).
        p = self._p
        if not 1 < self._e < p - 1:
            raise asyncssh.ProtocolError("Kex DH e out of range")
        x = secrets.randbits(min(_DH_EXPONENT_BITS, p.bit_length() - 1)) | 2
        self._f = pow(self._g, x, p)
        return MPInt(pow(self._e, x, p))

    _packet_handlers = dict(kex_dh._KexDHGex._packet_handlers)  # noqa: RUF012 - asyncssh's table
    del _packet_handlers[kex_dh.MSG_KEX_DH_GEX_REQUEST_OLD]
    _packet_handlers[kex_dh.MSG_KEX_DH_GEX_REQUEST] = _hp_process_request


class LureConnection(asyncssh.SSHServerConnection):
    """asyncssh's server connection, with what reaches the wire made OpenSSH's."""

    # Client DISCONNECTs are recorded before asyncssh handles them.
    _packet_handlers = dict(asyncssh.SSHServerConnection._packet_handlers)  # noqa: RUF012 - asyncssh's per-class dispatch table

    def __init__(self, lure: Lure, template: Template) -> None:
        super().__init__(asyncio.get_running_loop(), template.options)
        self.hp_template = template
        self._logger = _LOGGER
        # The connection's SSHServer is the policy the gate already holds, not a new one.
        self._protocol_factory = lambda: lure
        self.hp_lure = lure
        self.hp_host_key_alg = b""

    def resume(self, client_line: bytes, kexinit: bytes, sent_at: float) -> None:
        """Take over where the gate stopped: identification read, KEXINIT sent as packet 0."""
        self._client_version = client_line
        self.set_extra_info(client_version=self.hp_lure.client_version)
        self._server_kexinit = kexinit
        self._kexinit_sent = True
        self._send_seq = 1
        if self._rekey_seconds:
            self._rekey_time = sent_at + self._rekey_seconds
        self._recv_handler = self._recv_pkthdr

    def _hp_disconnect(self, text: str, reason: str) -> None:
        # A DISCONNECT with sshd's text and code, which _send_disconnect would rewrite.
        lure = self.hp_lure
        lure.note_disconnect(text, persona.DISC_PROTOCOL_ERROR, "server")
        super()._send_disconnect(persona.DISC_PROTOCOL_ERROR, text, "")
        lure.session.close(reason)
        self._force_close(None)

    def _send_version(self) -> None:
        # The gate wrote this exact identification string at accept.
        version = b"SSH-2.0-" + self._version
        self._server_version = version
        self.set_extra_info(server_version=version.decode("ascii"))

    def _recv_pkthdr(self) -> bool:
        # sshd gives up on a packet length below 5 or above 256 KiB ("Packet corrupt"). asyncssh
        # has no lower bound (and before 2.24.1 no upper one): it would wait for a packet that
        # cannot come.
        done = super()._recv_pkthdr()
        if done and not 5 <= self._pktlen <= persona.MAX_PACKET_LEN:
            raise asyncssh.ProtocolError(persona.DISC_PACKET_CORRUPT)
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
        # per login, what was built once at start.
        return

    # -- wire fidelity -----------------------------------------------------------------------------

    def _get_extra_kex_algs(self) -> list[bytes]:
        # asyncssh appends ext-info-s too, which sshd sends only from 9.6.
        return list(self.hp_template.markers)

    def _send_ext_info(self) -> None:
        # sshd sends server-sig-algs, then its own extensions (none in 8.4); asyncssh would add
        # global-requests-ok.
        extensions = [(b"server-sig-algs", b",".join(self._sig_algs)), *self.hp_template.extensions]
        self._extensions_to_send = OrderedDict(extensions)
        super()._send_ext_info()

    def send_packet(
        self, pkttype: int, *args: bytes, handler: asyncssh.packet.SSHPacketLogger | None = None
    ) -> None:
        # asyncssh puts an empty IGNORE before every encrypted non-kex packet (a CBC countermeasure;
        # no CBC cipher is offered). sshd does not, and the extra packet shows in traffic sizes.
        if pkttype == msg.MSG_IGNORE and args == _EMPTY_IGNORE:
            return
        super().send_packet(pkttype, *args, handler=handler)

    def _send_disconnect(self, code: int, reason: str, lang: str) -> None:
        # asyncssh's error texts name its internals. sshd logs and exits without a DISCONNECT on
        # every such error: for a bad packet length it queues "Packet corrupt" but dies
        # (sshpkt_fatal) before writing it, as Debian 12's sshd shows on the wire.
        lure = self.hp_lure
        if reason in ("Max packet size exceeded", persona.DISC_PACKET_CORRUPT):
            reason = persona.DISC_PACKET_CORRUPT
        lure.note_disconnect(reason, None, "server")
        lure.session.close("protocol_error")

    def send_channel_open_failure(self, send_chan: int, code: int, reason: str, lang: str) -> None:
        # sshd answers every refused open with "open failed" (prohibited) and an empty language,
        # except a failed connect, which carries strerror's text.
        if reason != persona.OPEN_CONNECT_REFUSED:
            code, reason = asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, persona.OPEN_FAILED
        super().send_channel_open_failure(send_chan, code, reason, "")

    def choose_server_host_key(self, peer_host_key_algs: Sequence[bytes]) -> bool:
        # Called just after the kex handler is made: group exchange gets sshd's groups.
        if type(self._kex) is kex_dh._KexDHGex:
            self._kex.__class__ = _PersonaGex
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
            self.hp_lure.key_exchanged(
                kex=kex_alg,
                host_key=self.hp_host_key_alg,
                cipher=self._enc_alg_cs,
                mac=self._mac_alg_cs,
                compression=self._cmp_alg_cs,
                kexinit=self._client_kexinit,
            )

    def _hp_process_disconnect(self, pkttype: int, pktid: int, packet: SSHPacket) -> None:
        peek = SSHPacket(packet.get_remaining_payload())
        with contextlib.suppress(PacketDecodeError):
            code = peek.get_uint32()
            reason = peek.get_string()
            self.hp_lure.note_disconnect(events.clip_text(reason), code, "client")
        self._process_disconnect(pkttype, pktid, packet)

    _packet_handlers[msg.MSG_DISCONNECT] = _hp_process_disconnect

    def _hp_process_service_request(self, pkttype: int, pktid: int, packet: SSHPacket) -> None:
        # asyncssh takes one service request; sshd takes ssh-userauth until authenticated.
        if not self._recv_encryption or self._auth_complete:
            self._process_service_request(pkttype, pktid, packet)
            return
        service = packet.get_string()
        packet.check_end()
        text = self.hp_lure.service_request(service)
        if text is not None:
            self._hp_disconnect(text, "protocol_error")
        elif self._auth_in_progress:
            self.send_packet(msg.MSG_SERVICE_ACCEPT, String(service))
        else:
            self._process_service_request(pkttype, pktid, SSHPacket(String(service)))

    _packet_handlers[msg.MSG_SERVICE_REQUEST] = _hp_process_service_request

    # -- authentication ----------------------------------------------------------------------------

    async def _finish_userauth(self, begin_auth: bool, method: bytes, packet: SSHPacket) -> None:
        text = await self.hp_lure.auth_request(self._username, method)
        if text is not None:
            self._hp_disconnect(text, "policy")
            return
        await super()._finish_userauth(begin_auth, method, packet)

    def send_userauth_failure(self, partial_success: bool) -> None:
        text = self.hp_lure.auth_failed()
        if text is not None:
            self._hp_disconnect(text, "policy")
            return
        self._auth = None
        methods = NameList(self.hp_lure.policy.methods)
        self.send_packet(msg.MSG_USERAUTH_FAILURE, methods, Boolean(partial_success))

    async def validate_public_key(
        self, username: str, key_data: bytes, msg: bytes, signature: bytes
    ) -> bool:
        # Taken here, not in SSHServer.validate_public_key, so that keys and certificates the
        # library cannot parse are recorded too.
        return await self.hp_lure.public_key_offered(username, key_data)
