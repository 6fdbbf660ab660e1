"""Direct alerting: post alert events to an Alertmanager (API v2) or a generic JSON webhook.

For clusters without Prometheus. Every event with ``event.kind: alert`` is queued by an events
observer and sent in batches by one task per destination. Rules this module keeps:

* The observer never blocks and never allocates beyond the queue: a bounded deque; when it is full
  the oldest event is dropped and counted (``honeypods_alerting_dropped_total{reason="queue_full"}``).
* Network I/O never runs on the event loop: each destination has one worker thread (urllib, with a
  timeout), so at most one request per destination is in flight and a slow or dead receiver costs
  one thread, never a decoy's latency.
* A failed batch (connection error, timeout, 5xx, 429) is retried with exponential backoff and
  jitter, up to ``MAX_ATTEMPTS`` times, while new events keep queueing (bounded); then it is
  dropped and counted (``reason="failed"``). A 4xx other than 429 will not succeed on retry:
  dropped at once (``reason="rejected"``).
* Bodies are bounded: at most ``BATCH_EVENTS`` events per request, encoded in the worker thread.

Alertmanager gets one alert per (rule, decoy, pod, source IP, source workload) in a batch, labelled
``alertname`` (the rule, as the chart's PrometheusRule names it), ``decoy``, ``pod``,
``source_ip``, ``severity``, on events the enricher attributed ``source_namespace`` and
``source_workload``, and any configured extra labels; the annotations summarise the events.
Alertmanager resolves it after its ``resolve_timeout`` without new events (no ``endsAt`` is sent).
A webhook gets ``{"events": [...]}``: the events exactly as written to stdout.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import Counter, Gauge

from honeypods.core import events, metrics

# Events per request. A webhook gets whole events (each line at most MAX_LINE_BYTES, typically
# under 1 KiB), so fewer per request; Alertmanager gets one bounded summary per group.
BATCH_EVENTS: Final = {"alertmanager": 200, "webhook": 50}
# How long events gather before a batch is sent, unless a full batch is ready earlier.
FLUSH_INTERVAL: Final = 1.0
MAX_ATTEMPTS: Final = 6
BACKOFF_FIRST: Final = 1.0
BACKOFF_MAX: Final = 30.0
# Annotation lists are capped so that one alert stays small whatever the attacker sends.
MAX_LISTED: Final = 10

SENT: Final = Counter(
    "honeypods_alerting_sent",
    "Alert events delivered to a direct-alerting destination.",
    ["destination"],
    registry=metrics.REGISTRY,
)
DROPPED: Final = Counter(
    "honeypods_alerting_dropped",
    "Alert events not delivered: queue_full (oldest dropped), failed (retries exhausted), "
    "rejected (4xx answer).",
    ["destination", "reason"],
    registry=metrics.REGISTRY,
)
QUEUED: Final = Gauge(
    "honeypods_alerting_queued",
    "Alert events waiting to be sent.",
    ["destination"],
    registry=metrics.REGISTRY,
)


class DeliveryError(Exception):
    """A request failed; ``retry`` says whether sending it again may succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Destination:
    """Where to post, and how a batch of flat events becomes a request body."""

    name: str  # alertmanager | webhook, the metric label
    url: str
    encode: Callable[[list[Mapping[str, Any]]], bytes]


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL without credentials, and the headers carrying them (user:password@ is Basic)."""
    parts = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url, headers


def _post(url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> None:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - scheme checked in config
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - same
            response.read(65536)
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code == 429
        raise DeliveryError(f"HTTP {exc.code}", retry=retry) from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets
        raise DeliveryError(type(exc).__name__, retry=True) from None


def alertmanager_body(
    batch: list[Mapping[str, Any]], labels: Mapping[str, str], severity: str
) -> bytes:
    """Alertmanager API v2 alerts: one per (rule, decoy, pod, source IP) in the batch."""
    groups: dict[tuple[str, str, str, str, tuple[tuple[str, str], ...]], list[Mapping[str, Any]]]
    groups = {}
    for event in batch:
        key = (
            str(event.get("rule.name", "")),
            str(event.get("honeypod.decoy", "")),
            str(event.get("host.name", "")),
            str(event.get("source.ip", "")),
            workload_labels(event),
        )
        groups.setdefault(key, []).append(event)
    alerts = []
    for (rule, decoy, pod, source, workload), group in groups.items():
        actions = sorted({str(e["event.action"]) for e in group})
        ports = sorted({int(e["destination.port"]) for e in group if "destination.port" in e})
        users = sorted({str(e["user.name"]) for e in group if "user.name" in e})
        annotations = {
            "summary": f"{rule}: {len(group)} events on decoy {decoy} (pod {pod}) from {source or 'unknown'}",
            "description": (
                f"{len(group)} events ({', '.join(actions)}) from {source or 'an unknown source'} "
                f"between {group[0]['@timestamp']} and {group[-1]['@timestamp']}. No legitimate "
                f"workload talks to a decoy. Details: the pod's log, rule.name == {rule}."
            ),
            "events": str(len(group)),
            "actions": ",".join(actions),
            "first_seen": str(group[0]["@timestamp"]),
            "last_seen": str(group[-1]["@timestamp"]),
        }
        if ports:
            annotations["destination_ports"] = ",".join(map(str, ports[:MAX_LISTED]))
        if users:
            annotations["usernames"] = ",".join(events.clip_text(u, 64) for u in users[:MAX_LISTED])
        _honeytoken_annotations(group, annotations)
        alert_labels = {
            **labels,
            "alertname": rule,
            "decoy": decoy,
            "pod": pod,
            "severity": severity,
        }
        if source:
            alert_labels["source_ip"] = source
        alert_labels.update(workload)
        alerts.append(
            {"labels": alert_labels, "annotations": annotations, "startsAt": group[0]["@timestamp"]}
        )
    return json.dumps(alerts, separators=(",", ":")).encode()


def _honeytoken_annotations(group: list[Mapping[str, Any]], annotations: dict[str, str]) -> None:
    """What a honeytoken.used alert must tell at once: which token, where it was planted, and
    whether its use proves that someone read Secrets of the cluster."""
    used = [e for e in group if "honeytoken.name" in e]
    if not used:
        return
    annotations["honeytokens"] = ",".join(sorted({str(e["honeytoken.name"]) for e in used}))
    places = sorted({str(p) for e in used for p in e.get("honeytoken.placements", ())})
    annotations["honeytoken_placements"] = ",".join(places[:MAX_LISTED])
    if any(e.get("honeytoken.secret_read") for e in used):
        annotations["secret_read"] = "true"  # noqa: S105 - a flag, not a password
        meaning = next(
            str(e["honeytoken.meaning"]) for e in used if e.get("honeytoken.secret_read")
        )
        annotations["description"] = meaning + ". " + annotations["description"]


def workload_labels(event: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``source_namespace`` and ``source_workload`` of an event the enricher attributed.

    Only exact and node attributions name one; their values come from the cluster's own objects,
    so the labels' cardinality is bounded by the cluster, never by what an attacker sends.
    """
    attribution = event.get("source.kubernetes.attribution")
    if attribution == "exact":
        kind = event.get("source.kubernetes.workload.kind")
        name = event.get("source.kubernetes.workload.name")
        namespace = event.get("source.kubernetes.namespace")
        if kind and name and namespace:
            return (("source_namespace", str(namespace)), ("source_workload", f"{kind}/{name}"))
    elif attribution == "node":
        node = event.get("source.kubernetes.node.name")
        if node:
            return (("source_workload", f"Node/{node}"),)
    return ()


