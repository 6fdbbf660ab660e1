"""What the decoy records of each request: the fields of ``web.request`` and ``web.login``.

Policy, no I/O: the connection emits what these functions build. The fields and their caps are
those of ``web.catalogue`` (docs/events.md); attacker text is clipped and escaped here and
nowhere else, and nothing of it becomes part of a format string.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from honeypods.core import events
from honeypods.web.http import Request

# Bounds on what one request event keeps (the line cap in events.py bounds the rest).
MAX_LOGGED_HEADERS: Final = 64
BODY_KEEP: Final = events.LONG_TEXT_CAP


def request_fields(
    req: Request,
    *,
    tls: bool,
    body: bytes,
    body_size: int,
    body_sha256: str,
    status: int,
    sent: int,
    error: str | None = None,
) -> dict[str, Any]:
    """The ``web.request`` event of a parsed request: its head, body, and the answer's size."""
    base = req.memo.get("log")
    if base is None:
        # The same head bytes give the same fields: parsed once per cached head.
        base = req.memo["log"] = _head_fields(req)
    fields: dict[str, Any] = dict(base)
    fields["tls.established"] = tls
    if body_size:
        fields["http.request.body.content"] = events.clip_text(body, BODY_KEEP)
        fields["http.request.body.bytes"] = body_size
        fields["http.request.body.sha256"] = body_sha256
    if status:
        fields["http.response.status_code"] = status
    fields["http.response.bytes"] = sent
    if error is not None:
        fields["web.error"] = error
    return fields


def raw_fields(raw: bytes, *, status: int, sent: int, error: str, tls: bool) -> dict[str, Any]:
    """The ``web.request`` event of bytes that never became a request head."""
    fields: dict[str, Any] = {
        "web.raw_hex": events.to_hex(raw),
        "web.error": error,
        "http.response.bytes": sent,
        "tls.established": tls,
    }
    line = raw.split(b"\n", 1)[0]
    method, _, rest = line.partition(b" ")
    if method:
        fields["http.request.method"] = events.clip_text(method, 64)
    if rest:
        fields["url.original"] = events.clip_text(rest.rsplit(b" ", 1)[0])
    if status:
        fields["http.response.status_code"] = status
    return fields


def login_fields(user: str, password: str, method: str, path: str) -> dict[str, Any]:
    """The ``web.login`` event: credentials posted to the form (``form``) or sent as ``basic``."""
    return {
        "user.name": events.clip_text(user),
        "web.password": events.clip_text(password),
        "web.auth_method": method,
        "url.path": events.clip_text(path),
    }


def basic_login(authorization: str, path: str) -> dict[str, Any] | None:
    """The ``web.login`` event of an Authorization header, when its scheme is Basic."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        decoded = ""
    user, _, password = decoded.partition(":")
    return login_fields(user, password, "basic", path)


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
