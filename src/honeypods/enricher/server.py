"""The enricher's HTTP side: ``POST /events`` from the decoys, ``GET /attribution`` for people and
``helm test``, and the wiring of client, reflectors and history.

Rules this module keeps:

* An event is attributed at its own ``@timestamp``, never at its arrival, so a batch that a decoy
  could only send late is still attributed to the pod that held the address then.
* Only decoy events are taken: an object with a catalogued ``event.action`` of a decoy, a
  ``@timestamp`` and its decoy's name. ``source.kubernetes`` is always the enricher's own: one
  that arrives with the event is replaced.
* Every refusal is answered (401, 400, 413) and is an ``enricher.rejected`` event and a metric;
  bodies are bounded in size and in the time they may take to arrive.
* Enriched events go out through the events stream (stdout) and its observers, so direct
  alerting forwards them exactly as a decoy's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from aiohttp import web

from honeypods.core import events, metrics, registry
from honeypods.core.catalogue import CATALOGUE
from honeypods.core.limits import Limits
from honeypods.enricher import kube, stats
from honeypods.enricher.config import EnricherConfig
from honeypods.enricher.history import Attribution, History
from honeypods.enricher.pods import Owners

BODY_SECONDS: Final = 10.0
REMEMBERED: Final = 4096
_PREFIX: Final = "source.kubernetes."


class Invalid(ValueError):
    """An event that is not a decoy's."""


