"""The wire side of tests/integration/kubeapi.py: what a request gets, as kube-apiserver answers.

``Wire`` routes the apiserver's resource paths to the store (kubeapi_store.py), writes lists and
watch streams, checks the bearer token, counts every request as a ``Call`` and answers the
errors a test injects. KubeAPI (kubeapi.py) adds the socket's lifecycle and the control methods.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from tests.integration.kubeapi_store import (
    KINDS,
    APIError,
    Kind,
    Store,
    Subscriber,
    resolve,
    status_body,
)

_RESOURCE = re.compile(r"^(/api/v1|/apis/[a-z.]+/v1)(?:/namespaces/([^/]+))?/([a-z]+)/?$")
_WRITE_BATCH = 512  # initial-state lines per chunk: 50,000 ADDED lines go out in ~100 writes
_JSON = "application/json"


@dataclass(frozen=True)
class Call:
    """One request as the server saw it. ``verb`` is list, watch or other."""

    verb: str
    kind: str | None  # "Pod", "Node", ... for resource paths
    namespace: str | None
    path: str
    query: dict[str, str]
    status: int

    @property
    def fresh(self) -> bool:
        """A list from scratch: its first page, not a continuation (what a relist sends)."""
        return self.verb == "list" and not self.query.get("continue")


@dataclass
class _Failure:
    remaining: int
    code: int
    verb: str | None
    kind: Kind | None


def _truthy(value: str | None) -> bool:
    # Go's strconv.ParseBool, which the apiserver uses; kubernetes_asyncio sends "True"
    return (value or "").lower() in ("1", "t", "true")


def _resource(path: str) -> tuple[Kind | None, str | None]:
    match = _RESOURCE.match(path)
    if match is None:
        return None, None
    kind, namespace = KINDS.get(match.group(3)), match.group(2)
    if kind is None or kind.group_path != match.group(1) or (namespace and not kind.namespaced):
        return None, None
    return kind, namespace


_REASONS = {400: "BadRequest", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 410: "Expired",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
            504: "Timeout"}  # fmt: skip


_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitCommit": "0" * 40,
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T07:28:49Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class Wire:
    """Request handling and what it records; ``handle`` is the aiohttp handler for every path."""

    def __init__(
        self,
        *,
        token: str | None = None,
        port: int = 0,
        watch_timeout: float = 1800.0,
        bookmark_interval: float | None = None,
        first_rv: int = 1000,
    ) -> None:
        self.token = token
        self.port = port
        self.watch_timeout = watch_timeout  # the server's own limit when a watch names none
        self.bookmark_interval = bookmark_interval
        self.store = Store(first_rv)
        self.list_delay = 0.0
        self.hold_watches = False
        self.held = False
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._streams: dict[Subscriber, web.BaseRequest] = {}

    def fail_next(
        self, count: int = 1, *, code: int = 500, verb: str | None = None, kind: str | None = None
    ) -> None:
        """Answer the next ``count`` matching requests (verb list/watch, kind) with a Status."""
        with self._lock:
            self._failures.append(_Failure(count, code, verb, resolve(kind) if kind else None))

    def calls(self, verb: str | None = None, kind: str | None = None) -> list[Call]:
        want = resolve(kind).name if kind else None
        with self._lock:
            return [
                c for c in self._calls
                if (verb is None or c.verb == verb) and (want is None or c.kind == want)
            ]  # fmt: skip

    def count(self, verb: str | None = None, kind: str | None = None) -> int:
        return len(self.calls(verb, kind))

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def _drop(self) -> int:
        streams = list(self._streams.items())
        for sub, request in streams:
            if request.transport is not None:
                request.transport.abort()
            sub.push(None)
        return len(streams)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _injected(self, verb: str, kind: Kind | None) -> int | None:
        with self._lock:
            for f in self._failures:
                if (f.verb in (None, verb)) and (f.kind in (None, kind)) and f.remaining > 0:
                    f.remaining -= 1
                    return f.code
        return None

    def _authorized(self, request: web.Request) -> bool:
        return not self.token or request.headers.get("Authorization") == f"Bearer {self.token}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        kind, namespace = _resource(request.path)
        verb = ("watch" if _truthy(query.get("watch")) else "list") if kind else "other"

        def answer(code: int, body: Any) -> web.Response:
            self._record(
                Call(verb, kind.name if kind else None, namespace, request.path, query, code)
            )
            return web.Response(status=code, body=orjson.dumps(body), content_type=_JSON)

        def failure(code: int, reason: str, message: str) -> web.Response:
            return answer(code, status_body(code, reason, message))

        if not self._authorized(request):
            return failure(401, "Unauthorized", "Unauthorized")
        if request.method != "GET":
            return failure(405, "MethodNotAllowed", f"{request.method} is not served here")
        if (code := self._injected(verb, kind)) is not None:
            return failure(code, _REASONS.get(code, "InternalError"), f"injected {code}")
        if kind is None:
            meta = self._discovery(request.path)
            if meta is None:
                return failure(404, "NotFound", "the server could not find the requested resource")
            return answer(200, meta)
        try:
            if verb == "watch":
                return await self._watch(request, kind, namespace, query)
            limit = int(query.get("limit") or 0)
            if self.list_delay:
                await asyncio.sleep(self.list_delay)
            body = self.store.page(kind, namespace, limit, query.get("continue"))
        except APIError as e:
            return answer(e.code, e.body)
        except ValueError as e:
            return failure(400, "BadRequest", str(e))
        self._record(Call(verb, kind.name, namespace, request.path, query, 200))
        return web.Response(body=body, content_type=_JSON)

    def _discovery(self, path: str) -> dict[str, Any] | None:
        path = path.rstrip("/")  # the client asks for "/version/" and "/api/"
        if path == "/version":
            return _VERSION
        if path == "/api":
            cidrs = [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": cidrs}
        return None

    async def _watch(
        self, request: web.Request, kind: Kind, namespace: str | None, query: dict[str, str]
    ) -> web.StreamResponse:
        # The server's own limit caps what the client asks, as --min-request-timeout does.
        timeout = min(float(query.get("timeoutSeconds") or self.watch_timeout), self.watch_timeout)
        while self.hold_watches:  # a test changes the store while this client is between watches
            self.held = True
            await asyncio.sleep(0.01)
        self.held = False
        sub = Subscriber(
            kind, namespace, _truthy(query.get("allowWatchBookmarks")), asyncio.get_running_loop()
        )
        initial = _truthy(query.get("sendInitialEvents"))
        lines, live = self.store.subscribe(
            sub, query.get("resourceVersion"), initial_events=initial
        )
        self._record(Call("watch", kind.name, namespace, request.path, query, 200))
        response = web.StreamResponse(headers={"Content-Type": _JSON})
        response.enable_chunked_encoding()
        if not live:  # a 410: one ERROR event, then the end
            await response.prepare(request)
            await response.write(b"".join(lines))
            await response.write_eof()
            return response
        self._streams[sub] = request
        try:
            await response.prepare(request)
            for i in range(0, len(lines), _WRITE_BATCH):
                await response.write(b"".join(lines[i : i + _WRITE_BATCH]))
            await self._stream(response, sub, timeout)
        finally:
            self.store.unsubscribe(sub)
            self._streams.pop(sub, None)
        return response

    async def _stream(self, response: web.StreamResponse, sub: Subscriber, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        interval = self.bookmark_interval if sub.bookmarks else None
        next_bookmark = loop.time() + interval if interval else float("inf")
        while (now := loop.time()) < deadline:
            if now >= next_bookmark and interval:
                self.store.bookmark(sub)
                next_bookmark = now + interval
            try:
                async with asyncio.timeout(min(deadline, next_bookmark) - now):
                    line = await sub.queue.get()
            except TimeoutError:
                continue
            batch = [line]
            while not sub.queue.empty() and len(batch) < _WRITE_BATCH:
                batch.append(sub.queue.get_nowait())
            if None in batch:  # dropped: the transport is gone, no final chunk
                raise asyncio.CancelledError
            await response.write(b"".join(b for b in batch if b is not None))
        await response.write_eof()
