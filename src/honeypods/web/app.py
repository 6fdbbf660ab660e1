"""The site's behaviour for well-formed requests: an aiohttp application, answering as nginx would.

Policy: the login backend behind nginx's ``proxy_pass`` (``LOGIN_PATH``: the application's JSON
sign-in API, one ``web.login`` event per post, its JSON failure after ``login_delay``, 429 once a
source guessed too often; ``web.login`` decides what), HTTP Basic auth in front of the rest of
``BASIC_PREFIX`` (nginx's access phase, before any content handler), and nginx's static module
for the rest (the shell for the client-side routes, index files, directory redirects, 403 for a
directory without index, conditional and single-range requests).

Rules this module keeps:

* Handlers never build an nginx page themselves: ``nginx_error`` marks a response with the page to
  send (``X-Nginx-Error``), and ``write_response`` turns it into nginx's exact bytes. The two
  marker headers never reach the wire.
* ``write_response`` is the only place an aiohttp response becomes bytes: nginx's status line,
  header order and ``Date``; aiohttp's own writer never runs, so none of its defaults
  (``Server: Python/...``, ``404: Not Found``) can reach a client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from honeypods.web.config import WebConfig
from honeypods.web.http import (
    CLOSING_STATUSES,
    Request,
    etag_matches,
    gzip,
    make_error,
    make_head,
    parse_ranges,
    wire_status,
)
from honeypods.web.leak import record_api_use
from honeypods.web.login import (
    FAILED,
    MALFORMED,
    NOT_FOUND,
    THROTTLED,
    Throttle,
    body_kind,
    credentials,
    message,
    parse_body,
)
from honeypods.web.record import login_fields
from honeypods.web.site import BASIC_PREFIX, LOGIN_PATH, StaticFile, is_shell_route, site_dirs

# Headers between the handlers and the writer, never on the wire: the nginx page to send, and
# "the static handler discarded the body here" (which answers Expect: 100-continue).
_ERROR: Final = "X-Nginx-Error"
_CONTINUES: Final = "X-Nginx-Discarded"
_INTERNAL: Final = frozenset({_ERROR, _CONTINUES})


def nginx_error(status: int, *extra: tuple[str, str]) -> web.Response:
    """A response that stands for nginx's own page for ``status``, with these extra headers."""
    resp = web.Response(status=wire_status(status))
    resp.headers[_ERROR] = str(status)
    for name, value in extra:
        resp.headers[name] = value
    return resp


