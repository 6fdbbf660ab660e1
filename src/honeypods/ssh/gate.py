"""The SSH lure's first bytes: sshd's identification exchange, before asyncssh has a connection.

Rules this module keeps:

1. sshd writes its identification at accept, before reading anything; the gate does too.
2. The client's identification is read as sshd reads it (up to 8192 bytes, ``wire``), judged by
   the policy (``Lure.identified``), and answered with the KEXINIT built once (``Template``).
3. Only then is asyncssh's connection made (``asyncssh_shim.LureConnection.resume``), so banner
   grabs and scanners cost no SSH state.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, cast

from honeypods.ssh import wire
from honeypods.ssh.asyncssh_shim import LureConnection, Template

if TYPE_CHECKING:
    from honeypods.ssh.policy import Lure


class Gate(asyncio.Protocol):
    """The guard's inner protocol until the client's first binary packet arrives.

    Args:
        lure: the connection's policy, which admits it and judges its identification line.
        template: the shared options and KEXINIT.
    """

    # One per unauthenticated connection, held open by the thousand: no per-instance dict.
    __slots__ = ("buf", "kexinit", "kexinit_at", "line", "lure", "template", "transport")

    def __init__(self, lure: Lure, template: Template) -> None:
        self.lure = lure
        self.template = template
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        # Set once a valid identification has been answered with KEXINIT.
        self.line = b""
        self.kexinit = b""
        self.kexinit_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        lure = self.lure
        if not lure.admit():
            return
        self.transport = cast(asyncio.Transport, transport)
        # sshd writes its identification string on accept, before reading anything.
        self.transport.write(lure.policy.banner)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        if self.kexinit:
            self._hand_over(transport, data)
            return
        buf = self.buf + data
        got = wire.read_identification(buf)
        if got is None:
            self.buf = buf
            return
        self.buf = b""
        line, rest, bad = got
        if not self.lure.identified(line, bad, transport):
            return
        # sshd sends its KEXINIT as soon as the identification is read (kex_setup).
        self.line = line
        self.kexinit, packet = self.template.kexinit()
        self.kexinit_at = time.monotonic()
        transport.write(packet)
        if rest:
            self._hand_over(transport, rest)

    def _hand_over(self, transport: asyncio.Transport, data: bytes) -> None:
        conn = LureConnection(self.lure, self.template)
        conn.connection_made(transport)
        conn.resume(self.line, self.kexinit, self.kexinit_at)
        # From here on asyncssh owns the bytes; the guard feeds it directly.
        transport.set_protocol(conn)
        conn.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        # Only reached before the hand-over; afterwards the guard talks to the connection.
        self.lure.release()
        if self.kexinit:
            self.lure.kex_abandoned()
