"""The contract between ``honeypods.web.aiohttp_shim`` and aiohttp (with multidict and yarl).

Every aiohttp name the shim builds, calls or mirrors is listed here with the shape the shim
expects. A failure names the attribute, the shape the shim needs, what this aiohttp has and which
part of the shim uses it, so an upgrade that moves an internal fails here, clearly, before it
fails as a wire difference in tests/integration/test_web_nginx.py. The last tests run the shim
end to end, so a change that keeps the shapes but not the behaviour fails too.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from importlib import metadata
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from honeypods.web import aiohttp_shim
from honeypods.web.http import Request

# The versions aiohttp_shim names in its docstring.
VERIFIED = {"aiohttp": "3.14.0 and 3.14.5", "multidict": "7.2.1", "yarl": "1.25.1"}


def _versions() -> str:
    found = ", ".join(f"{name} {metadata.version(name)}" for name in VERIFIED)
    verified = ", ".join(f"{name} {version}" for name, version in VERIFIED.items())
    return f"this environment has {found}; the shim was verified on {verified}"


def _require(ok: bool, what: str, expected: str, got: object, used_by: str) -> None:
    if not ok:
        pytest.fail(
            f"{what}: aiohttp_shim.{used_by} needs {expected}, this aiohttp has {got!r} "
            f"({_versions()}); adapt src/honeypods/web/aiohttp_shim.py and its docstring"
        )


# (callable, positional parameters the shim passes in order, keywords it passes, who calls it).
# New optional parameters do not matter; a renamed, moved or removed one, or a new required one,
# does.
CALLS = [
    (
        web.BaseRequest.__init__,
        ("message", "payload", "protocol", "payload_writer", "task", "loop"),
        ("client_max_size", "state", "host"),
        "make_request",
    ),
    (aiohttp.StreamReader.__init__, ("protocol", "limit"), ("loop",), "make_request"),
    (BaseProtocol.__init__, ("loop",), (), "make_request"),
    (web.AppRunner.__init__, ("app",), ("handle_signals",), "request_handler"),
    (web.Server.__init__, ("handler",), (), "request_handler (the runner builds it)"),
]


def _mismatch(
    func: Callable[..., Any], positional: tuple[str, ...], keywords: tuple[str, ...]
) -> str:
    """What in ``func``'s signature no longer takes the shim's call; '' when it does."""
    params = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]
    by_position = [p.name for p in params[: len(positional)]]
    if tuple(by_position) != positional or any(
        p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in params[: len(positional)]
    ):
        return f"positional parameters {by_position}"
    named = {p.name: p for p in params}
    for name in keywords:
        if name not in named or named[name].kind in (
            named[name].POSITIONAL_ONLY,
            named[name].VAR_POSITIONAL,
        ):
            return f"no keyword {name!r}"
    passed = set(positional) | set(keywords)
    required = [
        p.name
        for p in params
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name not in passed
    ]
    return f"new required parameters {required}" if required else ""


@pytest.mark.parametrize(
    ("func", "positional", "keywords", "used_by"),
    CALLS,
    ids=[f.__qualname__ for f, _, _, _ in CALLS],
)
def test_signatures_take_the_shims_calls(
    func: Callable[..., Any], positional: tuple[str, ...], keywords: tuple[str, ...], used_by: str
) -> None:
    wrong = _mismatch(func, positional, keywords)
    _require(
        not wrong,
        func.__qualname__,
        f"positional {positional} and keywords {keywords}",
        f"{inspect.signature(func)}: {wrong}",
        used_by,
    )


def test_raw_request_message_takes_its_ten_fields_in_order() -> None:
    # aiohttp.http.RawRequestMessage is a compiled class when aiohttp's C parser is installed,
    # with no inspectable signature: build it positionally, as the shim does, with a distinct
    # value per field (one flag set at a time), and read every field back by name.
    values: dict[str, Any] = {
        "method": "PATCH",
        "path": "/p?q",
        "version": aiohttp.HttpVersion(1, 0),
        "headers": CIMultiDictProxy(CIMultiDict(a="1")),
        "raw_headers": ((b"a", b"1"),),
        "should_close": False,
        "compression": "gzip",
        "upgrade": False,
        "chunked": False,
        "url": URL("/p?q"),
    }
    for flag in ("should_close", "upgrade", "chunked"):
        given = {**values, flag: True}
        try:
            message = aiohttp.http.RawRequestMessage(*given.values())
        except TypeError as exc:
            _require(
                False,
                "aiohttp.http.RawRequestMessage",
                f"the fields {tuple(values)}",
                exc,
                "make_request",
            )
        wrong = [name for name, value in given.items() if getattr(message, name, None) != value]
        _require(
            not wrong,
            "aiohttp.http.RawRequestMessage",
            f"the fields in the order {tuple(values)}",
            f"{wrong} elsewhere",
            "make_request",
        )


@pytest.mark.parametrize("name", ["RawRequestMessage", "HttpVersion10", "HttpVersion11"])
def test_aiohttp_http_exports(name: str) -> None:
    exported = getattr(aiohttp.http, "__all__", ())
    _require(name in exported, f"aiohttp.http.{name}", "a public export", exported, "make_request")


@pytest.mark.parametrize("name", ["StreamReader", "EMPTY_PAYLOAD"])
def test_aiohttp_top_level_exports(name: str) -> None:
    _require(
        name in aiohttp.__all__,
        f"aiohttp.{name}",
        "a public export",
        aiohttp.__all__,
        "make_request",
    )


@pytest.mark.parametrize("name", aiohttp_shim.ProtocolView.__slots__)
def test_protocol_view_mirrors_request_handler(name: str) -> None:
    # The view stands in for a RequestHandler: each attribute it offers must be one the real
    # protocol has, under the same name.
    _require(
        hasattr(RequestHandler, name),
        f"aiohttp.web_protocol.RequestHandler.{name}",
        "the attribute ProtocolView mirrors",
        sorted(n for n in dir(RequestHandler) if not n.startswith("__")),
        "ProtocolView",
    )


async def test_the_runner_exposes_its_server_and_the_server_its_handler() -> None:
    server_attr = inspect.getattr_static(web.BaseRunner, "server", None)
    _require(
        isinstance(server_attr, property),
        "aiohttp.web.BaseRunner.server",
        "a property",
        server_attr,
        "request_handler",
    )

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    server = web.Server(handler)
    got = getattr(server, "request_handler", None)
    _require(
        got is handler,
        "aiohttp.web.Server.request_handler",
        "the handler given to Server()",
        got,
        "request_handler",
    )


def _view() -> aiohttp_shim.ProtocolView:
    return aiohttp_shim.ProtocolView(
        asyncio.BaseTransport(), ("192.0.2.7", 40000), ("10.0.0.1", 8443), True
    )


def _head(method: str, target: str, *headers: tuple[str, str]) -> Request:
    path, _, query = target.partition("?")
    return Request(
        method=method,
        target=target,
        path=path,
        query=query,
        version=(1, 1),
        version_text="HTTP/1.1",
        headers=[("Host", "Dashboard.Internal"), *headers],
        keepalive=True,
    )


async def test_a_request_built_by_the_shim_reads_only_what_the_view_offers() -> None:
    # ProtocolView has __slots__: a Request reading any other protocol attribute fails here.
    form = b"username=alice&password=s3cr%21t"
    req = _head(
        "POST",
        "/login?next=%2F",
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Expect", "100-continue"),
    )
    request = aiohttp_shim.make_request(
        req, form, _view(), asyncio.get_running_loop(), "dashboard.internal"
    )
    assert (request.method, request.path, request.query_string) == ("POST", "/login", "next=%2F")
    assert request.version == aiohttp.HttpVersion11
    assert request.host == "dashboard.internal"
    assert request.remote == "192.0.2.7"
    assert request.secure
    assert request.keep_alive
    assert "Expect" not in request.headers
    assert "Host" not in request.headers
    assert dict(await request.post()) == {"username": "alice", "password": "s3cr!t"}


async def test_the_started_application_answers_without_a_task_or_a_writer() -> None:
    app = web.Application()

    async def hello(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0)
        return web.Response(text=f"{request.method} {request.match_info['name']}")

    app.router.add_get("/hello/{name}", hello)
    handler = await aiohttp_shim.request_handler(app)
    assert app.frozen
    request = aiohttp_shim.make_request(
        _head("GET", "/hello/bob"), b"", _view(), asyncio.get_running_loop(), "h"
    )
    resp = await handler(request)
    assert isinstance(resp, web.Response)
    assert (resp.status, resp.text) == (200, "GET bob")
    # Routing's refusal is an HTTPException (raised), never a response aiohttp writes itself.
    with pytest.raises(web.HTTPNotFound):
        await handler(
            aiohttp_shim.make_request(
                _head("GET", "/nope"), b"", _view(), asyncio.get_running_loop(), "h"
            )
        )
