"""Fake internal dashboard: an aiohttp application behind an nginx 1.22 persona.

Policy: every contact is ``honeypod.fake.svc``. The site is what an nginx serving a small
dashboard looks like: ``root`` with a login page and static assets, the login form posted to a
backend (aiohttp handlers here), HTTP Basic auth in front of ``/api/``. Every request, well-formed
or not, is one ``web.request`` event; credentials are one ``web.login`` event; every TLS
handshake on the HTTPS port, completed or not, is one ``web.tls`` event.

How the persona holds: aiohttp's own parser and writer never see the wire. ``http_codec`` reads
each request head the way nginx does and answers nginx's error pages itself; only well-formed
requests become aiohttp ``Request`` objects, routed through the ``Application``; the handler's
``Response`` is then written with nginx's status line, header order and ``Date`` format. So no
aiohttp text (``Server: Python/...``, ``400: Bad Request``, ``Received HTTPS traffic...``) can
reach a client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import html
import importlib.resources
import ssl
import time
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http_parser import RawRequestMessage
from aiohttp.http_writer import HttpVersion
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from honeypods.core import asyncio_shim, events, tls
from honeypods.core.guard import Guard, Limits, Running, Session
from honeypods.core.transport import feed
from honeypods.web import http as http_codec
from honeypods.web.config import WebConfig
from honeypods.web.http import ProtocolError, Request, RequestReader

DECOY: Final = "web"
RULE: Final = "honeypod.fake.svc"

# Bounds on what one request event keeps (the line cap in events.py bounds the rest).
MAX_LOGGED_HEADERS: Final = 64
BODY_KEEP: Final = events.LONG_TEXT_CAP
# nginx's default mime.types for what the site serves.
MIME_TYPES: Final = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "application/javascript",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".txt": "text/plain",
    ".json": "application/json",
}
# Sent by nginx's ssl module with Debian's nginx.conf: TLS 1.2 and 1.3, its default cipher list.
NGINX_CIPHERS: Final = "HIGH:!aNULL:!MD5"
HANDSHAKE_TIMEOUT: Final = 60.0  # nginx: the handshake runs under client_header_timeout
HEADER_TIMEOUT: Final = 60.0  # nginx client_header_timeout
LINGERING_TIMEOUT: Final = 5.0  # nginx lingering_timeout
LINGERING_TIME: Final = 30.0  # nginx lingering_time
LOGIN_PATH: Final = "/login"
# Headers between the handlers and the writer, never on the wire: the nginx page to send, and
# "the static handler discarded the body here" (which answers Expect: 100-continue).
_ERROR: Final = "X-Nginx-Error"
_CONTINUES: Final = "X-Nginx-Discarded"
_INTERNAL: Final = frozenset({_ERROR, _CONTINUES})
BASIC_PREFIX: Final = "/api/"


# -- the site ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    mtime: int
    etag: str = ""
    last_modified: str = ""

    def __post_init__(self) -> None:
        # ngx_http_set_etag: "<mtime hex>-<size hex>"; both are fixed for the process's life.
        object.__setattr__(self, "etag", f'"{self.mtime:x}-{len(self.body):x}"')
        object.__setattr__(self, "last_modified", http_codec.http_date(self.mtime))


def render_login(config: WebConfig, message: str = "") -> bytes:
    """The login page, with the configured branding and an optional error message."""
    template = (
        importlib.resources.files("honeypods.web")
        .joinpath("pages")
        .joinpath("index.html")
        .read_text()
    )
    block = f'<div class="error">{html.escape(message)}</div>' if message else ""
    return (
        template.replace("{title}", html.escape(config.title))
        .replace("{product}", html.escape(config.product))
        .replace("{message}", block)
        .encode("utf-8")
    )


def site_files(config: WebConfig) -> dict[str, StaticFile]:
    """Everything under the document root: URI path -> file, as nginx would find it on disk."""
    root = importlib.resources.files("honeypods.web").joinpath("pages")
    files: dict[str, StaticFile] = {}
    index = Path(str(root.joinpath("index.html")))
    files["/index.html"] = StaticFile(render_login(config), "text/html", int(index.stat().st_mtime))
    static = root.joinpath("static")
    for entry in sorted(static.iterdir(), key=lambda e: e.name):
        if not entry.is_file():
            continue
        path = Path(str(entry))
        kind = MIME_TYPES.get(path.suffix, "application/octet-stream")
        files[f"/static/{entry.name}"] = StaticFile(
            entry.read_bytes(), kind, int(path.stat().st_mtime)
        )
    return files


def site_dirs(files: Mapping[str, StaticFile]) -> set[str]:
    dirs = {"/"}
    for name in files:
        parts = name.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/" + "/".join(parts[:i]) + "/")
    return dirs


def nginx_error(status: int, *extra: tuple[str, str]) -> web.Response:
    resp = web.Response(status=http_codec.wire_status(status))
    resp.headers[_ERROR] = str(status)
    for name, value in extra:
        resp.headers[name] = value
    return resp


def make_app(config: WebConfig, files: Mapping[str, StaticFile]) -> web.Application:
    """The aiohttp application: routing and the site's behaviour for well-formed requests."""
    dirs = site_dirs(files)
    failure_page = render_login(config, "Invalid username or password.")
    login_page = render_login(config)

    async def login(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            # A malformed form is one more failed login, never an error page of ours.
            try:
                form: Mapping[str, Any] = await request.post()
            except Exception:
                form = {}
            conn = request.transport
            session = conn.get_extra_info("honeypods.session") if conn else None
            if session is not None:
                user = form.get("username", form.get("user", form.get("email", "")))
                password = form.get("password", form.get("pass", ""))
                session.emit(
                    "web.login",
                    {
                        "user.name": events.clip_text(str(user)),
                        "web.password": events.clip_text(str(password)),
                        "web.auth_method": "form",
                        "url.path": events.clip_text(request.path),
                    },
                )
            await asyncio.sleep(config.login_delay)
            return _backend(failure_page)
        if request.method in ("GET", "HEAD"):
            return _backend(login_page)
        # The location only passes GET, HEAD and POST on (limit_except); nginx refuses the rest.
        return nginx_error(405)

    async def api(request: web.Request) -> web.StreamResponse:
        # auth_basic runs in nginx's access phase, before any content handler: every method.
        return nginx_error(401, ("WWW-Authenticate", f'Basic realm="{config.product} API"'))

    async def static(request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        method = request.method
        if method not in ("GET", "HEAD", "POST"):
            return nginx_error(405)
        if path.endswith("/"):
            # ngx_http_index_module, then the core's "directory index is forbidden".
            if path + "index.html" in files:
                path += "index.html"
            elif path in dirs:
                return nginx_error(403)
            else:
                return nginx_error(404)
        found = files.get(path)
        if found is None:
            if path + "/" in dirs:
                return nginx_error(301, ("Location", _location(request, path + "/")))
            return nginx_error(404)
        if method == "POST":
            return nginx_error(405)
        return _static(request, found)

    app = web.Application()
    app.router.add_route("*", LOGIN_PATH, login)
    app.router.add_route("*", BASIC_PREFIX + "{path:.*}", api)
    app.router.add_route("*", "/{path:.*}", static)
    return app


def _backend(
    body: bytes, status: int = 200, kind: str = "text/html; charset=utf-8"
) -> web.Response:
    resp = web.Response(body=body, status=status)
    resp.headers["Content-Type"] = kind
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


def _location(request: web.Request, path: str) -> str:
    # absolute_redirect on, server_name_in_redirect off, port_in_redirect on.
    info = request.transport.get_extra_info("honeypods.web") if request.transport else None
    local, port, tls = info if info else ("localhost", 80, False)
    host = request.host or local
    default = 443 if tls else 80
    scheme = "https" if tls else "http"
    suffix = "" if port == default else f":{port}"
    return f"{scheme}://{host}{suffix}{path}"


def _static(request: web.Request, found: StaticFile) -> web.Response:
    resp = _static_file(request, found)
    resp.headers[_CONTINUES] = "1"
    return resp


def _static_file(request: web.Request, found: StaticFile) -> web.Response:
    last_modified = found.last_modified
    etag = found.etag
    # ngx_http_not_modified_filter: If-Unmodified-Since/If-Match first, then the 304 checks.
    ius = request.headers.get("If-Unmodified-Since")
    if ius is not None and ius != last_modified:
        return nginx_error(412)
    if_match = request.headers.get("If-Match")
    if if_match is not None and not _etag_matches(if_match, etag):
        return nginx_error(412)
    ims = request.headers.get("If-Modified-Since")
    inm = request.headers.get("If-None-Match")
    if ims is not None or inm is not None:
        fresh = (ims is None or ims == last_modified) and (inm is None or _etag_matches(inm, etag))
        if fresh:
            resp = web.Response(status=304)
            resp.headers["Last-Modified"] = last_modified
            resp.headers["ETag"] = etag
            return resp
    ranged = _range(request, found, last_modified, etag)
    if ranged is not None:
        return ranged
    resp = web.Response(body=found.body, status=200)
    resp.headers["Content-Type"] = found.content_type
    resp.headers["Last-Modified"] = last_modified
    resp.headers["ETag"] = etag
    resp.headers["Accept-Ranges"] = "bytes"
    return resp


def _range(
    request: web.Request, found: StaticFile, last_modified: str, etag: str
) -> web.Response | None:
    """ngx_http_range_filter for one range; None serves the whole file."""
    value = request.headers.get("Range")
    if value is None or len(value) < 7 or value[:6].lower() != "bytes=":
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None:
        if len(if_range) >= 2 and if_range.endswith('"'):
            if if_range != etag:
                return None
        elif if_range != last_modified:
            return None
    spans = _parse_ranges(value[6:], len(found.body))
    if spans is None:
        return None
    if not spans:
        return nginx_error(416, ("Content-Range", f"bytes */{len(found.body)}"))
    if len(spans) > 1:
        # nginx answers several ranges with a multipart body; the decoy serves the whole file.
        return None
    start, end = spans[0]
    resp = web.Response(body=found.body[start:end], status=206)
    resp.headers["Content-Type"] = found.content_type
    resp.headers["Last-Modified"] = last_modified
    resp.headers["ETag"] = etag
    resp.headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(found.body)}"
    return resp


def _parse_ranges(spec: str, length: int) -> list[tuple[int, int]] | None:
    """ngx_http_range_parse: the ranges, [] when not satisfiable, None to ignore the header."""
    spans: list[tuple[int, int]] = []
    total = 0
    i, n = 0, len(spec)

    def digits(at: int) -> tuple[int, int]:
        end = at
        while end < n and spec[end] in "0123456789":
            end += 1
        return (int(spec[at:end]) if end > at else -1), end

    while True:
        while i < n and spec[i] == " ":
            i += 1
        suffix = i < n and spec[i] == "-"
        if suffix:
            i += 1
            start = 0
        else:
            start, i = digits(i)
            if start < 0:
                return []
            while i < n and spec[i] == " ":
                i += 1
            if i >= n or spec[i] != "-":
                return []
            i += 1
            while i < n and spec[i] == " ":
                i += 1
        if not suffix and (i >= n or spec[i] == ","):
            end = length
        else:
            end, i = digits(i)
            if end < 0:
                return []
            while i < n and spec[i] == " ":
                i += 1
            if i < n and spec[i] != ",":
                return []
            if suffix:
                start = length - end if end < length else 0
                end = length - 1
            end = length if end >= length else end + 1
        if start < end:
            spans.append((start, end))
            total += end - start
        elif start == 0:
            return None
        if i >= n or spec[i] != ",":
            break
        i += 1
    if not spans:
        return []
    if total > length:
        return None
    return spans


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


# -- aiohttp glue -----------------------------------------------------------------------------------


class _ProtocolView:
    """What an aiohttp Request asks of its protocol."""

    __slots__ = (
        "local_host",
        "max_field_size",
        "max_headers",
        "peername",
        "sockname",
        "ssl_context",
        "transport",
    )

    def __init__(self, transport: asyncio.BaseTransport, session: Session, tls: bool) -> None:
        self.transport = transport
        self.peername = session.peer
        self.sockname = session.local
        host = session.local[0]
        self.local_host = f"[{host}]" if ":" in host else host
        self.ssl_context = True if tls else None
        self.max_field_size = 8190
        self.max_headers = 128


_HTTP10: Final = HttpVersion(1, 0)
_HTTP11: Final = HttpVersion(1, 1)


# Scanners ask for the same few paths again and again; building a URL is not free.
_URL_CACHE: Final = 1024
_URLS: dict[tuple[str, str], URL] = {}


def _aiohttp_request(
    app: web.Application,
    req: Request,
    body: bytes,
    view: _ProtocolView,
    loop: asyncio.AbstractEventLoop,
) -> web.Request:
    headers = CIMultiDictProxy(
        CIMultiDict((k, v) for k, v in req.headers if k.lower() not in ("expect", "host"))
    )

    key = (req.path, req.query)
    url = _URLS.get(key)
    if url is None:
        if len(_URLS) >= _URL_CACHE:
            _URLS.clear()
        url = _URLS[key] = URL.build(path=req.path, query_string=req.query, encoded=False)
    message = RawRequestMessage(
        req.method,
        req.target,
        _HTTP11 if req.version >= (1, 1) else _HTTP10,
        headers,
        (),
        not req.keepalive,
        None,
        False,
        False,
        url,
    )
    if body:
        payload = StreamReader(BaseProtocol(loop), 1 << 21, loop=loop)
        payload.feed_data(body)
        payload.feed_eof()
    else:
        payload = EMPTY_PAYLOAD
    return web.Request(
        message,
        payload,
        cast(Any, view),
        cast(Any, None),
        cast(Any, None),
        loop,
        client_max_size=1 << 20,
        state=None,
        # nginx's $host: the request line's host, else Host validated and lowercased, else the
        # local address.
        host=req.host or view.local_host,
    )


# -- the connection ---------------------------------------------------------------------------------

_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class WebConnection(asyncio.Protocol):
    """One HTTP connection: nginx's reading rules, aiohttp's routing, nginx's writing rules."""

    def __init__(
        self,
        session: Session,
        server: WebServer,
        *,
        tls: bool = False,
        plain_on_tls_port: bool = False,
        on_established: Callable[[], None] | None = None,
    ) -> None:
        self.on_established = on_established
        self.session = session
        self.server = server
        self.tls = tls
        self.plain_on_tls_port = plain_on_tls_port
        self.reader = RequestReader()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closing = False
        self.requests = 0
        self.body_for: Request | None = None
        self.view: _ProtocolView | None = None
        self.peer_done = False
        # Bytes sent outside a response (100 Continue), counted in the next request event.
        self.unlogged_bytes = 0
        self.discard_left = 0
        self.discard_until = 0.0
        self.discard_timer: asyncio.TimerHandle | None = None
        self.header_timer: asyncio.TimerHandle | None = None
        # A request answered before its body came in: (request, status, bytes sent, keep-alive).
        self.draining: tuple[Request, int, int, bool] | None = None
        self.drain_timer: asyncio.TimerHandle | None = None

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.on_established is not None:
            self.on_established()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            if self.discard_timer is not None:
                self.discard_left -= len(data)
                if self.discard_left == 0:
                    self._close_after("protocol_error")
                else:
                    self._rearm_discard()
            return
        self.reader.receive_data(data)
        if not self.busy:
            self._advance()

    def eof_received(self) -> bool:
        self.peer_done = True
        if not self.busy:
            self._finish_incomplete("eof")
            self.session.close("eof")
        # Half-closed peers still get their answer; under TLS asyncio closes regardless.
        return not self.tls

    def connection_lost(self, exc: Exception | None) -> None:
        if self.discard_timer is not None:
            self.discard_timer.cancel()
        if self.header_timer is not None:
            self.header_timer.cancel()
        if self.drain_timer is not None:
            self.drain_timer.cancel()
        if not self.busy and not self.closing:
            self._finish_incomplete("eof")
        self.closing = True

    # request loop

    def _advance(self) -> None:
        reader = self.reader
        while not self.closing and not self.busy:
            if self.draining is not None:
                if not self._drain():
                    return
                continue
            req = self.body_for
            try:
                if req is None:
                    req = reader.next_request()
                    if req is None:
                        if reader.buf and self.header_timer is None:
                            self._arm_header_timer()
                        return
                    if self.header_timer is not None:
                        self.header_timer.cancel()
                        self.header_timer = None
                    if self._pre_body(req):
                        continue
                    if self.body_for is None:
                        # nginx answers first and reads the body afterwards, to drop it.
                        self._dispatch(req, b"", 0, drain=True)
                        continue
                done = reader.read_body(BODY_KEEP)
                if done is None:
                    return
            except ProtocolError as err:
                self._refuse(err, self.body_for)
                return
            self.body_for = None
            if done[1]:
                reader.reset_buffers()
            self._dispatch(req, done[0], done[1])

    def _drain(self) -> bool:
        """Read and drop the body of a request already answered; True to go on."""
        req, status, sent, keep = cast(tuple[Request, int, int, bool], self.draining)
        try:
            done = self.reader.read_body(BODY_KEEP)
        except ProtocolError as err:
            self.draining = None
            self._log(req, b"", 0, status, sent, error=err.reason)
            self._close_after("protocol_error")
            return False
        if done is None:
            self._arm_drain_timer()
            return False
        if self.drain_timer is not None:
            self.drain_timer.cancel()
            self.drain_timer = None
        self.draining = None
        self.reader.reset_buffers()
        self._log(req, done[0], done[1], status, sent)
        if not keep:
            self._close_after()
            return False
        return True

    def _arm_drain_timer(self) -> None:
        # nginx waits lingering_timeout for each read of a body it discards, then closes.
        if self.drain_timer is not None:
            self.drain_timer.cancel()
        self.drain_timer = self.server.loop.call_later(LINGERING_TIMEOUT, self._drain_timed_out)

    def _drain_timed_out(self) -> None:
        self.drain_timer = None
        if self.draining is None or self.closing:
            return
        req, status, sent, _keep = self.draining
        self.draining = None
        self._log(req, b"", 0, status, sent, error="client did not send the whole body")
        self._close_after("idle_timeout")

    def _arm_header_timer(self) -> None:
        # nginx's client_header_timeout bounds the whole head, however slowly it trickles in;
        # the guard's idle timer alone would let a byte every minute hold the connection.
        self.header_timer = self.server.loop.call_later(
            self.server.header_timeout, self._header_timed_out
        )

    def _header_timed_out(self) -> None:
        self.header_timer = None
        if self.closing or self.busy:
            return
        pending = bytes(self.reader.buf)
        self.closing = True
        # nginx closes without an answer (no 408 page): so does the decoy.
        self._log_raw(pending, 0, 0, "client timed out sending the request head")
        self.session.close("idle_timeout")

    def _pre_body(self, req: Request) -> bool:
        """Checks before the body is read; True when the request was answered already.

        Only the login backend gets the body before answering (proxy_request_buffering); the
        static site and nginx's own refusals answer at once and drop the body afterwards.
        """
        if self.plain_on_tls_port:
            self._refuse(ProtocolError(497, "plain HTTP request sent to HTTPS port"), req)
            return True
        if req.content_length > self.reader.max_body:
            self._refuse(ProtocolError(413, "client intended to send too large body"), req)
            return True
        self.reader.start_body(req)
        if req.path == LOGIN_PATH:
            # ngx_http_read_client_request_body: "100 Continue" is sent whether a body is
            # declared or not.
            if req.expect_continue and req.version >= (1, 1):
                self._write(_CONTINUE)
                self.unlogged_bytes += len(_CONTINUE)
            if req.content_length > 0 or req.chunked:
                self.body_for = req
        return False

    def _view(self) -> _ProtocolView:
        # Built on first use: most connections never reach the aiohttp application.
        view = self.view
        if view is None:
            view = self.view = _ProtocolView(_TransportInfo(self), self.session, self.tls)
        return view

    def _dispatch(self, req: Request, body: bytes, body_size: int, *, drain: bool = False) -> None:
        server = self.server
        canned = server.fast.get(req.path)
        if canned is not None:
            plain = req.memo.get("plain")
            if plain is None:
                plain = req.memo["plain"] = (
                    req.method in ("GET", "HEAD")
                    and req.version >= (1, 0)
                    and not any(k.lower() in _CONDITIONAL for k, _ in req.headers)
                )
            if plain:
                self._serve_canned(req, body, body_size, canned, drain)
                return
        self.busy = True
        self.requests += 1
        try:
            request = _aiohttp_request(server.app, req, body, self._view(), server.loop)
        except Exception as exc:
            self._respond(req, body, body_size, None, exc, drain=drain)
            return
        coro = server.app._handle(request)
        # The first step runs here: every request but the login completes without waiting, so
        # it needs no Task and no trip through the event loop.
        try:
            waiting = coro.send(None)
        except StopIteration as stop:
            self._respond(req, body, body_size, stop.value, None, drain=drain)
            return
        except Exception as exc:
            self._respond(req, body, body_size, None, exc, drain=drain)
            return
        task = server.loop.create_task(_continue(_Started(coro, waiting)))
        server.tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(req, body, body_size, t, drain))

    def _serve_canned(
        self, req: Request, body: bytes, body_size: int, canned: _Canned, drain: bool
    ) -> None:
        """The whole file, as the static route would answer it (see ``_fast_table``)."""
        self.requests += 1
        if self.session.closed:
            self._log(req, body, body_size, 0, 0)
            return
        keep = req.keepalive and self.requests < http_codec.KEEPALIVE_REQUESTS
        data = (
            canned.before
            + self.server.clock.http_date_bytes(time.time())
            + (canned.after_keep if keep else canned.after_close)
        )
        if req.method != "HEAD":
            data += canned.body
        self._send(req, body, body_size, 200, data, keep=keep, drain=drain, continues=True)

    def _task_done(
        self,
        req: Request,
        body: bytes,
        body_size: int,
        task: asyncio.Task[web.StreamResponse],
        drain: bool,
    ) -> None:
        self.server.tasks.discard(task)
        if task.cancelled():
            self.busy = False
            return
        exc = task.exception()
        self._respond(req, body, body_size, None if exc else task.result(), exc, drain=drain)

    def _respond(
        self,
        req: Request,
        body: bytes,
        body_size: int,
        resp: web.StreamResponse | None,
        exc: BaseException | None,
        *,
        drain: bool = False,
    ) -> None:
        self.busy = False
        if self.session.closed:
            self._log(req, body, body_size, 0, 0)
            return
        if exc is not None or resp is None:
            if isinstance(exc, web.HTTPException):
                resp = nginx_error(exc.status)
            else:
                self.session.error(exc or RuntimeError("no response"))
                resp = nginx_error(500)
        status, data, keep = self._serialise(req, resp)
        self._send(
            req,
            body,
            body_size,
            status,
            data,
            keep=keep,
            drain=drain,
            continues=_CONTINUES in resp.headers,
        )

    def _send(
        self,
        req: Request,
        body: bytes,
        body_size: int,
        status: int,
        data: bytes,
        *,
        keep: bool,
        drain: bool,
        continues: bool,
    ) -> None:
        if drain and req.expect_continue and req.version >= (1, 1) and continues:
            # The static handler discards the body (ngx_http_discard_request_body), which
            # answers "Expect: 100-continue" first; nginx's refusals do not.
            data = _CONTINUE + data
        if drain and (req.content_length > 0 or req.chunked):
            # A body still to come is read after the answer; the event waits for it.
            self._write(data)
            self.draining = (req, status, len(data), keep)
            self._advance()
            self._after_response()
            return
        self._write(data)
        self._log(req, body, body_size, status, len(data))
        if not keep:
            self._close_after()
            return
        # Pipelined requests already here are answered even after the peer's EOF.
        self._advance()
        self._after_response()

    def _after_response(self) -> None:
        if self.peer_done and not self.busy and not self.closing:
            self._finish_incomplete("eof")
            self.session.close("eof")

    def _serialise(self, req: Request, resp: web.StreamResponse) -> tuple[int, bytes, bool]:
        server = self.server
        keep = req.keepalive and self.requests < http_codec.KEEPALIVE_REQUESTS
        headers = resp.headers
        nginx_status = int(headers.get(_ERROR, 0))
        date = server.clock.http_date(time.time())
        head_only = req.method == "HEAD"
        if nginx_status:
            status = nginx_status
            if status in http_codec.CLOSING_STATUSES:
                keep = False
            extra = [(k, v) for k, v in headers.items() if k not in _INTERNAL]
            data = http_codec.make_error(
                status,
                server=server.version,
                date=date,
                keepalive=keep,
                padding=req.padding,
                head_only=head_only,
                extra=extra,
                http09=req.version < (1, 0),
            )
            return http_codec.wire_status(status), data, keep
        status = resp.status
        payload = resp.body if isinstance(resp, web.Response) else b""
        body = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
        if req.version < (1, 0):
            return status, body, False
        out_headers = [(k, v) for k, v in headers.items() if k not in _INTERNAL]
        if status != 304:
            out_headers.append(("Content-Length", str(len(body))))
        head = http_codec.make_head(
            status, out_headers, server=server.version, date=date, keepalive=keep
        )
        if head_only or status == 304:
            return status, head, keep
        return status, head + body, keep

    def _refuse(self, err: ProtocolError, req: Request | None) -> None:
        """Answer a request nginx refuses with its error page, then close."""
        server = self.server
        reader = self.reader
        raw = reader.consumed_head or bytes(reader.buf[: events.TEXT_CAP * 4])
        http09 = err.http09 or (req is not None and req.version < (1, 0))
        data = b""
        if err.status:
            data = http_codec.make_error(
                err.status,
                server=server.version,
                date=server.clock.http_date(time.time()),
                keepalive=False,
                padding=err.padding or (req is not None and req.padding),
                head_only=err.head_only or (req is not None and req.method == "HEAD"),
                http09=http09,
            )
            self._write(data)
        self.requests += 1
        if req is not None:
            self._log(req, b"", 0, http_codec.wire_status(err.status), len(data), error=err.reason)
        else:
            self._log_raw(raw, http_codec.wire_status(err.status), len(data), err.reason)
        # A declared body not yet received is read and dropped first, as nginx discards it.
        declared = err.body
        if req is not None and err.status == 413:
            declared = -1 if req.chunked else req.content_length
        left = max(declared - len(reader.buf), 0) if declared > 0 else declared
        reader.buf.clear()
        if left != 0:
            self._discard(left)
            return
        self._close_after("protocol_error")

    def _discard(self, left: int) -> None:
        """nginx reads and drops a refused body before closing (lingering_timeout 5s, at most
        lingering_time 30s), so the client sees the page and no reset."""
        self.closing = True
        self.discard_left = left
        loop = self.server.loop
        self.discard_until = loop.time() + LINGERING_TIME
        self._rearm_discard()

    def _rearm_discard(self) -> None:
        loop = self.server.loop
        if self.discard_timer is not None:
            self.discard_timer.cancel()
        due = min(loop.time() + LINGERING_TIMEOUT, self.discard_until)
        self.discard_timer = loop.call_at(due, self._close_after, "protocol_error")

    def _close_after(self, reason: str = "eof") -> None:
        self.closing = True
        self.session.close(reason)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and data:
            self.transport.write(data)

    def _finish_incomplete(self, _why: str) -> None:
        """The peer left mid-request: the bytes it sent are still one request event."""
        if self.closing:
            return
        self.closing = True
        pending = bytes(self.reader.buf)
        if self.draining is not None:
            req, status, sent, _keep = self.draining
            self.draining = None
            self._log(req, b"", 0, status, sent, error="client closed the body early")
        elif self.body_for is not None:
            self._log(self.body_for, b"", 0, 0, 0, error="client closed the body early")
        elif pending.strip(b"\r\n"):
            self._log_raw(pending, 0, 0, "client closed the request early")

    # events

    def _log(
        self,
        req: Request,
        body: bytes,
        body_size: int,
        status: int,
        sent: int,
        *,
        error: str | None = None,
    ) -> None:
        base = req.memo.get("log")
        if base is None:
            base = req.memo["log"] = _head_fields(req)
        fields: dict[str, Any] = dict(base)
        fields["tls.established"] = self.tls
        if body_size:
            fields["http.request.body.content"] = events.clip_text(body, BODY_KEEP)
            fields["http.request.body.bytes"] = body_size
            fields["http.request.body.sha256"] = self.reader.body_sha256()
        if status:
            fields["http.response.status_code"] = status
        fields["http.response.bytes"] = sent + self.unlogged_bytes
        self.unlogged_bytes = 0
        if error is not None:
            fields["web.error"] = error
        self.session.emit("web.request", fields)
        if req.authorization is not None:
            self._log_basic(req.authorization, req.path)

    def _log_basic(self, auth: str, path: str) -> None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "basic":
            return
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            decoded = ""
        user, _, password = decoded.partition(":")
        self.session.emit(
            "web.login",
            {
                "user.name": events.clip_text(user),
                "web.password": events.clip_text(password),
                "web.auth_method": "basic",
                "url.path": events.clip_text(path),
            },
        )

    def _log_raw(self, raw: bytes, status: int, sent: int, error: str) -> None:
        fields: dict[str, Any] = {
            "web.raw_hex": events.to_hex(raw),
            "web.error": error,
            "http.response.bytes": sent,
            "tls.established": self.tls,
        }
        line = raw.split(b"\n", 1)[0]
        method, _, rest = line.partition(b" ")
        if method:
            fields["http.request.method"] = events.clip_text(method, 64)
        if rest:
            fields["url.original"] = events.clip_text(rest.rsplit(b" ", 1)[0])
        if status:
            fields["http.response.status_code"] = status
        self.session.emit("web.request", fields)


