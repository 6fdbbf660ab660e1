"""How a well-formed request is answered: from stored bytes, or by the aiohttp application.

The connection decides *when* a request is answered and what happens to the connection after;
this module decides *what* the answer's bytes are.

Rules this module keeps:

* A plain GET or HEAD (HTTP/1.0 or later, no conditional or Range header) of a path the static
  handler serves a file for is answered from ``site.canned_table``: the same bytes the
  application's answer would be written as, without the round trip. When nginx's gzip filter
  would compress it (``http.gzip``), from ``compressed.gzip_table`` instead.
* Every other request runs through the application under ``core.drive.Drive``, one ``Exchange``
  per request (uvicorn's ``RequestResponseCycle``): most handlers complete in their first step,
  so they cost no Task and no loop turn; one still waiting is in ``WebServer.drives`` until it
  ends, so shutdown can cancel it.
* A handler's exception never reaches the peer: routing's ``HTTPException`` becomes nginx's page
  for its status, anything else nginx's 500 and one ``honeypods.error`` diagnostic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from honeypods.core.drive import Drive
from honeypods.core.guard import Session
from honeypods.web import aiohttp_shim
from honeypods.web.app import failure, write_response
from honeypods.web.http import ProtocolError, Request, gzip, make_error
from honeypods.web.shared import WebServer
from honeypods.web.site import CONDITIONAL


def canned_answer(server: WebServer, req: Request, keep: bool) -> bytes | None:
    """The stored answer to ``req``, or None when the application must answer it."""
    canned = server.canned.get(req.path)
    if canned is None:
        return None
    plain = req.memo.get("plain")
    if plain is None:
        plain = req.memo["plain"] = (
            req.method in ("GET", "HEAD")
            and req.version >= (1, 0)
            and not any(k.lower() in CONDITIONAL for k, _ in req.headers)
        )
    if not plain:
        return None
    if server.canned_gzip and wants_gzip(req):
        variants = server.canned_gzip.get(req.path)
        if variants is not None:
            canned = variants[req.method == "HEAD"]
    data = (
        canned.before
        + server.clock.http_date_bytes(time.time())
        + (canned.after_keep if keep else canned.after_close)
    )
    if req.method != "HEAD":
        data += canned.body
    return data


def wants_gzip(req: Request) -> bool:
    """Whether the request lets nginx's gzip filter compress its answer (once per head)."""
    wants = req.memo.get("gzip")
    if wants is None:
        wants = req.memo["gzip"] = gzip.request_wants(req.version, req.headers)
    return bool(wants)


def refusal(server: WebServer, err: ProtocolError, req: Request | None) -> bytes:
    """nginx's error response to a request it refuses (``req`` when the head parsed); nothing
    when nginx closes without an answer (status 0)."""
    if not err.status:
        return b""
    return make_error(
        err.status,
        server=server.version,
        date=server.clock.http_date(time.time()),
        keepalive=False,
        padding=err.padding or (req is not None and req.padding),
        head_only=err.head_only or (req is not None and req.method == "HEAD"),
        http09=err.http09 or (req is not None and req.version < (1, 0)),
    )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class RequestTransport(asyncio.BaseTransport):
    """The application's view of the connection: its session, and host/port/TLS for redirects;
    anything else is asked of the real transport."""

    def __init__(self, session: Session, transport: asyncio.BaseTransport, tls: bool) -> None:
        super().__init__()
        self.session = session
        self.inner = transport
        self.tls = tls

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        session = self.session
        if name == "honeypods.session":
            return session
        if name == "honeypods.web":
            return (_bracketed(session.local[0]), session.local[1], self.tls)
        return self.inner.get_extra_info(name, default)


def protocol_view(
    session: Session, transport: asyncio.BaseTransport, tls: bool
) -> aiohttp_shim.ProtocolView:
    """What the application's requests see of one connection."""
    info = RequestTransport(session, transport, tls)
    return aiohttp_shim.ProtocolView(info, session.peer, session.local, tls)


class Exchange:
    """One request through the application, from the parsed head to nginx's bytes.

    ``finish(self)`` runs once it ends, possibly inside ``start``. Then ``cancelled`` says the
    decoy stopped it, ``data`` is None when the session closed meanwhile (nothing to write), and
    otherwise ``status``, ``data``, ``keep`` and ``continues`` (the static handler discarded the
    body) are the answer.
    """

    __slots__ = (
        "body",
        "body_size",
        "cancelled",
        "continues",
        "data",
        "drain",
        "drive",
        "finish",
        "finished",
        "keep",
        "req",
        "server",
        "session",
        "status",
    )

    def __init__(
        self,
        server: WebServer,
        session: Session,
        req: Request,
        body: bytes,
        body_size: int,
        *,
        keep: bool,
        drain: bool,
        finish: Callable[[Exchange], None],
    ) -> None:
        self.server = server
        self.session = session
        self.req = req
        self.body = body
        self.body_size = body_size
        self.keep = keep
        self.drain = drain
        self.finish = finish
        self.drive: Drive[web.StreamResponse] | None = None
        self.finished = False
        self.cancelled = False
        self.status = 0
        self.data: bytes | None = None
        self.continues = False

    def start(self, view: aiohttp_shim.ProtocolView) -> None:
        """Run the application on the request; ``view`` is the connection as it sees it."""
        server = self.server
        req = self.req
        try:
            # nginx's $host: the request line's host, else Host validated and lowercased, else
            # the local address.
            host = req.host or _bracketed(self.session.local[0])
            request = aiohttp_shim.make_request(req, self.body, view, server.loop, host)
        except Exception as exc:
            self._done(None, exc)
            return
        drive = Drive(server.handler(request), self._done)
        if not self.finished:
            self.drive = drive
            server.drives.add(drive)

    def _done(self, resp: web.StreamResponse | None, exc: BaseException | None) -> None:
        self.finished = True
        if self.drive is not None:
            self.server.drives.discard(self.drive)
            self.drive = None
        if isinstance(exc, asyncio.CancelledError):
            self.cancelled = True
        elif not self.session.closed:
            if exc is not None or resp is None:
                resp, unexpected = failure(exc)
                if unexpected:
                    self.session.error(exc or RuntimeError("no response"))
            server = self.server
            self.status, self.data, self.keep, self.continues = write_response(
                self.req,
                resp,
                server=server.version,
                date=server.clock.http_date(time.time()),
                keep=self.keep,
                gzip_ok=wants_gzip(self.req),
            )
        self.finish(self)
