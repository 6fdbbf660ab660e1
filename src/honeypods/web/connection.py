"""One HTTP connection of the web decoy: nginx's reading rules, aiohttp's routing, nginx's writing.

The adapter between the sans-IO codec (``web.http``) and asyncio, in uvicorn's ``h11_impl`` shape:
bytes in, loop over ``next_request()``, answer each request, write the bytes nginx would.

Rules this module keeps:

* Requests are answered one at a time, in order, by one loop (``busy``, ``_advance``).
* A plain GET or HEAD of a static file is answered from stored bytes (``site.canned_table``);
  every other well-formed request runs through the aiohttp application under ``core.drive.Drive``
  (most complete in their first step, so they cost no Task and no loop turn), and its answer
  goes through ``app.write_response``.
* nginx's timing rules are kept here, not in the codec: client_header_timeout for a whole head
  (however slowly it trickles in), lingering_timeout and lingering_time while a refused or
  unread body is read and dropped, so the client sees the page rather than a reset.
* Every request, parsed or not, is one ``web.request`` event (``record``), emitted once its body
  was read or dropped; the guard, never this module, closes the transport and logs the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final, cast

from honeypods.core import events
from honeypods.core.guard import Session
from honeypods.web.aiohttp_shim import ProtocolView
from honeypods.web.answer import Exchange, canned_answer, protocol_view, refusal
from honeypods.web.http import ProtocolError, Request, RequestReader, wire_status
from honeypods.web.linger import LINGERING_TIMEOUT, Lingering
from honeypods.web.record import BODY_KEEP, basic_login, raw_fields, request_fields
from honeypods.web.shared import WebServer
from honeypods.web.site import LOGIN_PATH

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
        self.reader = RequestReader(strict_framing=server.persona.strict_framing)
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closing = False
        self.requests = 0
        self.advancing = self.answered = False  # inside _advance; and it answered since
        self.body_for: Request | None = None
        self.view: ProtocolView | None = None
        self.peer_done = False
        # Bytes sent outside a response (100 Continue), counted in the next request event.
        self.unlogged_bytes = 0
        # After a refusal: the body still coming, read and dropped before closing.
        self.lingering: Lingering | None = None
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
            if self.lingering is not None:
                self.lingering.received(len(data))
            return
        self.reader.receive_data(data)
        if not self.busy:
            self._advance()

    def eof_received(self) -> bool:
        self.peer_done = True
        if not self.busy:
            self._finish_incomplete()
            self.session.close("eof")
        # Half-closed peers still get their answer; under TLS asyncio closes regardless.
        return not self.tls

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lingering is not None:
            self.lingering.cancel()
        if self.header_timer is not None:
            self.header_timer.cancel()
        if self.drain_timer is not None:
            self.drain_timer.cancel()
        if not self.busy and not self.closing:
            self._finish_incomplete()
        self.closing = True

    def _advance(self) -> None:
        # Answering calls back here for pipelined requests; one loop serves them, no recursion.
        if self.advancing:
            self.answered = True
            return
        self.advancing, self.answered = True, False
        try:
            self._advance_loop()
        finally:
            self.advancing = False
        if self.answered:
            self._after_response()

    def _advance_loop(self) -> None:
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
            # nginx waits lingering_timeout for each read of a body it discards, then closes.
            if self.drain_timer is not None:
                self.drain_timer.cancel()
            loop = self.server.loop
            self.drain_timer = loop.call_later(LINGERING_TIMEOUT, self._drain_timed_out)
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

    def _dispatch(self, req: Request, body: bytes, body_size: int, *, drain: bool = False) -> None:
        self.requests += 1
        keep = req.keepalive and self.requests < self.server.persona.keepalive_requests
        data = canned_answer(self.server, req, keep)
        if data is not None:
            if self.session.closed:
                self._log(req, body, body_size, 0, 0)
            else:
                self._send(req, body, body_size, 200, data, keep=keep, drain=drain, continues=True)
            return
        self.busy = True
        view = self.view
        if view is None:
            # Built on first use: most connections never reach the aiohttp application.
            transport = cast(asyncio.Transport, self.transport)
            view = self.view = protocol_view(self.session, transport, self.tls)
        exchange = Exchange(
            self.server,
            self.session,
            req,
            body,
            body_size,
            keep=keep,
            drain=drain,
            finish=self._answered,
        )
        exchange.start(view)

    def _answered(self, exchange: Exchange) -> None:
        self.busy = False
        if exchange.cancelled:
            return  # the decoy is stopping: the guard ends the session
        req = exchange.req
        if exchange.data is None:
            self._log(req, exchange.body, exchange.body_size, 0, 0)
            return
        self._send(
            req,
            exchange.body,
            exchange.body_size,
            exchange.status,
            exchange.data,
            keep=exchange.keep,
            drain=exchange.drain,
            continues=exchange.continues,
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
        # Inside _advance's loop it waits: the loop calls it once it has answered what is here.
        if self.peer_done and not self.advancing and not self.busy and not self.closing:
            self._finish_incomplete()
            self.session.close("eof")

    def _refuse(self, err: ProtocolError, req: Request | None) -> None:
        """Answer a request nginx refuses with its error page, then close."""
        reader = self.reader
        raw = reader.consumed_head or bytes(reader.buf[: events.TEXT_CAP * 4])
        data = refusal(self.server, err, req)
        self._write(data)
        self.requests += 1
        if req is not None:
            self._log(req, b"", 0, wire_status(err.status), len(data), error=err.reason)
        else:
            self._log_raw(raw, wire_status(err.status), len(data), err.reason)
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
        self.closing = True
        self.lingering = Lingering(self.server.loop, left, self._close_refused)

    def _close_refused(self) -> None:
        self._close_after("protocol_error")

    def _close_after(self, reason: str = "eof") -> None:
        self.closing = True
        self.session.close(reason)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and data:
            self.transport.write(data)

    def _finish_incomplete(self) -> None:
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
        fields = request_fields(
            req,
            tls=self.tls,
            body=body,
            body_size=body_size,
            body_sha256=self.reader.body_sha256() if body_size else "",
            status=status,
            sent=sent + self.unlogged_bytes,
            error=error,
        )
        self.unlogged_bytes = 0
        self.session.emit("web.request", fields)
        if req.authorization is not None:
            login = basic_login(req.authorization, req.path)
            if login is not None:
                self.session.emit("web.login", login)

    def _log_raw(self, raw: bytes, status: int, sent: int, error: str) -> None:
        fields = raw_fields(raw, status=status, sent=sent, error=error, tls=self.tls)
        self.session.emit("web.request", fields)