def _head_fields(req: Request) -> dict[str, Any]:
    """The request event's fields that depend on the head alone (in the event's order)."""
    headers = req.headers[:MAX_LOGGED_HEADERS]
    fields: dict[str, Any] = {
        "http.request.method": _text(req.method),
        "url.original": _text(req.raw_target),
        "url.path": _text(req.path),
        "http.version": req.version_text[5:] if req.version_text else "0.9",
        "http.request.headers": [[_text(k, 256), _text(v)] for k, v in headers],
        "tls.established": False,
    }
    if req.query:
        fields["url.query"] = _text(req.query)
    if len(req.headers) > MAX_LOGGED_HEADERS or req.dropped_headers:
        fields["http.request.headers_truncated"] = True
    if req.user_agent is not None:
        fields["user_agent.original"] = _text(req.user_agent)
    return fields


def _text(value: str, cap: int = events.TEXT_CAP) -> str:
    """Attacker text for an event. Request strings hold the raw bytes as latin-1; they are logged
    as UTF-8 with backslash escapes, like every other attacker text."""
    if len(value) <= cap and value.isascii():
        return value
    return events.clip_text(value.encode("latin-1"), cap)


class _TransportInfo(asyncio.BaseTransport):
    """The request's view of its transport: the session, plus host/port/TLS for redirects."""

    def __init__(self, conn: WebConnection) -> None:
        super().__init__()
        self._conn = conn

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        conn = self._conn
        if name == "honeypods.session":
            return conn.session
        if name == "honeypods.web":
            host = conn.session.local[0]
            return (f"[{host}]" if ":" in host else host, conn.session.local[1], conn.tls)
        if conn.transport is None:
            return default
        return conn.transport.get_extra_info(name, default)


