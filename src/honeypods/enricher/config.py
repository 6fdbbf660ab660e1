"""Settings of the enricher: ``HONEYPODS_ENRICHER_*``, their defaults and their validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from honeypods.core.settings import ConfigError

# RFC 1123 label: what a namespace name may be.
_NAMESPACE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class EnricherConfig:
    """Kubernetes workload attribution of decoy events."""

    # Port of POST /events (the decoys' webhook) and GET /attribution.
    port: int = 9479
    # When set, both endpoints need `Authorization: Bearer <token>` (decoys: HONEYPODS_WEBHOOK_TOKEN).
    token: str = ""
    # Watch only these namespaces (a Role in each is enough); empty: every namespace.
    namespaces: tuple[str, ...] = ()
    # Watch nodes, so node and host-network addresses resolve to their node (cluster-wide read).
    nodes: bool = True
    # Seconds of history kept after a pod stopped holding an address.
    horizon: float = 3600.0
    # Most (address, pod, time span) entries kept; beyond it the oldest history goes first.
    max_spans: int = 200000
    # Largest POST /events body in bytes; a bigger one is refused with 413.
    max_body: int = 4194304

    def listens(self) -> list[tuple[str, int]]:
        """(setting, port) for every port it binds."""
        return [("HONEYPODS_ENRICHER_PORT", self.port)]

    def check(self) -> None:
        """Raises:
        ConfigError: a value is out of range."""
        if not self.port:
            raise ConfigError("HONEYPODS_ENRICHER_PORT: a port, 1-65535")
        if self.token and (not self.token.isascii() or any(c.isspace() for c in self.token)):
            raise ConfigError("HONEYPODS_ENRICHER_TOKEN: printable ASCII without spaces")
        for namespace in self.namespaces:
            if not _NAMESPACE.match(namespace):
                raise ConfigError(f"HONEYPODS_ENRICHER_NAMESPACES: {namespace!r} is no namespace")
        if not 60 <= self.horizon <= 7 * 86400:
            raise ConfigError("HONEYPODS_ENRICHER_HORIZON: 60 to 604800 seconds")
        if not 1000 <= self.max_spans <= 10_000_000:
            raise ConfigError("HONEYPODS_ENRICHER_MAX_SPANS: 1000 to 10000000")
        if not 1024 <= self.max_body <= 64 << 20:
            raise ConfigError("HONEYPODS_ENRICHER_MAX_BODY: 1024 to 67108864 bytes")
