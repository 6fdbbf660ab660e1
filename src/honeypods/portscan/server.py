"""IP-enumeration and port-scan decoy.

Policy, as the original Calico honeypod defined it: any contact is ``honeypod.ip.enum`` (port 22 is
``honeypod.network.ssh``), and ``scan_threshold`` or more distinct ports from one source within
``scan_window`` seconds is one ``honeypod.port.scan``, listing the ports.

Each listener accepts, records the first bytes the client sends (bounded in size and time), and
then stays silent like a real service waiting for a protocol it does not recognise, until the peer
leaves or the guard's idle timeout ends it. It is a plain ``asyncio.Protocol``, not a stream
handler: most contacts are scanners that connect and leave, and this path must stay cheap.

The optional packet sensor (``sensor.py``) feeds the same detector (``detector.py``), so a port seen by both the
listener and the sensor counts once.
"""

from __future__ import annotations

import asyncio
from typing import Final

from honeypods.core import events
from honeypods.core.guard import Guard, Limits, Running, Session
from honeypods.portscan.config import PortscanConfig
from honeypods.portscan.detector import DECOY, RULE_CONTACT, ScanDetector

RULE_SSH: Final = "honeypod.network.ssh"


def rule_for(session: Session) -> str:
    return RULE_SSH if session.local[1] == 22 else RULE_CONTACT


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
