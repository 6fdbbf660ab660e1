"""The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2), sans-IO.

A load balancer or ingress that speaks the PROXY protocol sends one header before the first byte
of the client's stream, naming the client's address and the one it connected to. This module only
reads it: ``parse(data)`` is given the bytes received so far and answers ``None`` (need more), a
``Header`` (whose ``length`` bytes are the header; the rest belongs to the protocol behind it), or
raises ``ProtocolError``. No asyncio, no core imports; nothing is ever buffered here.

Version 1, text, at most 107 bytes including CR LF::

    PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\\r\\n
    PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\\r\\n
    PROXY UNKNOWN[ anything]\\r\\n             (use the connection's own addresses)

Version 2, binary::

    offset  size  field
    0       12    signature \\r\\n\\r\\n\\0\\r\\nQUIT\\n
    12      1     version (high nibble, 2) | command (low nibble: 0 LOCAL, 1 PROXY)
    13      1     family (high: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) | transport (low: 0, 1, 2)
    14      2     length of what follows, big-endian
    16      12    INET: source address, destination address (4 each), source port, dest port
    16      36    INET6: the same with 16-byte addresses
    16      216   UNIX: two 108-byte paths
    ...           TLVs (type 1, length 2, value) up to the length: walked, checked, skipped

Rules this module keeps:

* Only ``ProtocolError`` escapes, with a ``problem`` naming what was wrong; every read is
  bounds-checked first, so short input is ``None`` or an error, never ``struct.error``.
* Bounded: a v1 header must end within 107 bytes; a v2 header longer than ``max_v2`` (4096 by
  default) is refused as soon as its length field is read, without waiting for the rest.
* ``LOCAL`` (v2), ``UNKNOWN`` (v1), and the UNSPEC and UNIX families carry no usable address:
  the header is valid and ``source`` is ``None``, and the receiver keeps the socket's addresses,
  as the specification asks.

The ``proxy-protocol`` package on PyPI parses both versions, but lets ``struct.error`` escape on
short address blocks, has no size bound of its own and brings an asyncio server along; the
subset needed here is this page.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass
from typing import Final

# proxy-protocol.txt 2.1: "a 107-byte buffer" holds the longest v1 line, CR LF included.
V1_MAX: Final = 107
V1_PREFIX: Final = b"PROXY "
# proxy-protocol.txt 2.2: the 12-byte signature of every v2 header.
V2_SIGNATURE: Final = b"\r\n\r\n\x00\r\nQUIT\n"
V2_FIXED: Final = 16
# Ours: room for the addresses and a generous set of TLVs (AWS and Azure send well under 100
# bytes of them, HAProxy's SSL and unique-id ones a few hundred), far below the 65,551 allowed.
V2_MAX: Final = 4096

_V2_ADDRESSES: Final = {0x1: 12, 0x2: 36, 0x3: 216}
_PORT_DIGITS: Final = frozenset(b"0123456789")


class Sniff(enum.Enum):
    """What the first bytes of a stream say about a header."""

    HEADER = "header"  # a v1 or v2 signature: a header follows (or is claimed to)
    OTHER = "other"  # not a header: the protocol's own bytes
    UNDECIDED = "undecided"  # a prefix of a signature so far: need more bytes


class ProtocolError(Exception):
    """The header is malformed; ``problem`` is ``malformed``, ``too_long`` or ``not_a_header``.

    Args:
        problem: the kind of error, for an event's enumerated field.
        detail: a fixed text of this module naming the rule broken (never attacker data).
    """

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class Header:
    """One parsed header.

    Args:
        version: 1 or 2.
        command: ``PROXY``, or ``LOCAL`` (a v2 health check or the proxy's own connection).
        family: ``TCP4``, ``TCP6``, ``UNKNOWN``, ``UNIX`` or ``UNSPEC``.
        source: the client's (address, port); ``None`` when the header carries none.
        destination: the (address, port) the client connected to, or ``None``.
        length: bytes the header took.
    """

    version: int
    command: str
    family: str
    source: tuple[str, int] | None
    destination: tuple[str, int] | None
    length: int


def sniff(data: bytes) -> Sniff:
    """Whether ``data``, the first bytes of a stream, start a PROXY header."""
    for signature in (V1_PREFIX, V2_SIGNATURE):
        n = min(len(data), len(signature))
        if data[:n] == signature[:n]:
            return Sniff.HEADER if n == len(signature) else Sniff.UNDECIDED
    return Sniff.OTHER


def parse(data: bytes, *, max_v2: int = V2_MAX) -> Header | None:
    """Read the header at the start of ``data``.

    Args:
        data: every byte received so far.
        max_v2: the largest v2 header accepted, in bytes (16 to 65,551).

    Returns:
        The header, or ``None`` when ``data`` is a valid beginning of one but short.

    Raises:
        ProtocolError: ``data`` does not start with a header, or with a valid one.
    """
    kind = sniff(data)
    if kind is Sniff.OTHER:
        raise ProtocolError("not_a_header", "no PROXY protocol signature")
    if kind is Sniff.UNDECIDED:
        return None
    if data.startswith(V1_PREFIX):
        return _parse_v1(data)
    return _parse_v2(data, max_v2)


def _parse_v1(data: bytes) -> Header | None:
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if len(data) >= V1_MAX:
            raise ProtocolError("too_long", "v1 header without CR LF within 107 bytes")
        if b"\n" in data or not data.isascii():
            raise ProtocolError("malformed", "v1 header with a bare LF or a non-ASCII byte")
        return None
    line = data[:end]
    if not line.isascii():
        raise ProtocolError("malformed", "v1 header with a non-ASCII byte")
    parts = line.split(b" ")
    family = parts[1].decode("ascii") if len(parts) > 1 else ""
    if family == "UNKNOWN":
        # 2.1: "the receiver must ignore anything presented before the CRLF".
        return Header(1, "PROXY", family, None, None, end + 2)
    if family not in ("TCP4", "TCP6"):
        raise ProtocolError("malformed", "v1 protocol is not TCP4, TCP6 or UNKNOWN")
    if len(parts) != 6:
        raise ProtocolError("malformed", "v1 header is not five fields separated by one space")
    version = 4 if family == "TCP4" else 6
    source = _v1_address(parts[2], parts[4], version)
    destination = _v1_address(parts[3], parts[5], version)
    return Header(1, "PROXY", family, source, destination, end + 2)


def _v1_address(host: bytes, port: bytes, version: int) -> tuple[str, int]:
    if b"%" in host:  # ipaddress accepts an IPv6 zone ("fe80::1%eth0"); the header has none
        raise ProtocolError("malformed", "v1 address is not an IP address")
    try:
        ip = ipaddress.ip_address(host.decode("ascii"))
    except ValueError:
        raise ProtocolError("malformed", "v1 address is not an IP address") from None
    if ip.version != version:
        raise ProtocolError("malformed", "v1 address does not match the protocol")
    return str(ip), _v1_port(port)


def _v1_port(port: bytes) -> int:
    # 2.1: a decimal 0-65535 "without leading zeroes" (HAProxy's own parser is as strict).
    leading_zero = len(port) > 1 and port.startswith(b"0")
    if not 1 <= len(port) <= 5 or not set(port) <= _PORT_DIGITS or leading_zero:
        raise ProtocolError("malformed", "v1 port is not a decimal number without leading zeros")
    value = int(port)
    if value > 65535:
        raise ProtocolError("malformed", "v1 port above 65535")
    return value


def _parse_v2(data: bytes, max_v2: int) -> Header | None:
    if len(data) < V2_FIXED:
        return None
    version_command, family_transport, length = struct.unpack_from("!BBH", data, 12)
    if version_command >> 4 != 2:
        raise ProtocolError("malformed", "v2 version nibble is not 2")
    command = {0x0: "LOCAL", 0x1: "PROXY"}.get(version_command & 0xF)
    if command is None:
        raise ProtocolError("malformed", "v2 command is neither LOCAL nor PROXY")
    family_bits, transport = family_transport >> 4, family_transport & 0xF
    if family_bits > 3 or transport > 2:
        raise ProtocolError("malformed", "v2 family or transport out of range")
    total = V2_FIXED + length
    if total > max_v2:
        raise ProtocolError("too_long", "v2 header longer than this decoy accepts")
    if len(data) < total:
        return None
    needed = _V2_ADDRESSES.get(family_bits, 0)
    if length < needed:
        raise ProtocolError("malformed", "v2 length shorter than its family's addresses")
    if family_bits:  # UNSPEC: what follows is unspecified, and ignored (2.2)
        _check_tlvs(data, V2_FIXED + needed, total)
    family = ("UNSPEC", "TCP4", "TCP6", "UNIX")[family_bits]
    if command == "LOCAL" or family_bits not in (0x1, 0x2):
        # 2.2: LOCAL, UNSPEC and UNIX mean "use the real connection endpoints".
        return Header(2, command, family, None, None, total)
    size = 4 if family_bits == 0x1 else 16
    src = ipaddress.ip_address(data[16 : 16 + size])
    dst = ipaddress.ip_address(data[16 + size : 16 + 2 * size])
    sport, dport = struct.unpack_from("!HH", data, 16 + 2 * size)
    return Header(2, command, family, (str(src), sport), (str(dst), dport), total)


def _check_tlvs(data: bytes, offset: int, end: int) -> None:
    # Each TLV is at least 3 bytes, so this loop runs at most (end - offset) / 3 times.
    while offset < end:
        if end - offset < 3:
            raise ProtocolError("malformed", "v2 TLV cut short")
        (size,) = struct.unpack_from("!H", data, offset + 1)
        offset += 3 + size
        if offset > end:
            raise ProtocolError("malformed", "v2 TLV longer than the header")
