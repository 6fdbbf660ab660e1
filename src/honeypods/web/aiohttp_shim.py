"""The only place that reaches into aiohttp: a request parsed by nginx's rules, run through an app.

Verified on aiohttp 3.14.0 and 3.14.5 with multidict 7.2.1 and yarl 1.25.1 (CPython 3.11), so
pyproject should pin ``aiohttp>=3.14,<3.15``: 3.13's RequestHandler has no ``sockname``, and a
later minor may move any of what follows. Every name used here is public, but aiohttp documents
none of these uses: it expects to parse the request itself and to hand the application a
``Request`` made by its own ``RequestHandler``. The decoy cannot let it (aiohttp's parser accepts
and refuses other bytes than nginx, and its writer has its own status lines and defaults), so
this module does by hand what aiohttp's server does. ``tests/unit/test_shim_aiohttp.py`` fails,
naming what changed, when any shape relied on here changes:

* ``request_handler``: the application's request handler, taken from the low-level server an
  ``AppRunner`` builds (``runner.server.request_handler``) instead of calling the app's private
  ``_handle``. The runner's ``setup`` also runs the app's startup signals and freezes it.
* ``make_request``: a ``web.Request`` built directly: its positional ``RawRequestMessage`` (ten
  fields), a ``StreamReader`` already fed with the whole body (it needs a ``BaseProtocol`` for
  flow control it never uses here), no payload writer and no task, and ``host=`` for nginx's
  ``$host``. ``Expect`` and ``Host`` are left out of its headers: the app would answer
  ``100-continue`` through the payload writer it does not have, and the host is given.
* ``ProtocolView``: what a ``Request`` reads of its protocol (``transport``, ``peername``,
  ``sockname``, ``ssl_context``, ``max_field_size``, ``max_headers``), mirroring the public
  attributes of aiohttp's ``RequestHandler``; slotted, so a new attribute read fails loudly.

Upstream, a public way to run an ``Application`` on a request parsed elsewhere (a documented
``Request`` constructor that needs no ``RequestHandler``, or a public ``Application.handle``)
would make this module unnecessary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final, cast

from aiohttp import EMPTY_PAYLOAD, StreamReader, web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http import HttpVersion10, HttpVersion11, RawRequestMessage
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from honeypods.web.http import MAX_BODY, Request

Handler = Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]

# RequestHandler's defaults, read by Request.multipart().
_MAX_FIELD_SIZE: Final = 8190
_MAX_HEADERS: Final = 128
# Headers the application must not see (see the module docstring).
_HIDDEN: Final = frozenset({"expect", "host"})
# Scanners ask for the same few paths again and again; building a URL is not free.
_URL_CACHE: Final = 1024
_URLS: dict[tuple[str, str], URL] = {}


class ProtocolView:
    """What a ``web.Request`` asks of its protocol, for a connection aiohttp does not run."""

    __slots__ = (
        "max_field_size",
        "max_headers",
        "peername",
        "sockname",
        "ssl_context",
        "transport",
    )

    def __init__(
        self,
        transport: asyncio.BaseTransport,
        peer: tuple[str, int],
        local: tuple[str, int],
        tls: bool,
    ) -> None:
        self.transport = transport
        self.peername = peer
        self.sockname = local
        # Only its truth is read: request.secure and the scheme of absolute targets.
        self.ssl_context = True if tls else None
        self.max_field_size = _MAX_FIELD_SIZE
        self.max_headers = _MAX_HEADERS


async def request_handler(app: web.Application) -> Handler:
    """Start ``app`` (its startup signals; it is frozen after) and return its request handler."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    server = runner.server
    if server is None:
        raise RuntimeError("aiohttp's AppRunner.setup() made no server")
    return cast(Handler, server.request_handler)


def make_request(
    req: Request,
    body: bytes,
    view: ProtocolView,
    loop: asyncio.AbstractEventLoop,
    host: str,
) -> web.Request:
    """The ``web.Request`` for a head the codec parsed and its whole body.

    Args:
        req: the parsed head.
        body: the body, complete (the decoy reads it before the application runs).
        view: the connection as the request sees it.
        loop: the running loop.
        host: nginx's ``$host`` for this request.
    """
    headers = CIMultiDictProxy(
        CIMultiDict((k, v) for k, v in req.headers if k.lower() not in _HIDDEN)
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
        HttpVersion11 if req.version >= (1, 1) else HttpVersion10,
        headers,
        (),  # raw_headers
        not req.keepalive,  # should_close
        None,  # compression
        False,  # upgrade
        False,  # chunked: the body is already whole
        url,
    )
    if body:
        payload = StreamReader(BaseProtocol(loop), 2 * MAX_BODY, loop=loop)
        payload.feed_data(body)
        payload.feed_eof()
    else:
        payload = EMPTY_PAYLOAD
    return web.Request(
        message,
        payload,
        cast(Any, view),
        cast(Any, None),  # payload_writer: responses are written by the decoy
        cast(Any, None),  # task: the handler runs under core.drive.Drive, not a Task
        loop,
        client_max_size=MAX_BODY,
        state=None,
        host=host,
    )
