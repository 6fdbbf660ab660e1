"""Packet sensor for the port-scan decoy: sees what never becomes a connection.

With CAP_NET_RAW, raw sockets receive a copy of every incoming ICMP message and TCP segment, so the
decoy sees pings (``honeypod.ip.enum``) and SYNs to ports nobody listens on, as in a half-open
``nmap -sS`` scan (fed to the port-scan detector). Without the capability the decoy logs one warning
and runs with its listeners only.

Events are rate-limited per source (one per ``LOG_INTERVAL``), with the number not logged carried
in ``honeypod.suppressed`` on the next one and every packet counted in the detector, so a ping flood
cannot flood the log yet nothing goes unaccounted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import OrderedDict
from typing import Any, Final

from honeypods.core import events
from honeypods.portscan import packets
from honeypods.portscan.detector import DECOY, RULE_CONTACT, RULE_SCAN, ScanDetector

LOG_INTERVAL: Final = 10.0
# Packets read per wake-up: a flood cannot starve the listeners on the same loop.
BATCH: Final = 256
MAX_SOURCES: Final = 10000


class _RateLimit:
    def __init__(self) -> None:
        self.last: OrderedDict[tuple[str, str], list[float]] = OrderedDict()

    def allow(self, key: tuple[str, str]) -> tuple[bool, int]:
        """Whether to log now, and how many were suppressed before this one."""
        now = time.monotonic()
        entry = self.last.get(key)
        if entry is None:
            self.last[key] = [now, 0]
            if len(self.last) > MAX_SOURCES:
                self.last.popitem(last=False)
            return True, 0
        self.last.move_to_end(key)
        if now - entry[0] >= LOG_INTERVAL:
            suppressed = int(entry[1])
            entry[0], entry[1] = now, 0
            return True, suppressed
        entry[1] += 1
        return False, 0


class Sensor:
    def __init__(
        self,
        detector: ScanDetector,
        *,
        listened_ports: set[int],
        ignored_ports: set[int],
    ) -> None:
        self.detector = detector
        self.listened = listened_ports
        self.ignored = ignored_ports
        self.limit = _RateLimit()

    def handle(self, packet: packets.Syn | packets.Echo | None) -> None:
        if isinstance(packet, packets.Echo):
            allowed, suppressed = self.limit.allow((packet.source, "icmp"))
            if allowed:
                fields: dict[str, Any] = {
                    "source.ip": packet.source,
                    "icmp.type": packet.icmp_type,
                    "network.transport": "icmp" if packet.icmp_type == 8 else "ipv6-icmp",
                }
                if packet.destination:
                    fields["destination.ip"] = packet.destination
                if suppressed:
                    fields["honeypod.suppressed"] = suppressed
                events.emit("sensor.icmp_echo", DECOY, fields, rule=RULE_CONTACT)
        elif isinstance(packet, packets.Syn):
            port = packet.destination_port
            if port in self.ignored:
                return
            self.detector.saw(packet.source, packet.destination, port, "sensor")
            if port in self.listened:
                return  # the listener logs this connection itself
            allowed, suppressed = self.limit.allow((packet.source, "syn"))
            if allowed:
                fields = {
                    "source.ip": packet.source,
                    "source.port": packet.source_port,
                    "destination.port": port,
                    "network.transport": "tcp",
                }
                if packet.destination:
                    fields["destination.ip"] = packet.destination
                if suppressed:
                    fields["honeypod.suppressed"] = suppressed
                events.emit("sensor.syn", DECOY, fields, rule=RULE_SCAN)


def _open() -> list[tuple[socket.socket, int, int]]:
    opened: list[tuple[socket.socket, int, int]] = []
    for family, proto in (
        (socket.AF_INET, socket.IPPROTO_TCP),
        (socket.AF_INET, socket.IPPROTO_ICMP),
        (socket.AF_INET6, socket.IPPROTO_TCP),
        (socket.AF_INET6, socket.IPPROTO_ICMPV6),
    ):
        try:
            sock = socket.socket(family, socket.SOCK_RAW, proto)
        except PermissionError:
            for s, _f, _p in opened:
                s.close()
            raise
        except OSError:
            continue  # no IPv6 in this pod: run with what there is
        sock.setblocking(False)
        opened.append((sock, family, proto))
    return opened


def _reader(sensor: Sensor, sock: socket.socket, family: int, proto: int) -> None:
    for _ in range(BATCH):
        try:
            data, addr = sock.recvfrom(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if family == socket.AF_INET:
            sensor.handle(packets.parse_ipv4(data))
        elif proto == socket.IPPROTO_TCP:
            sensor.handle(packets.parse_ipv6_tcp(data, addr[0]))
        else:
            sensor.handle(packets.parse_ipv6_icmp(data, addr[0]))


async def _run(sensor: Sensor, sockets: list[tuple[socket.socket, int, int]]) -> None:
    loop = asyncio.get_running_loop()
    try:
        for sock, family, proto in sockets:
            loop.add_reader(sock.fileno(), _reader, sensor, sock, family, proto)
        await asyncio.Event().wait()  # until cancelled at shutdown
    finally:
        for sock, _family, _proto in sockets:
            with contextlib.suppress(Exception):
                loop.remove_reader(sock.fileno())
            sock.close()


def start(
    detector: ScanDetector,
    *,
    listened_ports: set[int],
    ignored_ports: set[int],
) -> asyncio.Task[None] | None:
    """Open the raw sockets and start reading; ``None`` (and one warning) without CAP_NET_RAW."""
    try:
        sockets = _open()
    except PermissionError:
        events.emit(
            "honeypods.warning",
            DECOY,
            {
                "error.message": "packet sensor off: CAP_NET_RAW is missing, so pings and "
                "half-open scans are not seen; listeners still log every connection"
            },
            level="warning",
        )
        return None
    sensor = Sensor(detector, listened_ports=listened_ports, ignored_ports=ignored_ports)
    return asyncio.get_running_loop().create_task(_run(sensor, sockets))
