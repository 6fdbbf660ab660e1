"""Settings of the port-scan decoy: ``HONEYPODS_PORTSCAN_*``, their defaults and their validation."""

from __future__ import annotations

from dataclasses import dataclass

from honeypods.core.settings import ConfigError


@dataclass(frozen=True)
class PortscanConfig:
    """IP enumeration / port-scan responder."""

    # Ports to listen on: commonly probed services and Kubernetes components. Ranges (a-b) allowed.
    ports: tuple[int, ...] = (
        2375, 2376, 2379, 2380, 5000, 5432, 5601, 5900, 6379, 6443, 8000, 8081, 8888, 9000,
        9200, 10250, 10255, 10256, 11211, 15672, 27017,
    )  # fmt: skip
    # Distinct ports from one source within the window that make a port scan (Calico's was 4).
    scan_threshold: int = 4
    # Window in seconds; one scan event per source per window (Calico looked back 10 minutes).
    scan_window: float = 600.0
    # After the threshold is crossed, wait this long to collect the rest of the scan's ports.
    scan_report_delay: float = 2.0
    # Sources tracked at once by the detector; the oldest is forgotten beyond this.
    scan_max_sources: int = 10000
    # First bytes recorded per connection.
    capture_bytes: int = 4096
    # Seconds after the first byte before what arrived so far is logged.
    capture_timeout: float = 5.0
    # Packet sensor, `on` or `off`: with CAP_NET_RAW it sees pings and SYNs to closed ports.
    sensor: str = "off"

    def listens(self) -> list[tuple[str, int]]:
        """(setting, port) for every port it binds."""
        return [("HONEYPODS_PORTSCAN_PORTS", port) for port in self.ports]

    def check(self) -> None:
        """Raises:
        ConfigError: a value is out of range."""
        if not self.ports:
            raise ConfigError("HONEYPODS_PORTSCAN_PORTS: at least one port")
        if self.scan_threshold < 2:
            raise ConfigError("HONEYPODS_PORTSCAN_SCAN_THRESHOLD must be at least 2")
        if self.sensor not in ("off", "on"):
            raise ConfigError(f"HONEYPODS_PORTSCAN_SENSOR={self.sensor!r}: off or on")
        for name in ("scan_window", "scan_report_delay", "capture_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"HONEYPODS_PORTSCAN_{name.upper()} must be positive")
        if self.capture_bytes <= 0 or self.scan_max_sources <= 0:
            raise ConfigError("HONEYPODS_PORTSCAN capture_bytes/scan_max_sources: positive")