# -- TLS --------------------------------------------------------------------------------------------


class TlsSniffer(asyncio.Protocol):
    """First bytes on the HTTPS port: a TLS handshake starts TLS, anything else is plain HTTP
    (nginx's ngx_http_ssl_handshake peeks at the first byte the same way)."""

    def __init__(self, session: Session, server: WebServer) -> None:
        self.session = session
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.reported = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or not data:
            return
        loop = self.server.loop
        if data[0] in (0x16, 0x80):
            waiter: asyncio.Future[None] = loop.create_future()
            app = WebConnection(
                self.session,
                self.server,
                tls=True,
                on_established=lambda: self._handshake_done(waiter, proto),
            )
            context = cast(ssl.SSLContext, self.server.ssl_context)
            proto = asyncio_shim.start_server_tls(
                transport, app, context, waiter, HANDSHAKE_TIMEOUT
            )
            waiter.add_done_callback(lambda fut: self._handshake_done(fut, proto))
            feed(proto, data)
        else:
            conn = WebConnection(self.session, self.server, plain_on_tls_port=True)
            transport.set_protocol(conn)
            conn.connection_made(transport)
            conn.data_received(data)

    def eof_received(self) -> bool:
        self.session.close("eof")
        return True

    def _handshake_done(self, fut: asyncio.Future[None], proto: asyncio.BaseProtocol) -> None:
        # Called when the application protocol starts (success) or by the waiter (failure).
        if self.reported:
            return
        self.reported = True
        sslobj = asyncio_shim.ssl_object(proto)
        sni = self.server.sni.pop(id(sslobj), None) if sslobj is not None else None
        fields: dict[str, Any] = {}
        if sni:
            fields["tls.client.server_name"] = events.clip_text(sni)
        if fut.done() and (fut.cancelled() or fut.exception() is not None):
            exc = None if fut.cancelled() else fut.exception()
            fields["tls.established"] = False
            fields["web.error"] = events.clip_text(
                type(exc).__name__ + (f": {exc}" if exc else "") if exc else "cancelled"
            )
            self.session.emit("web.tls", fields)
            self.session.close("protocol_error")
            return
        fields["tls.established"] = True
        if sslobj is not None:
            version = sslobj.version()
            cipher = sslobj.cipher()
            if version:
                fields["tls.version"] = version.replace("TLSv", "")
            if cipher:
                fields["tls.cipher"] = cipher[0]
        self.session.emit("web.tls", fields)


