"""IP-enumeration and port-scan decoy.

Policy, as the original Calico honeypod defined it: any contact is ``honeypod.ip.enum`` (port 22 is
``honeypod.network.ssh``), and ``scan_threshold`` or more distinct ports from one source within
``scan_window`` seconds is one ``honeypod.port.scan``, listing the ports.

Each listener accepts, records the first bytes the client sends (bounded in size and time), and
then stays silent like a real service waiting for a protocol it does not recognise, until the peer
leaves or the guard's idle timeout ends it. It is a plain ``asyncio.Protocol``, not a stream
handler: most contacts are scanners that connect and leave, and this path must stay cheap.

The optional packet sensor (``sensor.py``) feeds the same detector, so a port seen by both the
listener and the sensor counts once.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from honeypods.core import events
from honeypods.core.guard import Guard, Limits, Running, Session
from honeypods.portscan.config import PortscanConfig

DECOY: Final = "portscan"
RULE_CONTACT: Final = "honeypod.ip.enum"
RULE_SSH: Final = "honeypod.network.ssh"
RULE_SCAN: Final = "honeypod.port.scan"
# Ports listed in one scan event; the count still covers every port.
MAX_LISTED_PORTS: Final = 1024


def rule_for(session: Session) -> str:
    return RULE_SSH if session.local[1] == 22 else RULE_CONTACT


class _Source:
    __slots__ = ("cooldown_until", "destination", "observed_by", "ports", "timer")

    def __init__(self) -> None:
        self.ports: dict[int, float] = {}  # port -> last seen (monotonic)
        self.observed_by: set[str] = set()
        self.destination = ""
        self.cooldown_until = 0.0
        self.timer: asyncio.TimerHandle | None = None


class ScanDetector:
    """Distinct destination ports per source in a sliding window; one report per source per window.

    When a source reaches the threshold, the report waits ``report_delay`` seconds to collect the
    rest of the scan, is emitted once, and the source is quiet for one window. Memory is bounded:
    at most ``max_sources`` sources and ``MAX_LISTED_PORTS`` ports each are remembered.
    """

    def __init__(
        self,
        *,
        threshold: int,
        window: float,
        report_delay: float,
        max_sources: int,
        emit: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.report_delay = report_delay
        self.max_sources = max_sources
        self.sources: OrderedDict[str, _Source] = OrderedDict()
        self._emit = emit or (
            lambda action, fields: events.emit(action, DECOY, fields, rule=RULE_SCAN)
        )

    def saw(self, source: str, destination: str, port: int, via: str) -> None:
        """Record one contact of ``source`` with ``port``."""
        now = time.monotonic()
        state = self.sources.get(source)
        if state is None:
            state = self.sources[source] = _Source()
            if len(self.sources) > self.max_sources:
                _old, evicted = self.sources.popitem(last=False)
                if evicted.timer is not None:
                    evicted.timer.cancel()
        else:
            self.sources.move_to_end(source)
        state.observed_by.add(via)
        state.destination = state.destination or destination
        if port in state.ports or len(state.ports) < MAX_LISTED_PORTS:
            state.ports[port] = now
        if state.timer is not None or now < state.cooldown_until:
            return
        cutoff = now - self.window
        if len(state.ports) >= self.threshold:
            stale = [p for p, seen in state.ports.items() if seen < cutoff]
            for p in stale:
                del state.ports[p]
        if len(state.ports) >= self.threshold:
            loop = asyncio.get_running_loop()
            state.timer = loop.call_later(self.report_delay, self._report, source)

    def _report(self, source: str) -> None:
        state = self.sources.get(source)
        if state is None:
            return
        state.timer = None
        ports = sorted(state.ports)
        self._emit(
            "portscan.scan",
            {
                "source.ip": source,
                "destination.ip": state.destination,
                "portscan.ports": ports,
                "portscan.port_count": len(ports),
                "portscan.window": self.window,
                "portscan.observed_by": sorted(state.observed_by),
            },
        )
        state.ports.clear()
        state.observed_by.clear()
        state.cooldown_until = time.monotonic() + self.window

    def close(self) -> None:
        """Report scans still waiting for their delay (at shutdown nothing is dropped)."""
        for source, state in list(self.sources.items()):
            if state.timer is not None:
                state.timer.cancel()
                self._report(source)


class Listener(asyncio.Protocol):
    """One connection: capture the first bytes, then say nothing."""

    def __init__(self, session: Session, config: PortscanConfig, detector: ScanDetector) -> None:
        self.session = session
        self.config = config
        self.detector = detector
        self.captured = bytearray()
        self.more = False
        self.reported = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        s = self.session
        self.detector.saw(s.peer[0], s.local[0], s.local[1], "listener")

    def data_received(self, data: bytes) -> None:
        if self.reported:
            return
        room = self.config.capture_bytes - len(self.captured)
        self.captured += data[:room]
        if len(data) > room:
            self.more = True
        if len(self.captured) >= self.config.capture_bytes:
            self._report()
        elif self.timer is None:
            # Time-bound the capture only once something arrived: silent scanners cost no timer.
            self.timer = asyncio.get_running_loop().call_later(
                self.config.capture_timeout, self._report
            )

    def eof_received(self) -> bool:
        self._report()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._report()

    def _report(self) -> None:
        if self.reported:
            return
        self.reported = True
        if self.timer is not None:
            self.timer.cancel()
        if not self.captured:
            return
        data = bytes(self.captured)
        self.session.emit(
            "portscan.payload",
            {
                "portscan.payload": events.clip_text(data, events.LONG_TEXT_CAP),
                "portscan.payload_hex": events.to_hex(data),
                "portscan.payload_bytes": len(data),
                "portscan.truncated": self.more,
            },
        )


async def start(
    config: PortscanConfig, *, limits: Limits, host: str, metrics_port: int = 0
) -> Running:
    """Listen on every configured port and, when asked, start the packet sensor.

    Args:
        config: the decoy's settings.
        limits: connection limits for its guard.
        host: address to bind.
        metrics_port: the metrics port, which the sensor must not count as scanned.
    """
    guard = Guard(DECOY, limits, rule_for)
    detector = ScanDetector(
        threshold=config.scan_threshold,
        window=config.scan_window,
        report_delay=config.scan_report_delay,
        max_sources=config.scan_max_sources,
    )
    factory = guard.protocol_factory(lambda session: Listener(session, config, detector))
    running = await guard.start(host, [(factory, port) for port in config.ports])
    running.cleanups.append(detector.close)
    if config.sensor == "on":
        from honeypods.portscan import sensor

        listened = {int(a.rsplit(":", 1)[1]) for a in running.addresses}
        task = sensor.start(
            detector,
            listened_ports=listened,
            ignored_ports={metrics_port} if metrics_port else set(),
        )
        if task is not None:
            running.tasks.append(task)
    return running