def webhook_body(batch: list[Mapping[str, Any]]) -> bytes:
    """``{"events": [...]}`` with each event exactly as its stdout line."""
    return ('{"events":[' + ",".join(events.render(e) for e in batch) + "]}").encode()


class Sender:
    """The queue, batching and retries of one destination."""

    def __init__(
        self, destination: Destination, *, queue_size: int, timeout: float, token: str = ""
    ) -> None:
        self.destination = destination
        self.url, self.headers = split_url(destination.url)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.queue: deque[Mapping[str, Any]] = deque(maxlen=queue_size)
        self.batch = BATCH_EVENTS[destination.name]
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"alerting-{destination.name}"
        )
        self.task: asyncio.Task[None] | None = None
        self.closing = False
        self.stopping = asyncio.Event()
        self.inflight = 0
        self._dropped = DROPPED.labels(destination.name, "queue_full")
        self._queued = QUEUED.labels(destination.name)

    def put(self, event: Mapping[str, Any]) -> None:
        if len(self.queue) == self.queue.maxlen:
            self._dropped.inc()
        self.queue.append(event)  # a full deque drops its oldest item itself
        if len(self.queue) >= self.batch:
            if threading.get_ident() == self.loop_thread:
                self.wake.set()
            else:
                self.loop.call_soon_threadsafe(self.wake.set)

    def _take(self) -> list[Mapping[str, Any]]:
        count = min(self.batch, len(self.queue))
        return [self.queue.popleft() for _ in range(count)]

    def _send(self, batch: list[Mapping[str, Any]]) -> None:
        # In the worker thread: encoding a batch is work the event loop should not do.
        _post(self.url, self.headers, self.destination.encode(batch), self.timeout)

    async def _deliver(self, batch: list[Mapping[str, Any]]) -> None:
        name = self.destination.name
        delay = BACKOFF_FIRST
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                await self.loop.run_in_executor(self.executor, self._send, batch)
            except DeliveryError as exc:
                if not exc.retry:
                    DROPPED.labels(name, "rejected").inc(len(batch))
                    _warn(name, f"dropped {len(batch)} alert events: {exc}")
                    return
                if attempt == MAX_ATTEMPTS or self.closing:
                    DROPPED.labels(name, "failed").inc(len(batch))
                    _warn(name, f"dropped {len(batch)} alert events after {attempt} tries: {exc}")
                    return
                # Backoff that shutdown interrupts: then the batch gets its last try.
                with contextlib.suppress(TimeoutError):
                    jitter = random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
                    await asyncio.wait_for(self.stopping.wait(), delay * jitter)
                delay = min(delay * 2, BACKOFF_MAX)
            else:
                SENT.labels(name).inc(len(batch))
                return

    async def run(self) -> None:
        while not self.closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), FLUSH_INTERVAL)
            self.wake.clear()
            while self.queue and not self.closing:
                batch = self._take()
                self._queued.set(len(self.queue))
                self.inflight = len(batch)
                await self._deliver(batch)
                self.inflight = 0
            self._queued.set(len(self.queue))

    async def close(self, timeout: float) -> None:
        """Send what is queued (one try per batch) within ``timeout``, then stop."""
        name = self.destination.name
        self.closing = True
        self.stopping.set()
        self.wake.set()
        deadline = time.monotonic() + timeout
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), timeout)
            except TimeoutError:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
                DROPPED.labels(name, "failed").inc(self.inflight)
        while self.queue and time.monotonic() < deadline:
            batch = self._take()
            try:
                await asyncio.wait_for(self._deliver(batch), deadline - time.monotonic())
            except TimeoutError:
                DROPPED.labels(name, "failed").inc(len(batch))
        if self.queue:
            DROPPED.labels(name, "failed").inc(len(self.queue))
            self.queue.clear()
        self._queued.set(0)
        self.executor.shutdown(wait=False, cancel_futures=True)


