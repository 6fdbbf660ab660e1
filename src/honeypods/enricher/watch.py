"""The list-and-watch loop of one resource, over kubernetes_asyncio's raw responses.

Rules this module keeps:

* It follows the API's protocol as client-go's reflector does: a list in pages (``limit`` and
  ``continue``) gives the resourceVersion to watch from; the watch asks for bookmarks, so that
  version stays fresh on a quiet resource; a watch the server ends after ``timeoutSeconds`` is
  resumed from the last version seen.
* ``410 Gone`` (on a watch, as an ``ERROR`` event; on a list page, an expired ``continue``), a
  dropped stream, an error answer or an unreachable API all end in a new list, which ends the span
  of everything it no longer shows. A list that fails half-way ends nothing.
* Retries are never a busy loop: the first comes within 1 s, each failure after it doubles the
  delay up to 10 s, with jitter so that many enrichers do not relist in step. A watch that ends on
  its own within ``HEALTHY`` seconds counts as a failure.
* Responses are read raw (``_preload_content=False``): 50,000 pods are parsed with orjson into the
  sink's small records instead of generated model objects, and the watch stream is split into
  lines by a bounded splitter, since a line is one whole object.
* Every change of state is an ``enricher.watch`` event and a metric.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

import aiohttp
import orjson
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import Counter, Gauge

from honeypods.core import events, metrics
from honeypods.enricher.lines import LineSplitter, LineTooLong

PAGE: Final = 500
# kube-apiserver caps a watch at its --min-request-timeout (1800 s) times a random factor; asking
# for less spreads reconnects evenly and bounds how long a silently dead stream can go unnoticed.
WATCH_SECONDS: Final = 290
# Beyond the server's own timeout, how long a stream may stay silent before it counts as dead.
READ_GRACE: Final = 30.0
CONNECT_TIMEOUT: Final = 10.0
LIST_PAGE_TIMEOUT: Final = 60.0
HEALTHY: Final = 5.0
FIRST_RETRY: Final = 1.0
MAX_RETRY: Final = 10.0
# etcd refuses values over 1.5 MiB; a watch line is one object plus its envelope.
MAX_LINE: Final = 4 << 20

RESTARTS: Final = Counter(
    "honeypods_enricher_watch_restarts",
    "Lists and watches started again: expired (410), stream_ended, error.",
    ["resource", "reason"],
    registry=metrics.REGISTRY,
)
SYNCED: Final = Gauge(
    "honeypods_enricher_synced",
    "1 while the resource's state is complete (listed and being watched), else 0.",
    ["resource"],
    registry=metrics.REGISTRY,
)
SKIPPED: Final = Counter(
    "honeypods_enricher_objects_skipped",
    "Objects from the API that could not be read (malformed), skipped.",
    ["resource"],
    registry=metrics.REGISTRY,
)


class Sink(Protocol):
    """Where one resource's objects go; ``now`` is the wall clock in epoch seconds."""

    def begin_relist(self) -> None: ...

    def end_relist(self, now: float) -> None: ...

    def upsert(self, obj: Mapping[str, Any], now: float) -> None: ...

    def delete(self, obj: Mapping[str, Any], now: float) -> None: ...


class Expired(Exception):
    """The resourceVersion or continue token is too old: only a new list helps."""


class Failed(Exception):
    """The API answered an error, or a stream could not be read."""


ListCall = Callable[..., Awaitable[Any]]


