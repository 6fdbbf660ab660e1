"""The port-scan detector: distinct ports per source in a sliding window, one report per scan.

Both the listeners (``server.py``) and the packet sensor (``sensor.py``) feed it, so a port seen
by both counts once.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from honeypods.core import events

DECOY: Final = "portscan"
RULE_CONTACT: Final = "honeypod.ip.enum"
RULE_SCAN: Final = "honeypod.port.scan"
# Ports listed in one scan event; the count still covers every port.
MAX_LISTED_PORTS: Final = 1024


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