def make_ssl_context(config: WebConfig, sni: dict[int, str]) -> ssl.SSLContext:
    """Server context with nginx's defaults; a stable certificate from files, or a fresh one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(NGINX_CIPHERS)
    # ngx_ssl_create turns renegotiation off; Python leaves it to OpenSSL's default.
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    ctx.set_alpn_protocols(["http/1.1"])
    if config.tls_cert and config.tls_key:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
    else:
        spec = _certificate(config.tls_common_name, config.tls_sans)
        tls.load_pem(ctx, tls.make_pem_in_child(spec))

    def on_sni(sslobj: Any, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name:
            sni[id(sslobj)] = name

    ctx.sni_callback = on_sni
    return ctx


def _certificate(common_name: str, sans: tuple[str, ...]) -> tls.CertSpec:
    # Debian's make-ssl-cert snakeoil: self-signed, ten years; made a few days before start.
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3)
    return tls.CertSpec(common_name, start, 3650, sans)


def generate_certificate(common_name: str, sans: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A self-signed RSA 2048 certificate like Debian's ssl-cert snakeoil: (cert PEM, key PEM)."""
    return tls.split_pem(tls.make_pem(_certificate(common_name, sans)))


# -- the server -------------------------------------------------------------------------------------


class WebServer:
    """Shared state of the decoy: the app, the persona, the TLS context."""

    def __init__(self, config: WebConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.loop = loop
        self.version = config.server_version
        self.files = site_files(config)
        self.app = make_app(config, self.files)
        self.clock = http_codec.Clock()
        self.fast = _fast_table(self.files, self.version)
        self.sni: dict[int, str] = {}
        self.ssl_context: ssl.SSLContext | None = None
        # nginx client_header_timeout: seconds a request head may take to arrive.
        self.header_timeout = HEADER_TIMEOUT
        # Handlers still running (the login's delay), cancelled when the decoy stops.
        self.tasks: set[asyncio.Task[web.StreamResponse]] = set()

    def cancel_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    async def freeze(self) -> None:
        self.app.freeze()
        self.app.router.freeze()


# Request headers that make the static handler answer something other than the whole file.
_CONDITIONAL: Final = frozenset(
    {"if-unmodified-since", "if-match", "if-modified-since", "if-none-match", "range"}
)


@dataclass(frozen=True, slots=True)
class _Canned:
    """The static handler's plain 200 for one file, split around the ``Date`` value: the
    bytes ``_serialise`` writes for it, without the aiohttp round trip."""

    before: bytes  # status line up to "Date: "
    after_keep: bytes  # from the end of the date to the blank line, Connection: keep-alive
    after_close: bytes  # the same with Connection: close
    body: bytes


def _fast_table(files: Mapping[str, StaticFile], version: str) -> dict[str, _Canned]:
    """URI path -> canned answer, for every path the static handler serves a file for
    (a directory with an index file included, as ngx_http_index_module maps it)."""
    table: dict[str, _Canned] = {}
    marker = "\x00"
    for name, found in files.items():
        if name == LOGIN_PATH or name.startswith(BASIC_PREFIX):
            continue  # routed to the application before the static handler
        headers = [
            ("Content-Type", found.content_type),
            ("Last-Modified", found.last_modified),
            ("ETag", found.etag),
            ("Accept-Ranges", "bytes"),
            ("Content-Length", str(len(found.body))),
        ]
        parts = []
        for keep in (True, False):
            head = http_codec.make_head(200, headers, server=version, date=marker, keepalive=keep)
            before, _, after = head.partition(marker.encode("latin-1"))
            parts.append((before, after))
        canned = _Canned(parts[0][0], parts[0][1], parts[1][1], found.body)
        table[name] = canned
        if name.endswith("/index.html"):
            table[name[: -len("index.html")]] = canned
    return table


class _Started:
    """A coroutine whose first step already ran and is waiting on ``first``; awaiting this
    continues it (the Task that awaits it drives the rest)."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, web.StreamResponse], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, web.StreamResponse]:
        coro = self.coro
        value = self.first
        while True:
            try:
                sent = yield value
            except BaseException as exc:
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return cast(web.StreamResponse, stop.value)
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return cast(web.StreamResponse, stop.value)


async def _continue(started: _Started) -> web.StreamResponse:
    return await started


async def start(config: WebConfig, *, limits: Limits, host: str, metrics_port: int = 0) -> Running:
    """Listen on the HTTP port and, unless ``tls_port`` is 0, the HTTPS port.

    Args:
        config: the decoy's settings.
        limits: connection limits for its guard.
        host: address to bind.
        metrics_port: unused here.
    """
    del metrics_port
    loop = asyncio.get_running_loop()
    server = WebServer(config, loop)
    # nginx uses one client_header_timeout for a silent connection and for a slow head.
    server.header_timeout = limits.idle_timeout
    await server.freeze()
    guard = Guard(DECOY, limits, RULE)
    # The guard accepts itself (listen backlog 511, nginx's default too).
    bindings = [
        (guard.protocol_factory(lambda session: WebConnection(session, server)), config.port)
    ]
    if config.tls_port:
        server.ssl_context = make_ssl_context(config, server.sni)
        sniffer = guard.protocol_factory(lambda session: TlsSniffer(session, server))
        bindings.append((sniffer, config.tls_port))
    running = await guard.start(host, bindings)
    running.cleanups.append(server.cancel_tasks)
    return running
