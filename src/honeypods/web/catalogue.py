"""The events of the fake dashboard behind an nginx persona: ids, fields and their meaning (docs/events.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from honeypods.core.catalogue import BOOL, INT, PAIRS, STR, EventSpec

EVENTS: Final[Mapping[str, EventSpec]] = {
    "web.request": EventSpec(
        "alert",
        "One HTTP request and the response the decoy gave.",
        {
            "http.request.method": (STR, "Request method as sent (capped)."),
            "url.original": (STR, "Request target as sent (capped)."),
            "url.path": (STR, "Path part of the target."),
            "url.query": (STR, "Query part of the target, if any."),
            "http.version": (STR, "HTTP version as sent."),
            "http.request.headers": (PAIRS, "Headers in order as [name, value] (bounded)."),
            "http.request.headers_truncated": (BOOL, "More headers came than were kept."),
            "user_agent.original": (STR, "User-Agent header."),
            "http.request.body.content": (STR, "Request body as text (capped)."),
            "http.request.body.bytes": (INT, "Full body size."),
            "http.request.body.sha256": (STR, "SHA-256 of the full body."),
            "http.response.status_code": (INT, "Status sent."),
            "http.response.bytes": (INT, "Response size on the wire."),
            "tls.established": (BOOL, "Whether the request came over TLS."),
            "web.raw_hex": (STR, "Raw request head bytes in hex, when it did not parse."),
            "web.error": (STR, "Why the request did not parse."),
        },
    ),
    "web.login": EventSpec(
        "alert",
        "Credentials posted by the login screen to the login API, or sent as HTTP Basic auth.",
        {
            "user.name": (STR, "Username (capped)."),
            "web.password": (STR, "Password in plaintext (capped)."),
            "web.auth_method": (STR, "`form` (the login API) or `basic`."),
            "url.path": (STR, "Where they were posted."),
        },
        required=("user.name", "web.password", "web.auth_method"),
    ),
    "web.tls": EventSpec(
        "alert",
        "A TLS handshake on the HTTPS port, successful or not.",
        {
            "tls.client.server_name": (STR, "SNI the client sent."),
            "tls.version": (STR, "Negotiated version."),
            "tls.cipher": (STR, "Negotiated cipher."),
            "tls.established": (BOOL, "Whether the handshake completed."),
            "web.error": (STR, "Why the handshake failed."),
            "web.sni_rejected": (
                BOOL,
                "The SNI named no configured server (or none was sent, or it was no valid host): "
                "refused with an unrecognized_name alert; present only then.",
            ),
        },
    ),
}
