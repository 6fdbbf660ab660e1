"""The events of the port-scan listener and the packet sensor: ids, fields and their meaning (docs/events.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from honeypods.core.catalogue import BOOL, INT, INTS, NUM, STR, STRS, EventSpec

EVENTS: Final[Mapping[str, EventSpec]] = {
    "portscan.payload": EventSpec(
        "alert",
        "The first bytes a client sent to a port-scan listener (bounded in size and time).",
        {
            "portscan.payload": (STR, "The bytes as text, non-UTF-8 bytes backslash-escaped."),
            "portscan.payload_hex": (STR, "The same bytes in hex."),
            "portscan.payload_bytes": (INT, "How many bytes were captured."),
            "portscan.truncated": (BOOL, "More bytes came than were captured."),
        },
        required=("portscan.payload_hex", "portscan.payload_bytes"),
    ),
    "portscan.scan": EventSpec(
        "alert",
        "One source touched `threshold` or more distinct ports within the window. One per source "
        "per window, listing the ports.",
        {
            "portscan.ports": (INTS, "Distinct destination ports seen, ascending (capped)."),
            "portscan.port_count": (INT, "How many distinct ports, including any beyond the cap."),
            "portscan.window": (NUM, "Window length in seconds."),
            "portscan.observed_by": (STRS, "`listener`, `sensor`, or both."),
            "source.ip": (STR, "The scanning source."),
            "destination.ip": (STR, "Local address scanned (the first one seen)."),
        },
        required=("source.ip", "portscan.ports", "portscan.port_count", "portscan.window"),
        connection=False,
    ),
    "sensor.icmp_echo": EventSpec(
        "alert",
        "The packet sensor saw an ICMP echo request (ping).",
        {
            "icmp.type": (INT, "ICMP type (8 for echo request, 128 for ICMPv6)."),
            "honeypod.suppressed": (INT, "Echo requests from this source not logged since last."),
            "source.ip": (STR, "Sender of the echo request."),
            "destination.ip": (STR, "Address pinged."),
            "network.transport": (STR, "`icmp` or `ipv6-icmp`."),
        },
        required=("source.ip", "icmp.type"),
        connection=False,
    ),
    "sensor.syn": EventSpec(
        "alert",
        "The packet sensor saw a TCP SYN to a port no listener serves (half-open scan). Logged "
        "once per source per window; the port-scan event lists every port.",
        {
            "honeypod.suppressed": (INT, "SYNs from this source not logged since last."),
            "source.ip": (STR, "Sender of the SYN."),
            "source.port": (INT, "Its source port."),
            "destination.ip": (STR, "Address it was sent to."),
            "destination.port": (INT, "Port it was sent to."),
            "network.transport": (STR, "`tcp`."),
        },
        required=("source.ip", "destination.port"),
        connection=False,
    ),
}
