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
from collections.abc import Iterator, Mapping
from typing import Any, Final

from prometheus_client import CollectorRegistry, Info, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY: Final = CollectorRegistry(auto_describe=True)

# Name, help, labels of each metric fed from the counts below. They are plain dicts rather than
# prometheus-client children: every connection and event bumps several of them, and a dict update
# costs a fraction of a locked child increment. The event loop is the only writer; a scrape (on the
# same loop) reads them through the collector.
_FAMILIES: Final = {
    "connections": (
        "honeypods_connections",
        "TCP connections accepted, including those then refused for capacity.",
        ("decoy",),
    ),
    "closed": (
        "honeypods_connections_closed",
        "Connections closed, by reason (eof, idle_timeout, over_capacity, protocol_error, ...).",
        ("decoy", "reason"),
    ),
    "events": (
        "honeypods_events",
        "Events written to the stream, by event id.",
        ("decoy", "event"),
    ),
    "alerts": (
        "honeypods_alert_events",
        "Attacker-interaction events, by the alert rule they map to (honeypod.*).",
        ("decoy", "rule"),
    ),
    "logins": (
        "honeypods_login_attempts",
        "Login attempts (web form or basic auth, MySQL, SSH), by outcome.",
        ("decoy", "outcome"),
    ),
    "errors": (
        "honeypods_errors",
        "Per-connection errors: malformed input (protocol_error) and caught exceptions "
        "(server_error).",
        ("decoy", "kind"),
    ),
}
_counts: Final[dict[str, dict[tuple[str, ...], int]]] = {name: {} for name in _FAMILIES}
_active: Final[dict[str, int]] = {}
# Events written, by (decoy, event id, rule, outcome): one update per event, which the events,
# alerts and logins families are summed from when scraped.
_events: Final[dict[tuple[str, str, str | None, str | None], int]] = {}


def _snapshot() -> dict[str, dict[tuple[str, ...], int]]:
    out = {name: dict(counts) for name, counts in _counts.items()}
    for (decoy, action, rule, outcome), n in list(_events.items()):
        key: tuple[str, ...] = (decoy, action)
        out["events"][key] = out["events"].get(key, 0) + n
        if rule is not None:
            key = (decoy, rule)
            out["alerts"][key] = out["alerts"].get(key, 0) + n
        if action.endswith(".login"):
            key = (decoy, outcome or "failure")
            out["logins"][key] = out["logins"].get(key, 0) + n
    return out


class _Collector:
    def collect(self) -> Iterator[Any]:
        counts = _snapshot()
        for name, (metric, doc, labels) in _FAMILIES.items():
            family = CounterMetricFamily(metric, doc, labels=list(labels))
            for key, value in counts[name].items():
                family.add_metric(list(key), value)
            yield family
        gauge = GaugeMetricFamily(
            "honeypods_connections_active", "Connections open now.", labels=["decoy"]
        )
        for decoy, value in list(_active.items()):
            gauge.add_metric([decoy], value)
        yield gauge

    def describe(self) -> Iterator[Any]:
        return iter(())


REGISTRY.register(_Collector())
BUILD: Final = Info("honeypods_build", "Version of the running package.", registry=REGISTRY)

_ready = False
# Parts that are up but not ready yet (the enricher until its first list of pods is in).
_waiting: set[str] = set()


def set_ready(ready: bool = True) -> None:
    """Readiness flips on once every listener is bound, and off when shutdown starts."""
    global _ready  # noqa: PLW0603 - process-wide readiness flag
    _ready = ready


def hold(name: str) -> None:
    """Keep /readyz at 503 until ``release(name)``, whatever ``set_ready`` says."""
    _waiting.add(name)


def release(name: str) -> None:
    _waiting.discard(name)


def ready() -> bool:
    return _ready and not _waiting


def _bump(name: str, key: tuple[str, ...]) -> None:
    counts = _counts[name]
    counts[key] = counts.get(key, 0) + 1


def declare(decoy: str, rules: tuple[str, ...], *, logins: bool) -> None:
    """Create the decoy's counters at 0: connections, its alert events, and login attempts.

    A counter that only appears at its first event hides that event from increase() and rate(),
    so a dashboard would show nothing for a single ping (Prometheus' instrumentation guide: avoid
    missing metrics).
    """
    _counts["connections"].setdefault((decoy,), 0)
    _active.setdefault(decoy, 0)
    for rule in rules:
        _counts["alerts"].setdefault((decoy, rule), 0)
    if logins:
        for outcome in ("success", "failure"):
            _counts["logins"].setdefault((decoy, outcome), 0)


def connection_opened(decoy: str) -> None:
    _bump("connections", (decoy,))
    _active[decoy] = _active.get(decoy, 0) + 1


def connection_closed(decoy: str, reason: str) -> None:
    _bump("closed", (decoy, reason))
    _active[decoy] -= 1
    if reason in ("protocol_error", "server_error"):
        _bump("errors", (decoy, reason))


def count(decoy: str, action: str, rule: str | None, outcome: str | None) -> None:
    """Events hook (``events.set_counter``): counts every event written."""
    key = (decoy, action, rule, outcome)
    _events[key] = _events.get(key, 0) + 1


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
                if ready()
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
