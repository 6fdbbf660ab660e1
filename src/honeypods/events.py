"""The event stream: catalogue of event ids, JSON Schema, structlog output and the emit helper.

Rules this module keeps:

* One JSON object per line on stdout. Keys are nested objects following the Elastic Common Schema
  (``{"source": {"ip": ...}}``, not ``"source.ip"``); fields ECS lacks live under ``honeypod``,
  ``portscan``, ``web``, ``mysql`` or ``ssh``. Code names fields with dotted paths; the renderer
  nests them.
* Every event id is in ``CATALOGUE``. An uncatalogued id, or a field its entry does not declare, is a
  programming error and raises ``KeyError``/``ValueError`` at the emit site, so tests catch drift.
* Attacker interactions are ``event.kind: alert`` and carry ``rule.name``; diagnostics
  (``honeypods.*``) are ``state`` or ``event`` and never page anyone.
* Attacker data only ever lands in field values, after ``clip``/``clip_bytes``: never in a message,
  never as a format string. A final size check in the renderer bounds every line.

The JSON Schema (``events.schema.json``) and ``docs/events.md`` are generated from the catalogue by
``python -m honeypods.events``; a test fails when the committed copies differ.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

import orjson
import structlog

# Bump on any change a consumer could notice: a renamed or removed field, a changed type.
# Adding an event id or an optional field does not bump it.
SCHEMA_VERSION: Final = "1"

# Caps on attacker-controlled text. A line is bounded by these and by MAX_LINE_BYTES below.
TEXT_CAP: Final = 1024  # one header value, one username, one query line
LONG_TEXT_CAP: Final = 8192  # request bodies, SQL queries, first bytes of a connection
MAX_LINE_BYTES: Final = 65536  # Fluent Bit's and Loki's default line limits are 32-256 KiB

# JSON Schema fragments for field declarations.
STR: Final[Mapping[str, Any]] = {"type": "string"}
INT: Final[Mapping[str, Any]] = {"type": "integer"}
NUM: Final[Mapping[str, Any]] = {"type": "number"}
BOOL: Final[Mapping[str, Any]] = {"type": "boolean"}
STRS: Final[Mapping[str, Any]] = {"type": "array", "items": {"type": "string"}}
INTS: Final[Mapping[str, Any]] = {"type": "array", "items": {"type": "integer"}}
PAIRS: Final[Mapping[str, Any]] = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
}
OBJ: Final[Mapping[str, Any]] = {"type": "object", "additionalProperties": {"type": "string"}}


@dataclass(frozen=True)
class EventSpec:
    """One catalogue entry.

    Args:
        kind: ECS ``event.kind``: ``alert`` for attacker interactions, ``state``/``event`` else.
        doc: one sentence for docs/events.md.
        fields: dotted field name -> (JSON Schema fragment, description).
        required: dotted field names that every instance carries.
        connection: whether the event carries the session's source/destination fields.
    """

    kind: str
    doc: str
    fields: Mapping[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    connection: bool = True


# Fields on every event. Filled in by the emit helper, never by decoys.
BASE_FIELDS: Final[Mapping[str, tuple[Mapping[str, Any], str]]] = {
    "@timestamp": (STR, "RFC 3339 UTC time with microseconds and `Z`."),
    "log.level": (STR, "`info` for events, `warning`/`error` for diagnostics."),
    "event.action": (STR, "The catalogue id of this event."),
    "event.kind": (STR, "`alert` for attacker interactions, `state` or `event` for diagnostics."),
    "event.dataset": (STR, "`honeypods.<decoy>`."),
    "honeypod.decoy": (STR, "`portscan`, `web`, `mysql`, `ssh`, or `runner` for the process."),
    "honeypod.schema": (STR, "Version of this schema."),
    "host.name": (STR, "Pod or host name (`HONEYPODS_HOST_NAME`, else the hostname)."),
    "rule.name": (STR, "Alert this event maps to (`honeypod.*`); on alert events only."),
    "honeypod.oversize": (BOOL, "Set when the line hit the size cap and fields were dropped."),
}

# Fields on events tied to one connection. Taken from the socket, never from attacker data.
CONNECTION_FIELDS: Final[Mapping[str, tuple[Mapping[str, Any], str]]] = {
    "honeypod.session": (STR, "Random id of the connection, shared by all its events."),
    "source.ip": (STR, "Peer address as the socket reports it."),
    "source.port": (INT, "Peer port."),
    "destination.ip": (STR, "Local address the peer connected to."),
    "destination.port": (INT, "Local port the peer connected to."),
    "network.transport": (STR, "`tcp` (or `icmp` for the packet sensor)."),
}

_CLOSE_REASONS = (
    "eof",
    "idle_timeout",
    "deadline",
    "over_capacity",
    "limit",
    "protocol_error",
    "server_error",
    "shutdown",
    "policy",
)

CATALOGUE: Final[Mapping[str, EventSpec]] = {
    # -- Session lifecycle, emitted by guard.py for every decoy ------------------------------------
    "session.connect": EventSpec(
        "alert",
        "A TCP connection was accepted. Emitted before any check, so every connection is logged.",
        {
            "honeypod.active": (INT, "Connections open on this decoy, this one included."),
        },
        required=("honeypod.active",),
    ),
    "session.closed": EventSpec(
        "alert",
        "A connection ended, on every path. `event.reason` says why.",
        {
            "event.reason": ({"type": "string", "enum": list(_CLOSE_REASONS)}, "Why it ended."),
            "event.duration": (INT, "Connection lifetime in nanoseconds (ECS convention)."),
            "source.bytes": (INT, "Bytes received from the peer."),
            "destination.bytes": (INT, "Bytes sent to the peer."),
        },
        required=("event.reason", "event.duration", "source.bytes", "destination.bytes"),
    ),
    # -- IP enumeration / port scan ----------------------------------------------------------------
    "portscan.payload": EventSpec(
        "alert",
        "The first bytes a client sent to a port-scan listener (bounded in size and time).",
        {
            "portscan.payload": (STR, "The bytes as text, non-UTF-8 bytes backslash-escaped."),
            "portscan.payload_hex": (STR, "The same bytes in hex."),
            "portscan.payload_bytes": (INT, "How many bytes were captured."),
            "portscan.truncated": (BOOL, "More bytes came than were captured."),
        },
        required=("portscan.payload_hex", "portscan.payload_bytes"),
    ),
    "portscan.scan": EventSpec(
        "alert",
        "One source touched `threshold` or more distinct ports within the window. One per source "
        "per window, listing the ports.",
        {
            "portscan.ports": (INTS, "Distinct destination ports seen, ascending (capped)."),
            "portscan.port_count": (INT, "How many distinct ports, including any beyond the cap."),
            "portscan.window": (NUM, "Window length in seconds."),
            "portscan.observed_by": (STRS, "`listener`, `sensor`, or both."),
            "source.ip": (STR, "The scanning source."),
            "destination.ip": (STR, "Local address scanned (the first one seen)."),
        },
        required=("source.ip", "portscan.ports", "portscan.port_count", "portscan.window"),
        connection=False,
    ),
    "sensor.icmp_echo": EventSpec(
        "alert",
        "The packet sensor saw an ICMP echo request (ping).",
        {
            "icmp.type": (INT, "ICMP type (8 for echo request, 128 for ICMPv6)."),
            "honeypod.suppressed": (INT, "Echo requests from this source not logged since last."),
            "source.ip": (STR, "Sender of the echo request."),
            "destination.ip": (STR, "Address pinged."),
            "network.transport": (STR, "`icmp` or `ipv6-icmp`."),
        },
        required=("source.ip", "icmp.type"),
        connection=False,
    ),
    "sensor.syn": EventSpec(
        "alert",
        "The packet sensor saw a TCP SYN to a port no listener serves (half-open scan). Logged "
        "once per source per window; the port-scan event lists every port.",
        {
            "honeypod.suppressed": (INT, "SYNs from this source not logged since last."),
            "source.ip": (STR, "Sender of the SYN."),
            "source.port": (INT, "Its source port."),
            "destination.ip": (STR, "Address it was sent to."),
            "destination.port": (INT, "Port it was sent to."),
            "network.transport": (STR, "`tcp`."),
        },
        required=("source.ip", "destination.port"),
        connection=False,
    ),
    # -- Fake nginx dashboard ----------------------------------------------------------------------
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
        "Credentials submitted through the login form or HTTP Basic auth.",
        {
            "user.name": (STR, "Username (capped)."),
            "web.password": (STR, "Password in plaintext (capped)."),
            "web.auth_method": (STR, "`form` or `basic`."),
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
        },
    ),
    # -- MySQL ------------------------------------------------------------------------------------
    "mysql.login": EventSpec(
        "alert",
        "One login attempt and its outcome.",
        {
            "user.name": (STR, "User name (capped)."),
            "event.outcome": (STR, "`success` or `failure`."),
            "mysql.database": (STR, "Database named in the handshake."),
            "mysql.auth_plugin": (STR, "Plugin of the response that was checked."),
            "mysql.auth_response_hex": (STR, "Client scramble, for offline cracking."),
            "mysql.salt_hex": (STR, "Salt the scramble was made with."),
            "mysql.password": (STR, "Plaintext password, when the client sent one in the clear."),
            "mysql.client_flags": (INT, "Client capability flags."),
            "mysql.connect_attrs": (OBJ, "Connection attributes (`_client_name`, `_os`, ...)."),
            "mysql.error_code": (INT, "Error code sent on failure."),
            "tls.established": (BOOL, "Whether the login came over TLS (after an SSLRequest)."),
            "tls.version": (STR, "Negotiated TLS version."),
            "tls.cipher": (STR, "Negotiated cipher."),
        },
        required=("user.name", "event.outcome"),
    ),
    "mysql.command": EventSpec(
        "alert",
        "One command after login: a query, an init-db, a ping, ...",
        {
            "mysql.command": (STR, "Command name (`COM_QUERY`, ...)."),
            "mysql.query": (STR, "Query text or argument (capped)."),
            "mysql.query_truncated": (BOOL, "The text was cut."),
            "mysql.error_code": (INT, "Error code sent, if the answer was an error."),
            "mysql.rows": (INT, "Rows sent in the answer."),
        },
        required=("mysql.command",),
    ),
    # -- SSH --------------------------------------------------------------------------------------
    "ssh.client_version": EventSpec(
        "alert",
        "The client's identification string.",
        {
            "ssh.client_version": (STR, "Identification string as sent (capped)."),
            "ssh.client_version_truncated": (BOOL, "The line was cut at the cap."),
            "ssh.invalid": (
                BOOL,
                "The line is no identification string OpenSSH accepts; it was answered as "
                "sshd does and the connection closed.",
            ),
        },
        required=("ssh.client_version",),
    ),
    "ssh.kex": EventSpec(
        "alert",
        "Key exchange completed, with the algorithms chosen and the client's fingerprint.",
        {
            "ssh.kex_algorithm": (STR, "Key exchange algorithm."),
            "ssh.host_key_algorithm": (STR, "Host key algorithm."),
            "ssh.cipher": (STR, "Cipher (client to server)."),
            "ssh.mac": (STR, "MAC (client to server)."),
            "ssh.compression": (STR, "Compression (client to server)."),
            "ssh.hassh": (STR, "HASSH fingerprint of the client's KEXINIT."),
            "ssh.hassh_algorithms": (STR, "The string HASSH is the MD5 of."),
        },
    ),
    "ssh.login": EventSpec(
        "alert",
        "One authentication attempt and its outcome.",
        {
            "user.name": (STR, "Username (capped)."),
            "event.outcome": (STR, "`success` or `failure`."),
            "ssh.auth_method": (
                STR,
                "`password`, `keyboard-interactive` or `publickey`; any other method named is "
                "recorded as sent (capped) and refused.",
            ),
            "ssh.password": (STR, "Password in plaintext (capped)."),
            "ssh.key_type": (STR, "Public key algorithm."),
            "ssh.key_fingerprint": (STR, "SHA256 fingerprint of the offered key."),
            "ssh.client_version": (STR, "Client identification string."),
            "ssh.attempt": (INT, "Number of this attempt on the connection, from 1."),
        },
        required=("user.name", "event.outcome", "ssh.auth_method"),
    ),
    "ssh.request": EventSpec(
        "alert",
        "A session request after an accepted login (never run): exec, shell, subsystem, ...",
        {
            "ssh.request": (
                STR,
                "`exec`, `shell`, `subsystem`, `pty-req`, `input` (a shell line), `direct-tcpip` "
                "or `tcpip-forward`.",
            ),
            "ssh.command": (
                STR,
                "Command line, shell line, subsystem name, terminal type or host:port (capped).",
            ),
            "ssh.command_truncated": (BOOL, "The command was cut at the cap."),
        },
        required=("ssh.request",),
    ),
    "ssh.disconnect": EventSpec(
        "alert",
        "Why the SSH session ended, as the protocol saw it.",
        {
            "ssh.disconnect_reason": (STR, "Reason text (capped)."),
            "ssh.disconnect_code": (INT, "SSH disconnect code, if any."),
            "ssh.disconnect_by": (STR, "`client` or `server`."),
        },
    ),
    # -- Diagnostics: never alerts ----------------------------------------------------------------
    "honeypods.start": EventSpec(
        "state",
        "A decoy is listening.",
        {
            "honeypod.addresses": (STRS, "host:port pairs it listens on."),
            "service.version": (STR, "Package version."),
        },
        connection=False,
    ),
    "honeypods.stop": EventSpec(
        "state",
        "The process is shutting down; every event before this one is flushed.",
        {"honeypod.signal": (STR, "Signal name, if a signal caused it.")},
        connection=False,
    ),
    "honeypods.config_error": EventSpec(
        "event",
        "Configuration was invalid; the process exits non-zero.",
        {"error.message": (STR, "What is wrong, naming the variable or flag.")},
        connection=False,
    ),
    "honeypods.warning": EventSpec(
        "event",
        "Something an operator should know: a missing capability, generated keys, ...",
        {"error.message": (STR, "What happened and what it means.")},
        connection=False,
    ),
    "honeypods.error": EventSpec(
        "event",
        "An unexpected exception, caught at the guard; the connection is closed.",
        {
            "error.type": (STR, "Exception class."),
            "error.message": (STR, "Exception text (capped)."),
            "error.stack_trace": (STR, "Formatted traceback (capped)."),
        },
        connection=True,
    ),
    "honeypods.log": EventSpec(
        "event",
        "A record from a library's stdlib logger (asyncio, asyncssh, aiohttp), routed here.",
        {
            "log.logger": (STR, "Logger name."),
            "message": (STR, "The formatted record (capped)."),
        },
        connection=False,
    ),
    "honeypods.summary": EventSpec(
        "state",
        "Periodic counts per decoy, including connections refused over capacity.",
        {
            "honeypod.counts": (
                {"type": "object", "additionalProperties": {"type": "integer"}},
                "Counter name -> value since start.",
            ),
        },
        connection=False,
    ),
}


# -- Attacker data ----------------------------------------------------------------------------------


def clip(text: str | bytes | None, cap: int = TEXT_CAP) -> tuple[str, bool]:
    """Make attacker text safe to log: valid UTF-8, bounded, no lone surrogates.

    Returns:
        The text (bytes decoded with backslash escapes) and whether it was cut.
    """
    if text is None:
        return "", False
    if isinstance(text, bytes):
        cut = len(text) > cap
        return text[:cap].decode("utf-8", "backslashreplace"), cut
    cut = len(text) > cap
    text = text[:cap]
    if not text.isascii():
        # Lone surrogates (from surrogateescape decoding in libraries) are not valid JSON text.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text, cut


def clip_text(text: str | bytes | None, cap: int = TEXT_CAP) -> str:
    """``clip`` without the flag, for fields whose cut is not worth reporting."""
    return clip(text, cap)[0]


def to_hex(data: bytes, cap: int = LONG_TEXT_CAP) -> str:
    return data[:cap].hex()


# -- Rendering --------------------------------------------------------------------------------------


# Dotted name -> its path, split once: rendering runs for every event on every connection.
_PATHS: dict[str, tuple[str, ...]] = {}


def _path(key: str) -> tuple[str, ...]:
    path = _PATHS.get(key)
    if path is None:
        path = (key,) if key.startswith("@") or "." not in key else tuple(key.split("."))
        if len(_PATHS) < 4096:  # keys come from the catalogue, never from attackers
            _PATHS[key] = path
    return path


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        path = _path(key)
        if len(path) == 1:
            out[key] = value
            continue
        node = out
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[path[-1]] = value
    return out


_last_second = -1
_second_prefix = ""


def _timestamp() -> str:
    # strftime per event is slow; the part up to the second changes at most once a second.
    global _last_second, _second_prefix  # noqa: PLW0603 - a one-entry cache
    second, micro = divmod(time.time_ns() // 1000, 1_000_000)
    if second != _last_second:
        _last_second = second
        _second_prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    return f"{_second_prefix}{micro:06d}Z"


# Every line is pure ASCII, so no terminal or log viewer interprets attacker text. orjson is fast
# but writes UTF-8 as is; when a line is not ASCII (or orjson refuses a value), the stdlib encoder
# with ensure_ascii writes it instead. One encoder instance: json.dumps builds one per call.
_ascii_encode = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=True).encode


def _encode(doc: Mapping[str, Any]) -> bytes:
    try:
        raw = orjson.dumps(doc, default=str)
    except (orjson.JSONEncodeError, TypeError):
        return _ascii_encode(doc).encode("ascii")
    if raw.isascii():
        return raw
    return _ascii_encode(doc).encode("ascii")


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not key.startswith("@") and name not in _DICT_FIELDS:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _line(doc: Mapping[str, Any]) -> bytes:
    """One nested event as a JSON line (ASCII, no newline) of at most MAX_LINE_BYTES bytes."""
    line = _encode(doc)
    if len(line) <= MAX_LINE_BYTES:
        return line
    # Keep the identity of the event, drop the bulky attacker-controlled fields.
    flat = _flatten(doc)
    keep = {
        k: v
        for k, v in flat.items()
        if k in BASE_FIELDS or k in CONNECTION_FIELDS or not isinstance(v, str | list | dict)
    }
    keep["honeypod.oversize"] = True
    return _encode(_nest(keep))


def render_doc(doc: Mapping[str, Any]) -> str:
    """Turn a nested event into one JSON line of at most MAX_LINE_BYTES bytes."""
    return _line(doc).decode("ascii")


def render(flat: Mapping[str, Any]) -> str:
    """``render_doc`` for an event given with dotted keys."""
    return render_doc(_nest(flat))


_host_name = os.environ.get("HONEYPODS_HOST_NAME") or socket.gethostname()
_host: Final = {"name": _host_name}
# Observers see each event, with dotted keys, before it is written (tests collect them). The flat
# form is only built while an observer is registered: production has none.
_observers: list[Callable[[Mapping[str, Any]], None]] = []
# The metrics hook: (decoy, action, rule, outcome) for every event, with no dict to build.
_counter: Callable[[str, str, str | None, str | None], None] | None = None


def set_counter(fn: Callable[[str, str, str | None, str | None], None] | None) -> None:
    global _counter  # noqa: PLW0603 - one process-wide metrics hook
    _counter = fn


def add_observer(fn: Callable[[Mapping[str, Any]], None]) -> None:
    _observers.append(fn)


def remove_observer(fn: Callable[[Mapping[str, Any]], None]) -> None:
    _observers.remove(fn)


# Fields whose value is itself an object (headers maps, counts): kept whole when flattening.
_DICT_FIELDS: Final = frozenset(
    name
    for spec in CATALOGUE.values()
    for name, (schema, _doc) in spec.fields.items()
    if schema.get("type") == "object"
)

_OWN: Final[Mapping[str, frozenset[str]]] = {
    action: frozenset(spec.fields) for action, spec in CATALOGUE.items()
}
_ALLOWED: Final[Mapping[str, frozenset[str]]] = {
    action: frozenset(spec.fields) | frozenset(CONNECTION_FIELDS) | frozenset(BASE_FIELDS)
    for action, spec in CATALOGUE.items()
}


def validate_fields(action: str, fields: Mapping[str, Any], *, own_only: bool = False) -> EventSpec:
    """Check an event against the catalogue.

    Args:
        action: catalogue id.
        fields: the fields given for it.
        own_only: only the event's own fields are allowed (the connection's come from a link).

    Raises:
        KeyError: the action is not catalogued.
        ValueError: a field is not declared for it.
    """
    spec = CATALOGUE[action]
    allowed = (_OWN if own_only else _ALLOWED)[action]
    if not fields.keys() <= allowed:
        extra = sorted(set(fields) - allowed)
        raise ValueError(f"field {extra[0]!r} is not declared for event {action!r}")
    return spec


def _configure_structlog(stream: TextIO) -> None:
    # structlog's loggers write each line whole under a lock and flush it, so a crash or SIGKILL
    # loses at most the line being written and threads (prometheus-client's) cannot split a line.
    # Events are rendered here and handed to them directly: a bound logger's processor chain
    # (copy the context, run one renderer) cost 5-8% of a whole MySQL login or greeting. Lines
    # are ASCII bytes from orjson, so a stream with a binary buffer (stdout, a file) gets them
    # without a round trip through str.
    global _write_line, _stream  # noqa: PLW0603 - the one process-wide event writer
    _stream = stream  # held: a text stream closes its buffer when it is collected
    binary = getattr(stream, "buffer", None)
    if binary is not None:
        stream.flush()
        _write_line = structlog.BytesLogger(binary).msg
    else:
        text = structlog.WriteLogger(stream)

        def write_text(line: bytes) -> None:
            text.msg(line.decode("ascii"))

        _write_line = write_text


_write_line: Callable[[bytes], None]
_stream: TextIO
_configure_structlog(sys.stdout)


class Link:
    """One connection's identity, nested once so each of its events shares it instead of rebuilding
    it (a connection's events are most of the log).

    Args:
        session: the connection's ``honeypod.session`` id.
        source: peer (address, port).
        destination: local (address, port).
        transport: ``network.transport``.
    """

    __slots__ = ("destination", "network", "session", "source")

    def __init__(
        self,
        session: str,
        source: tuple[str, int],
        destination: tuple[str, int],
        transport: str = "tcp",
    ) -> None:
        self.session = session
        self.source = {"ip": source[0], "port": source[1]}
        self.destination = {"ip": destination[0], "port": destination[1]}
        self.network = _NETWORK.get(transport) or {"transport": transport}

    def flat(self) -> dict[str, Any]:
        """The same fields with dotted keys, as observers see them."""
        return {
            "honeypod.session": self.session,
            "source.ip": self.source["ip"],
            "source.port": self.source["port"],
            "destination.ip": self.destination["ip"],
            "destination.port": self.destination["port"],
            "network.transport": self.network["transport"],
        }


_NETWORK: Final = {"tcp": {"transport": "tcp"}}
_LEVELS: Final = {name: {"level": name} for name in ("debug", "info", "warning", "error")}
# Sub-objects many events share: an event that adds a field under one works on a copy.
_SHARED_TOPS: Final = frozenset({"log", "host", "rule", "source", "destination", "network"})
_WRITES_SHARED: Final[Mapping[str, tuple[str, ...]]] = {
    action: tuple(sorted({name.split(".")[0] for name in spec.fields} & _SHARED_TOPS))
    for action, spec in CATALOGUE.items()
}
_rules: dict[str, dict[str, str]] = {}
_DATASETS: dict[str, str] = {}


def _dataset(decoy: str) -> str:
    return _DATASETS.setdefault(decoy, f"honeypods.{decoy}")


def emit(
    action: str,
    decoy: str,
    fields: Mapping[str, Any] | None = None,
    *,
    rule: str | None = None,
    level: str = "info",
    link: Link | None = None,
) -> None:
    """Write one event.

    Args:
        action: catalogue id, e.g. ``mysql.login``.
        decoy: ``portscan``, ``web``, ``mysql``, ``ssh`` or ``runner``.
        fields: dotted field names to values; attacker text must already be clipped.
        rule: the ``honeypod.*`` alert name, required on ``alert`` events.
        level: log level name.
        link: the connection the event belongs to, for its connection fields.

    Raises:
        KeyError, ValueError: the event does not match the catalogue (a programming error).
    """
    fields = fields or {}
    spec = CATALOGUE[action]
    if not fields.keys() <= (_OWN if link is not None else _ALLOWED)[action]:
        # The link supplies the connection fields, and the sub-objects holding them are shared.
        validate_fields(action, fields, own_only=link is not None)  # raises, naming the field
    kind = spec.kind
    now = _timestamp()
    # Built nested from the start: this runs for every event on every connection.
    doc: dict[str, Any] = {
        "@timestamp": now,
        "log": _LEVELS.get(level) or {"level": level},
        "event": {
            "action": action,
            "kind": kind,
            "dataset": _DATASETS.get(decoy) or _dataset(decoy),
        },
        "honeypod": {"decoy": decoy, "schema": SCHEMA_VERSION},
        "host": _host,
    }
    if kind == "alert":
        if rule is None:
            raise ValueError(f"alert event {action!r} needs a rule name")
        doc["rule"] = _rules.get(rule) or _rules.setdefault(rule, {"name": rule})
    if link is not None:
        doc["honeypod"]["session"] = link.session
        doc["source"] = link.source
        doc["destination"] = link.destination
        doc["network"] = link.network
    for top in _WRITES_SHARED[action]:
        if top in doc:
            doc[top] = dict(doc[top])
    for key, value in fields.items():
        path = _PATHS.get(key) or _path(key)
        if len(path) == 2:
            top, leaf = path
            node = doc.get(top)
            if node is None:
                doc[top] = {leaf: value}
            else:
                node[leaf] = value
        elif len(path) == 1:
            doc[key] = value
        else:
            node = doc
            for part in path[:-1]:
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
                node = child
            node[path[-1]] = value
    if _counter is not None:
        _counter(decoy, action, rule, fields.get("event.outcome"))
    if _observers:
        flat: dict[str, Any] = {
            "@timestamp": now,
            "log.level": level,
            "event.action": action,
            "event.kind": kind,
            "event.dataset": f"honeypods.{decoy}",
            "honeypod.decoy": decoy,
            "honeypod.schema": SCHEMA_VERSION,
            "host.name": _host_name,
        }
        if rule is not None and kind == "alert":
            flat["rule.name"] = rule
        if link is not None:
            flat.update(link.flat())
        flat.update(fields)
        for observer in _observers:
            observer(flat)
    _write_line(_line(doc))


# -- stdlib logging ---------------------------------------------------------------------------------


class _StdlibBridge(logging.Handler):
    """Routes library log records (asyncio, asyncssh, aiohttp) into the stream as
    ``honeypods.log`` diagnostics, so stdout only ever holds our JSON lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            message = repr(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({type(record.exc_info[1]).__name__})"
        emit(
            "honeypods.log",
            "runner",
            {"log.logger": record.name, "message": clip_text(message, LONG_TEXT_CAP)},
            level=record.levelname.lower(),
        )


def configure_logging(stream: TextIO | None = None, library_level: int = logging.WARNING) -> None:
    """Send events to ``stream`` (stdout by default) and route library loggers into it."""
    _configure_structlog(stream or sys.stdout)
    root = logging.getLogger()
    root.handlers[:] = [_StdlibBridge()]
    root.setLevel(library_level)


# -- Schema and docs generation ---------------------------------------------------------------------


def _put(tree: dict[str, Any], dotted: str, schema: Mapping[str, Any]) -> None:
    if dotted.startswith("@"):
        tree["properties"][dotted] = dict(schema)
        return
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node["properties"].setdefault(
            part, {"type": "object", "properties": {}, "additionalProperties": False}
        )
        node = child
    node["properties"][parts[-1]] = dict(schema)


def _require(tree: dict[str, Any], dotted: str) -> None:
    if dotted.startswith("@"):
        tree.setdefault("required", []).append(dotted)
        return
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        req = node.setdefault("required", [])
        if part not in req:
            req.append(part)
        node = node["properties"][part]
    req = node.setdefault("required", [])
    if parts[-1] not in req:
        req.append(parts[-1])


def event_schema(action: str) -> dict[str, Any]:
    spec = CATALOGUE[action]
    tree: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
    fields = dict(BASE_FIELDS)
    if spec.connection:
        fields.update(CONNECTION_FIELDS)
    fields.update(spec.fields)
    for name, (schema, _doc) in fields.items():
        _put(tree, name, schema)
    tree["properties"]["event"]["properties"]["action"] = {"const": action}
    tree["properties"]["event"]["properties"]["kind"] = {"const": spec.kind}
    required = [
        "@timestamp",
        "log.level",
        "event.action",
        "event.kind",
        "event.dataset",
        "honeypod.decoy",
        "honeypod.schema",
        "host.name",
    ]
    if spec.kind == "alert":
        required.append("rule.name")
        tree["properties"]["rule"]["properties"]["name"] = {
            "type": "string",
            "pattern": r"^honeypod\.",
        }
    if spec.connection and action != "honeypods.error":
        required += ["honeypod.session", "source.ip", "source.port", "destination.port"]
    required += list(spec.required)
    for name in required:
        _require(tree, name)
    return tree


def json_schema() -> dict[str, Any]:
    """The JSON Schema every line validates against: one branch per catalogue id."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://honeypods.dev/schema/events/v{SCHEMA_VERSION}.json",
        "title": f"honeypods event, schema version {SCHEMA_VERSION}",
        "type": "object",
        "required": ["event"],
        "properties": {
            "event": {
                "type": "object",
                "required": ["action"],
                "properties": {"action": {"enum": sorted(CATALOGUE)}},
            }
        },
        "allOf": [
            {
                "if": {"properties": {"event": {"properties": {"action": {"const": action}}}}},
                "then": {"$ref": f"#/$defs/{action}"},
            }
            for action in sorted(CATALOGUE)
        ],
        "$defs": {action: event_schema(action) for action in sorted(CATALOGUE)},
    }


def _md_rows(fields: Iterable[tuple[str, tuple[Mapping[str, Any], str]]]) -> list[str]:
    rows = ["| field | type | meaning |", "| --- | --- | --- |"]
    for name, (schema, doc) in fields:
        kind = schema.get("type", "string")
        if kind == "array":
            kind = f"array of {schema['items'].get('type', 'value')}"
        if "enum" in schema:
            kind = " \\| ".join(f"`{v}`" for v in schema["enum"])
        rows.append(f"| `{name}` | {kind} | {doc} |")
    return rows


def markdown() -> str:
    """docs/events.md, generated from the catalogue."""
    out = [
        "# Event reference",
        "",
        "<!-- Generated by `python -m honeypods.events`; edit src/honeypods/events.py instead. -->",
        "",
        f"Schema version: **{SCHEMA_VERSION}**. JSON Schema: "
        "[`src/honeypods/events.schema.json`](../src/honeypods/events.schema.json).",
        "",
        "Every decoy writes one JSON object per line to standard output. Keys are **nested "
        "objects** named after the Elastic Common Schema (`source.ip` is "
        '`{"source": {"ip": ...}}`); fields ECS has no name for live under `honeypod`, '
        "`portscan`, `web`, `mysql` or `ssh`. Loki's `| json` flattens them to `source_ip`; "
        "Elastic and Fluent Bit read them as they are.",
        "",
        "Attacker interactions have `event.kind: alert` and a `rule.name` (`honeypod.ip.enum`, "
        "`honeypod.port.scan`, `honeypod.fake.svc`, `honeypod.vuln.svc`, "
        "`honeypod.network.ssh`). Start-up, shutdown and diagnostics (`honeypods.*`) are "
        "`state` or `event` and never carry a rule, so a restart pages nobody.",
        "",
        f"Attacker text is decoded with backslash escapes for invalid UTF-8 and cut at "
        f"{TEXT_CAP} characters ({LONG_TEXT_CAP} for bodies, queries and payloads); raw bytes "
        f"go in `*_hex` fields. A line never exceeds {MAX_LINE_BYTES} bytes: when it would, the "
        "bulky fields are dropped and `honeypod.oversize` is set.",
        "",
        "Compatibility: adding an event id or an optional field keeps the schema version; "
        "renaming, removing or retyping a field bumps it.",
        "",
        "## Fields on every event",
        "",
        *_md_rows(BASE_FIELDS.items()),
        "",
        "## Fields on connection events",
        "",
        *_md_rows(CONNECTION_FIELDS.items()),
        "",
        "## Events",
        "",
    ]
    for action, spec in CATALOGUE.items():
        out += [f"### `{action}`", "", f"Kind: `{spec.kind}`. {spec.doc}", ""]
        if spec.fields:
            out += [*_md_rows(spec.fields.items()), ""]
    return "\n".join(out)


SCHEMA_PATH: Final = Path(__file__).with_name("events.schema.json")
DOCS_PATH: Final = Path(__file__).parents[2] / "docs" / "events.md"


def main() -> None:
    """Regenerate the committed schema and docs."""
    SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2, sort_keys=False) + "\n")
    DOCS_PATH.write_text(markdown())
    print(f"wrote {SCHEMA_PATH} and {DOCS_PATH}")


if __name__ == "__main__":
    main()