def _warn(destination: str, message: str) -> None:
    events.emit(
        "honeypods.warning",
        "runner",
        {"error.message": f"direct alerting ({destination}): {message}"},
        level="warning",
    )


class Forwarder:
    """The events observer feeding every configured destination."""

    def __init__(self, senders: list[Sender]) -> None:
        self.senders = senders

    def observe(self, event: Mapping[str, Any]) -> None:
        if event.get("event.kind") != "alert":
            return
        for sender in self.senders:
            sender.put(event)

    async def close(self, timeout: float) -> None:
        events.remove_observer(self.observe)
        await asyncio.gather(*(s.close(timeout) for s in self.senders))


def start(
    *,
    alertmanager_url: str = "",
    webhook_url: str = "",
    webhook_token: str = "",
    labels: Mapping[str, str] | None = None,
    severity: str = "critical",
    queue_size: int = 10000,
    timeout: float = 5.0,
) -> Forwarder | None:
    """Start the senders for the configured destinations and observe events; None if none is.

    Must be called on the running event loop. ``close()`` the result at shutdown.
    """
    destinations = []
    if alertmanager_url:
        url = alertmanager_url.rstrip("/") + "/api/v2/alerts"
        extra = dict(labels or {})
        destinations.append(
            Destination("alertmanager", url, lambda b: alertmanager_body(b, extra, severity))
        )
    if webhook_url:
        destinations.append(Destination("webhook", webhook_url, webhook_body))
    if not destinations:
        return None
    senders = [
        Sender(
            d,
            queue_size=queue_size,
            timeout=timeout,
            token=webhook_token if d.name == "webhook" else "",
        )
        for d in destinations
    ]
    for sender in senders:
        sender.task = asyncio.get_running_loop().create_task(sender.run())
    forwarder = Forwarder(senders)
    events.add_observer(forwarder.observe)
    return forwarder
