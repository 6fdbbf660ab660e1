"""Prometheus metrics and the health endpoint, on a port that is never a decoy port.

Kubernetes probes and Prometheus scrapes hit this port only, so they never touch a decoy and never
raise an alert. Labels are bounded: decoy, event id, rule, reason, outcome. Never an IP address or a
username: those belong in the event stream.

The HTTP side is a deliberately tiny asyncio server (GET only, one request per connection, bounded
reads with a timeout) so that the MySQL and port-scan images need no web framework.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY: Final = CollectorRegistry(auto_describe=True)

CONNECTIONS: Final = Counter(
    "honeypods_connections",
    "TCP connections accepted, including those then refused for capacity.",
    ["decoy"],
    registry=REGISTRY,
)
CLOSED: Final = Counter(
    "honeypods_connections_closed",
    "Connections closed, by reason (eof, idle_timeout, over_capacity, protocol_error, ...).",
    ["decoy", "reason"],
    registry=REGISTRY,
)
ACTIVE: Final = Gauge(
    "honeypods_connections_active",
    "Connections open now.",
    ["decoy"],
    registry=REGISTRY,
)
EVENTS: Final = Counter(
    "honeypods_events",
    "Events written to the stream, by event id.",
    ["decoy", "event"],
    registry=REGISTRY,
)
ALERTS: Final = Counter(
    "honeypods_alert_events",
    "Attacker-interaction events, by the alert rule they map to (honeypod.*).",
    ["decoy", "rule"],
    registry=REGISTRY,
)
LOGINS: Final = Counter(
    "honeypods_login_attempts",
    "Login attempts (web form or basic auth, MySQL, SSH), by outcome.",
    ["decoy", "outcome"],
    registry=REGISTRY,
)
ERRORS: Final = Counter(
    "honeypods_errors",
    "Per-connection errors: malformed input (protocol_error) and caught exceptions (server_error).",
    ["decoy", "kind"],
    registry=REGISTRY,
)
BUILD: Final = Info("honeypods_build", "Version of the running package.", registry=REGISTRY)

_ready = False


def set_ready(ready: bool = True) -> None:
    """Readiness flips on once every listener is bound, and off when shutdown starts."""
    global _ready  # noqa: PLW0603 - process-wide readiness flag
    _ready = ready


# Label children are looked up once per label set: on the hot path a dict hit is far cheaper than
# prometheus-client's label validation.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


# The alerts each decoy can raise. Their series are created at 0 when the decoy starts: a counter
# that only appears at its first event hides that event from increase() and rate(), so a dashboard
# would show nothing for a single ping (Prometheus' instrumentation guide: avoid missing metrics).
DECOY_RULES: Final[Mapping[str, tuple[str, ...]]] = {
    "portscan": ("honeypod.ip.enum", "honeypod.port.scan", "honeypod.network.ssh"),
    "web": ("honeypod.fake.svc",),
    "mysql": ("honeypod.vuln.svc",),
    "ssh": ("honeypod.network.ssh",),
}


def declare(decoy: str) -> None:
    """Create the decoy's counters at 0 (connections, alert events, login attempts)."""
    _child(CONNECTIONS, decoy)
    _child(ACTIVE, decoy)
    for rule in DECOY_RULES.get(decoy, ()):
        _child(ALERTS, decoy, rule)
    if decoy != "portscan":
        for outcome in ("success", "failure"):
            _child(LOGINS, decoy, outcome)


def connection_opened(decoy: str) -> None:
    _child(CONNECTIONS, decoy).inc()
    _child(ACTIVE, decoy).inc()


def connection_closed(decoy: str, reason: str) -> None:
    _child(CLOSED, decoy, reason).inc()
    _child(ACTIVE, decoy).dec()
    if reason in ("protocol_error", "server_error"):
        _child(ERRORS, decoy, reason).inc()


def count(decoy: str, action: str, rule: str | None, outcome: str | None) -> None:
    """Events hook (``events.set_counter``): counts every event written."""
    _child(EVENTS, decoy, action).inc()
    if rule is not None:
        _child(ALERTS, decoy, rule).inc()
    if action.endswith(".login"):
        _child(LOGINS, decoy, outcome or "failure").inc()


def observe(event: Mapping[str, Any]) -> None:
    """The same, for an event with dotted keys (as tests capture them)."""
    count(
        event["honeypod.decoy"],
        event["event.action"],
        event.get("rule.name"),
        event.get("event.outcome"),
    )


# -- HTTP endpoint ----------------------------------------------------------------------------------

_MAX_HEAD: Final = 8192
_READ_TIMEOUT: Final = 5.0


def _response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
        parts = head.split(b" ", 2)
        method, path = (parts[0], parts[1].split(b"?")[0]) if len(parts) == 3 else (b"", b"")
        if method not in (b"GET", b"HEAD"):
            reply = _response("405 Method Not Allowed", b"method not allowed\n")
        elif path == b"/metrics":
            reply = _response("200 OK", generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path in (b"/healthz", b"/livez"):
            reply = _response("200 OK", b"ok\n")
        elif path == b"/readyz":
            reply = (
                _response("200 OK", b"ready\n")
                if _ready
                else _response("503 Service Unavailable", b"not ready\n")
            )
        else:
            reply = _response("404 Not Found", b"not found\n")
        if method == b"HEAD":
            reply = reply.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        writer.write(reply)
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def start_server(host: str, port: int) -> asyncio.Server:
    """Serve /metrics, /healthz (liveness) and /readyz (readiness) on host:port."""
    from honeypods import __version__

    BUILD.info({"version": __version__})
    return await asyncio.start_server(_serve, host, port, limit=_MAX_HEAD)