def parse_time(text: Any) -> float:
    """An RFC 3339 time (as decoys write ``@timestamp``) in epoch seconds."""
    if not isinstance(text, str) or len(text) > 40:
        raise Invalid("no @timestamp")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("@timestamp is not RFC 3339") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def nested(attribution: Attribution) -> dict[str, Any]:
    """``source.kubernetes.*`` of an attribution as the object under ``source.kubernetes``."""
    out: dict[str, Any] = {}
    for key, value in attribution.fields().items():
        parts = key.removeprefix(_PREFIX).split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class Enricher:
    """A started enricher: what the runner stops and summarises."""

    def __init__(self, cfg: EnricherConfig, history: History, owners: Owners) -> None:
        self.cfg = cfg
        self.history = history
        self.owners = owners
        self.workloads = stats.Workloads()
        self.last: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.addresses: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.runner: web.AppRunner | None = None
        self.api: Any = None
        self.pending: set[str] = set()
        self._counts = {"received": 0, "accepted": 0, "rejected": 0}
        self._decoys = frozenset(registry.NAMES)

    @property
    def counts(self) -> dict[str, int]:
        return {**self._counts, "spans": self.history.spans, "pods": self.history.pods}

    # -- attribution ------------------------------------------------------------------------------

    def enrich(self, doc: Any) -> None:
        """Attribute one received event and write it out.

        Raises:
            Invalid: it is not a decoy event.
        """
        if not isinstance(doc, dict):
            raise Invalid("an event is not an object")
        meta = doc.get("event")
        action = meta.get("action") if isinstance(meta, dict) else None
        spec = CATALOGUE.get(action) if isinstance(action, str) else None
        honeypod = doc.get("honeypod")
        decoy = honeypod.get("decoy") if isinstance(honeypod, dict) else None
        if spec is None or decoy not in self._decoys:
            raise Invalid("not a decoy event")
        at = parse_time(doc.get("@timestamp"))
        source = doc.get("source")
        if isinstance(source, dict):
            source = doc["source"] = {k: v for k, v in source.items() if k != "kubernetes"}
            ip = source.get("ip")
            if isinstance(ip, str):
                found = self.history.lookup(ip, at)
                source["kubernetes"] = nested(found)
                stats.ATTRIBUTED.labels(found.attribution).inc()
                self._remember(ip, doc, found)
                if spec.kind == "alert" and found.attribution == "exact" and found.pod:
                    kind, name = found.workload or (found.pod.owner_kind, found.pod.owner_name)
                    self.workloads.add(found.pod.namespace, f"{kind}/{name}")
        events.write_doc(doc)

    def _remember(self, ip: str, doc: Mapping[str, Any], found: Attribution) -> None:
        key = found.fields().get(_PREFIX + "attribution", "none")
        self.last[ip] = {
            "@timestamp": doc.get("@timestamp"),
            "event.action": doc["event"]["action"],
            "honeypod.decoy": doc["honeypod"]["decoy"],
            "attribution": key,
        }
        self.last.move_to_end(ip)
        while len(self.last) > REMEMBERED:
            self.last.popitem(last=False)

    # -- HTTP -------------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        if not self.cfg.token:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.cfg.token}".encode())

    def _refuse(self, request: web.Request, status: int, reason: str, message: str,
                count: int = 0) -> web.Response:  # fmt: skip
        stats.REJECTED.labels(reason).inc()
        fields: dict[str, Any] = {
            "event.reason": reason,
            "http.response.status_code": status,
            "error.message": events.clip_text(message, 200),
        }
        if request.remote:
            fields["client.ip"] = request.remote
        if count:
            fields["honeypod.count"] = count
        events.emit("enricher.rejected", "enricher", fields, level="warning")
        return web.json_response({"error": message}, status=status)

    async def post_events(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._refuse(request, 401, "unauthorized", "a valid bearer token is needed")
        limit = self.cfg.max_body
        if request.content_length is not None and request.content_length > limit:
            return self._refuse(request, 413, "too_large", f"the body is over {limit} bytes")
        try:
            async with asyncio.timeout(BODY_SECONDS):
                body = await request.content.read(limit + 1)
                while len(body) <= limit and not request.content.at_eof():
                    more = await request.content.read(limit + 1 - len(body))
                    if not more:
                        break
                    body += more
        except TimeoutError:
            return self._refuse(request, 400, "malformed", "the body did not arrive in time")
        if len(body) > limit:
            return self._refuse(request, 413, "too_large", f"the body is over {limit} bytes")
        try:
            batch = orjson.loads(body)["events"]
            if not isinstance(batch, list):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return self._refuse(request, 400, "malformed", 'the body is not {"events": [...]}')
        accepted = rejected = 0
        first = ""
        for doc in batch:
            try:
                self.enrich(doc)
                accepted += 1
            except Invalid as exc:
                rejected += 1
                first = first or str(exc)
        self._counts["received"] += len(batch)
        self._counts["accepted"] += accepted
        self._counts["rejected"] += rejected
        if rejected:
            # One event per request, however many it held: a flood cannot multiply the log.
            stats.REJECTED.labels("invalid_event").inc(rejected - 1)
            self._refuse(request, 200, "invalid_event", first, rejected)
        return web.json_response({"accepted": accepted, "rejected": rejected})

    async def get_attribution(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._refuse(request, 401, "unauthorized", "a valid bearer token is needed")
        ip = request.query.get("ip", "")
        try:
            at = parse_time(request.query["at"]) if "at" in request.query else time.time()
        except Invalid as exc:
            return web.json_response({"error": str(exc)}, status=400)
        found = self.history.lookup(ip, at)
        if found.attribution == "none" and not _is_ip(ip):
            return web.json_response({"error": "ip is not an IP address"}, status=400)
        return web.json_response(
            {
                "ip": ip,
                "at": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"),
                "kubernetes": nested(found),
                "last_event": self.last.get(ip),
            }
        )

    # -- lifecycle --------------------------------------------------------------------------------

    def synced(self, resource: str) -> None:
        # What a full list leaves (the client's models, the history) lives long: out of the
        # collector's reach it stops costing a full collection's pause on the events path.
        gc.freeze()
        self.pending.discard(resource)
        if not any(r.startswith("pods") for r in self.pending):
            metrics.release("enricher")

    async def stop(self, timeout: float = 3.0) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.runner is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.runner.cleanup(), timeout)
        if self.api is not None:
            with contextlib.suppress(Exception):
                await self.api.close()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


async def start(
    config: EnricherConfig, *, limits: Limits, host: str, metrics_port: int = 0
) -> Enricher:
    """Connect to the API, start the reflectors and listen for events.

    Raises:
        ConfigError: no Kubernetes configuration was found.
    """
    del limits, metrics_port  # connection limits are the decoys'; aiohttp bounds this server
    owners = Owners()
    history = History(horizon=config.horizon, max_spans=config.max_spans, owners=owners)
    enricher = Enricher(config, history, owners)
    stats.watch_history(
        lambda: {
            "spans": history.spans,
            "pods": history.pods,
            "evicted": dict(history.evicted),
        },
        enricher.workloads,
    )
    enricher.api = await kube.api_client()
    metrics.hold("enricher")
    loop = asyncio.get_running_loop()
    for reflector in kube.reflectors(enricher.api, config, history, owners, enricher.synced):
        enricher.pending.add(reflector.resource)
        enricher.tasks.append(loop.create_task(reflector.run()))
    enricher.tasks.append(loop.create_task(_prune(history, config.horizon)))
    app = web.Application(client_max_size=config.max_body)
    app.router.add_post("/events", enricher.post_events)
    app.router.add_get("/attribution", enricher.get_attribution)
    runner = enricher.runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, config.port, backlog=512)
    try:
        await site.start()
    except OSError:
        await enricher.stop()
        raise
    enricher.addresses = [f"{host}:{config.port}"]
    return enricher


async def _prune(history: History, horizon: float) -> None:
    # A fraction of the horizon: ended spans outlive it by at most that much.
    while True:
        await asyncio.sleep(min(60.0, horizon / 10))
        history.prune(time.time())
