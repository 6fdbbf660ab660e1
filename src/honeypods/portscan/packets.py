"""Sans-IO parsing of the raw packets the port-scan decoy's sensor reads.

Only what the sensor needs: from an IPv4 packet (as a Linux ``SOCK_RAW`` socket delivers it, IP
header included) or an IPv6 payload (delivered without its header), pick out ICMP echo requests and
TCP SYNs without ACK. Anything short, malformed or uninteresting gives ``None``; nothing here raises.

IPv4 header (RFC 791), the offsets read::

    0      version (high nibble), IHL in 32-bit words (low nibble)
    9      protocol (1 ICMP, 6 TCP)
    12-15  source address
    16-19  destination address

TCP header (RFC 9293)::

    0-1    source port
    2-3    destination port
    13     flags: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10

ICMP (RFC 792) and ICMPv6 (RFC 4443): byte 0 is the type; echo request is 8 and 128.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

PROTO_ICMP: Final = 1
PROTO_TCP: Final = 6
ICMP_ECHO_REQUEST: Final = 8
ICMPV6_ECHO_REQUEST: Final = 128
TCP_SYN: Final = 0x02
TCP_ACK: Final = 0x10
TCP_RST: Final = 0x04


@dataclass(frozen=True, slots=True)
class Syn:
    source: str
    source_port: int
    destination: str
    destination_port: int


@dataclass(frozen=True, slots=True)
class Echo:
    source: str
    destination: str
    icmp_type: int


def _ipv4_header(packet: bytes) -> tuple[int, int, str, str] | None:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl:
        return None
    src = str(ipaddress.IPv4Address(packet[12:16]))
    dst = str(ipaddress.IPv4Address(packet[16:20]))
    return packet[9], ihl, src, dst


def _syn(tcp: bytes, src: str, dst: str) -> Syn | None:
    if len(tcp) < 14:
        return None
    flags = tcp[13]
    if not flags & TCP_SYN or flags & (TCP_ACK | TCP_RST):
        return None
    return Syn(src, int.from_bytes(tcp[0:2], "big"), dst, int.from_bytes(tcp[2:4], "big"))


def parse_ipv4(packet: bytes) -> Syn | Echo | None:
    """Parse one IPv4 packet, header included (``AF_INET``/``SOCK_RAW``)."""
    header = _ipv4_header(packet)
    if header is None:
        return None
    proto, ihl, src, dst = header
    body = packet[ihl:]
    if proto == PROTO_TCP:
        return _syn(body, src, dst)
    if proto == PROTO_ICMP and body and body[0] == ICMP_ECHO_REQUEST:
        return Echo(src, dst, ICMP_ECHO_REQUEST)
    return None


def parse_ipv6_tcp(segment: bytes, src: str, dst: str = "") -> Syn | None:
    """Parse a TCP segment from an ``AF_INET6`` raw socket (no IP header; address from recvfrom)."""
    return _syn(segment, src, dst)


def parse_ipv6_icmp(message: bytes, src: str, dst: str = "") -> Echo | None:
    """Parse an ICMPv6 message from an ``AF_INET6`` raw socket."""
    if message and message[0] == ICMPV6_ECHO_REQUEST:
        return Echo(src, dst, ICMPV6_ECHO_REQUEST)
    return None