def make_app(config: WebConfig, files: Mapping[str, StaticFile]) -> web.Application:
    """The aiohttp application: routing and the site's behaviour for well-formed requests."""
    dirs = site_dirs(files)
    shell = files["/index.html"]
    throttle = Throttle()

    async def login(request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            # Not 405: nginx would pass on the backend's own reason phrase, not its "Not Allowed".
            return _json(404, NOT_FOUND)
        conn = request.transport
        session = conn.get_extra_info("honeypods.session") if conn else None
        address = session.peer[0] if session is not None else ""
        wait = throttle.retry_after(address, time.monotonic())
        fields: Mapping[str, Any] | None
        ctype = request.headers.get("Content-Type", "")
        if body_kind(ctype, b"") == "multipart":
            # A malformed form is one more login attempt, never an error page of ours.
            try:
                fields = await request.post()
            except Exception:
                fields = None
        else:
            body = await request.read()
            fields = parse_body(body_kind(ctype, body), body)
        user, password = credentials(fields or {})
        if session is not None:
            session.emit("web.login", login_fields(user, password, "form", request.path))
        if wait:
            return _json(429, THROTTLED, ("Retry-After", str(wait)))
        if fields is None:
            return _json(400, MALFORMED)
        # Counted before the delay, so guesses sent side by side are throttled too.
        throttle.failed(address, time.monotonic())
        await asyncio.sleep(config.login_delay)
        return _json(401, FAILED)

    async def api(request: web.Request) -> web.StreamResponse:
        # auth_basic runs in nginx's access phase, before any content handler: every method.
        record_api_use(request)
        return nginx_error(401, ("WWW-Authenticate", f'Basic realm="{config.product} API"'))

    async def static(request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        method = request.method
        if method not in ("GET", "HEAD", "POST"):
            return nginx_error(405)
        if is_shell_route(path):
            # try_files /index.html: the static handler then serves the shell (405 for POST).
            return nginx_error(405) if method == "POST" else _static(request, shell)
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


def _json(status: int, text: str, *extra: tuple[str, str]) -> web.Response:
    """The login backend's answer, with the headers such an application sends."""
    resp = web.Response(body=message(text), status=status)
    resp.headers["Content-Type"] = "application/json"
    for name, value in extra:
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
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
    if if_match is not None and not etag_matches(if_match, etag):
        return nginx_error(412)
    ims = request.headers.get("If-Modified-Since")
    inm = request.headers.get("If-None-Match")
    if ims is not None or inm is not None:
        fresh = (ims is None or ims == last_modified) and (inm is None or etag_matches(inm, etag))
        if fresh:
            resp = web.Response(status=304)
            resp.headers["Last-Modified"] = last_modified
            resp.headers["ETag"] = etag
            return resp
    ranged = _range(request, found)
    if ranged is not None:
        return ranged
    return _file_response(found, found.body, 200, ("Accept-Ranges", "bytes"))


def _range(request: web.Request, found: StaticFile) -> web.Response | None:
    """ngx_http_range_filter for one range; None serves the whole file."""
    value = request.headers.get("Range")
    if value is None or len(value) < 7 or value[:6].lower() != "bytes=":
        return None
    if gzip.response_eligible(200, found.content_type, len(found.body)) and gzip.request_wants(
        request.version, request.headers.items()
    ):
        return None  # the gzip filter drops the length first: no ranges of a compressed file
    if_range = request.headers.get("If-Range")
    if if_range is not None:
        if len(if_range) >= 2 and if_range.endswith('"'):
            if if_range != found.etag:
                return None
        elif if_range != found.last_modified:
            return None
    spans = parse_ranges(value[6:], len(found.body))
    if spans is None:
        return None
    if not spans:
        return nginx_error(416, ("Content-Range", f"bytes */{len(found.body)}"))
    if len(spans) > 1:
        # nginx answers several ranges with a multipart body; the decoy serves the whole file.
        return None
    start, end = spans[0]
    span = ("Content-Range", f"bytes {start}-{end - 1}/{len(found.body)}")
    return _file_response(found, found.body[start:end], 206, span)


def _file_response(
    found: StaticFile, body: bytes, status: int, *extra: tuple[str, str]
) -> web.Response:
    resp = web.Response(body=body, status=status)
    resp.headers["Content-Type"] = found.content_type
    resp.headers["Last-Modified"] = found.last_modified
    resp.headers["ETag"] = found.etag
    for name, value in extra:
        resp.headers[name] = value
    return resp


def failure(exc: BaseException | None) -> tuple[web.StreamResponse, bool]:
    """The answer to a handler that raised ``exc`` (or returned nothing), and whether that is a
    bug to report: an aiohttp ``HTTPException`` is routing's answer, anything else is nginx's 500."""
    if isinstance(exc, web.HTTPException):
        return nginx_error(exc.status), False
    return nginx_error(500), True


def write_response(
    req: Request,
    resp: web.StreamResponse,
    *,
    server: str,
    date: str,
    keep: bool,
    gzip_ok: bool = False,
) -> tuple[int, bytes, bool, bool]:
    """A handler's response as nginx's bytes.

    Args:
        req: the request it answers.
        resp: the handler's response.
        server: the persona's version.
        date: the ``Date`` value.
        keep: whether the connection may stay open so far.
        gzip_ok: the request lets nginx's gzip filter compress the answer.

    Returns:
        (status on the wire, bytes, keep-alive, whether the static handler discarded the body).
    """
    headers = resp.headers
    continues = _CONTINUES in headers
    nginx_status = int(headers.get(_ERROR, 0))
    head_only = req.method == "HEAD"
    if nginx_status:
        status = nginx_status
        if status in CLOSING_STATUSES:
            keep = False
        extra = [(k, v) for k, v in headers.items() if k not in _INTERNAL]
        data = make_error(
            status,
            server=server,
            date=date,
            keepalive=keep,
            padding=req.padding,
            head_only=head_only,
            extra=extra,
            http09=req.version < (1, 0),
            gzip_ok=gzip_ok,
        )
        return wire_status(status), data, keep, continues
    status = resp.status
    payload = resp.body if isinstance(resp, web.Response) else b""
    body = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
    if req.version < (1, 0):
        return status, body, False, continues
    out_headers = [(k, v) for k, v in headers.items() if k not in _INTERNAL]
    if gzip_ok and gzip.response_eligible(status, headers.get("Content-Type", ""), len(body)):
        out_headers = gzip.headers_for(out_headers, head_only=head_only)
        head = make_head(status, out_headers, server=server, date=date, keepalive=keep)
        if head_only:
            return status, head, keep, continues
        return status, head + gzip.chunked(gzip.compress(body)), keep, continues
    if status != 304:
        out_headers.append(("Content-Length", str(len(body))))
    head = make_head(status, out_headers, server=server, date=date, keepalive=keep)
    if head_only or status == 304:
        return status, head, keep, continues
    return status, head + body, keep, continues