def backoff(failures: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after ``failures`` failures in a row (1 or more)."""
    if failures <= 1:
        return FIRST_RETRY * (0.2 + 0.8 * rand())
    return min(MAX_RETRY, FIRST_RETRY * 2.0 ** (failures - 1)) * (0.5 + 0.5 * rand())


def _status(body: bytes) -> tuple[int, str, str]:
    """(code, reason, message) of a Kubernetes Status body, as far as it is one."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 0, "", events.clip_text(body.decode("utf-8", "replace"), 200)
    if not isinstance(doc, dict):
        return 0, "", ""
    code = doc.get("code")
    return (
        code if isinstance(code, int) else 0,
        str(doc.get("reason") or ""),
        events.clip_text(str(doc.get("message") or ""), 200),
    )


class Reflector:
    """Keeps one sink in step with one resource (of one namespace, or of all).

    Args:
        resource: the name in events and metrics (``pods``, ``pods/team-a``, ``nodes``, ...).
        call: the API's list method (``CoreV1Api.list_pod_for_all_namespaces``, or a partial of
            ``list_namespaced_pod`` with the namespace).
        sink: where objects go.
        on_synced: called after each complete list.
        clock: wall clock, epoch seconds.
    """

    def __init__(
        self,
        resource: str,
        call: ListCall,
        sink: Sink,
        *,
        on_synced: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        watch_seconds: int = WATCH_SECONDS,
    ) -> None:
        self.resource = resource
        self.call = call
        self.sink = sink
        self.on_synced = on_synced
        self.clock = clock
        self.watch_seconds = watch_seconds
        self.version = ""
        self.lists = 0
        self._synced = SYNCED.labels(resource)
        self._skipped = SKIPPED.labels(resource)
        self._synced.set(0)

    def _state(self, state: str, reason: str = "", **extra: Any) -> None:
        fields: dict[str, Any] = {"enricher.resource": self.resource, "enricher.state": state}
        if reason:
            fields["event.reason"] = reason
        # Short names are the enricher's own fields; dotted ones are given whole.
        fields.update({k if "." in k else f"enricher.{k}": v for k, v in extra.items()})
        level = "warning" if state == "retrying" else "info"
        events.emit("enricher.watch", "enricher", fields, level=level)

    async def run(self) -> None:
        """List and watch until cancelled."""
        failures = 0
        reason = "start"
        while True:
            watching_since: float | None = None
            try:
                if not self.version:
                    self._state("listing", reason)
                    count = await self._list()
                    self.lists += 1
                    self._synced.set(1)
                    self._state("synced", objects=count, resource_version=self.version)
                    if self.on_synced is not None:
                        self.on_synced()
                self._state("watching", resource_version=self.version)
                watching_since = time.monotonic()
                await self._watch()
                if time.monotonic() - watching_since >= HEALTHY:
                    failures = 0
                    continue  # the server's timeout: resume from the last version seen
                reason, message = "stream_ended", "the watch ended at once"
            except Expired as exc:
                reason, message = "expired", str(exc)
            except (Failed, ApiException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason, message = "error", f"{type(exc).__name__}: {exc}"
            except LineTooLong as exc:
                reason, message = "error", f"line too long: {exc}"
            # Only a watch that lasted resets the count: a list that works followed by a watch
            # that fails at once must still back off, or 50,000 pods are listed every second.
            if watching_since is not None and time.monotonic() - watching_since >= HEALTHY:
                failures = 0
            failures += 1
            RESTARTS.labels(self.resource, reason).inc()
            delay = backoff(failures)
            # Whatever failed, the next round lists again: only a complete list is known true.
            self.version = ""
            self._synced.set(0)
            self._state(
                "relisting" if reason == "expired" else "retrying",
                reason,
                **{"error.message": events.clip_text(message, 500), "retry_in": round(delay, 3)},
            )
            await asyncio.sleep(delay)

    async def _list(self) -> int:
        self.sink.begin_relist()
        token = ""
        count = 0
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE}
            if token:
                kwargs["_continue"] = token
            response = await self.call(
                **kwargs,
                _preload_content=False,
                _request_timeout=aiohttp.ClientTimeout(
                    total=LIST_PAGE_TIMEOUT, sock_connect=CONNECT_TIMEOUT
                ),
            )
            async with response:
                body = await response.read()
                if response.status != 200:
                    code, why, message = _status(body)
                    if response.status == 410 or code == 410:
                        raise Expired(message or why or "410 Gone")
                    raise Failed(f"list: HTTP {response.status} {why} {message}".strip())
            try:
                doc = orjson.loads(body)
                meta = doc.get("metadata") or {}
                items = doc.get("items") or []
            except (orjson.JSONDecodeError, AttributeError) as exc:
                raise Failed(f"list: not a list ({exc})") from None
            now = self.clock()
            for item in items:
                self._apply("ADDED", item, now)
            count += len(items)
            token = str(meta.get("continue") or "")
            if not token:
                self.version = str(meta.get("resourceVersion") or "")
                break
        self.sink.end_relist(self.clock())
        return count

    async def _watch(self) -> None:
        response = await self.call(
            watch=True,
            resource_version=self.version,
            allow_watch_bookmarks=True,
            timeout_seconds=self.watch_seconds,
            _preload_content=False,
            _request_timeout=aiohttp.ClientTimeout(
                sock_connect=CONNECT_TIMEOUT, sock_read=self.watch_seconds + READ_GRACE
            ),
        )
        async with response:
            if response.status != 200:
                body = await response.content.read(65536)
                code, why, message = _status(body)
                if response.status == 410 or code == 410:
                    raise Expired(message or "410 Gone")
                raise Failed(f"watch: HTTP {response.status} {why} {message}".strip())
            splitter = LineSplitter(MAX_LINE)
            async for chunk in response.content.iter_any():
                for line in splitter.feed(chunk):
                    self._event(line)

    def _event(self, line: bytes) -> None:
        try:
            doc = orjson.loads(line)
            kind = doc["type"]
            obj = doc["object"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise Failed("watch: a line that is not a watch event") from None
        if kind == "ERROR":
            code = obj.get("code") if isinstance(obj, dict) else None
            message = str(obj.get("message", "")) if isinstance(obj, dict) else ""
            if code == 410:
                raise Expired(message or "410 Gone")
            raise Failed(f"watch: ERROR {code} {events.clip_text(message, 200)}")
        if not isinstance(obj, dict):
            self._skipped.inc()
            return
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind != "BOOKMARK":
            self._apply(kind, obj, self.clock())
        if isinstance(version, str) and version:
            self.version = version

    def _apply(self, kind: str, obj: Any, now: float) -> None:
        try:
            if kind == "DELETED":
                self.sink.delete(obj, now)
            elif kind in ("ADDED", "MODIFIED"):
                self.sink.upsert(obj, now)
        except (ValueError, TypeError, AttributeError):
            self._skipped.inc()
