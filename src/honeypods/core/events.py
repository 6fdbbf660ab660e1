"""The event stream: structlog output and the emit helper, the hot path of every connection.

Rules this module keeps:

* One JSON object per line on stdout. Keys are nested objects following the Elastic Common Schema
  (``{"source": {"ip": ...}}``, not ``"source.ip"``); fields ECS lacks live under ``honeypod``,
  ``portscan``, ``web``, ``mysql`` or ``ssh``. Code names fields with dotted paths; the renderer
  nests them.
* Every event id is in the catalogue (``core.catalogue``). An uncatalogued id, or a field its
  entry does not declare, is a programming error and raises ``KeyError``/``ValueError`` at the
  emit site, so tests catch drift.
* Attacker interactions are ``event.kind: alert`` and carry ``rule.name``; diagnostics
  (``honeypods.*``) are ``state`` or ``event`` and never page anyone.
* Attacker data only ever lands in field values, after ``clip``/``clip_bytes``: never in a message,
  never as a format string. A final size check in the renderer bounds every line.

The JSON Schema (``events.schema.json``) and ``docs/events.md`` are generated from the catalogue by
``python -m honeypods.core.eventdocs``; a test fails when the committed copies differ.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import orjson
import structlog

from honeypods.core.catalogue import (
    ALLOWED,
    BASE_FIELDS,
    CATALOGUE,
    CONNECTION_FIELDS,
    DICT_FIELDS,
    ENRICHMENT_FIELDS,
    OWN,
    SCHEMA_VERSION,
    WRITES_SHARED,
    EventSpec,
    register,
    validate_fields,
)
from honeypods.core.clip import LONG_TEXT_CAP, MAX_LINE_BYTES, TEXT_CAP, clip, clip_text, to_hex

__all__ = [
    "CATALOGUE",
    "LONG_TEXT_CAP",
    "MAX_LINE_BYTES",
    "TEXT_CAP",
    "EventSpec",
    "Link",
    "clip",
    "clip_text",
    "emit",
    "register",
    "to_hex",
]

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
        _put(out, path, value)
    return out


def _put(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        node = child
    node[path[-1]] = value


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
        if isinstance(value, dict) and not key.startswith("@") and name not in DICT_FIELDS:
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
        if k in BASE_FIELDS
        or k in CONNECTION_FIELDS
        or k in ENRICHMENT_FIELDS
        or not isinstance(v, str | list | dict)
    }
    keep["honeypod.oversize"] = True
    return _encode(_nest(keep))


def flatten(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A nested event with dotted keys, as observers see it."""
    return _flatten(doc)


def write_doc(doc: Mapping[str, Any]) -> None:
    """Write a nested event that was made elsewhere (a decoy's, received by the enricher) as one
    line of this stream, bounded like every other line; observers see it as an emitted one."""
    if _observers:
        flat = _flatten(doc)
        for observer in _observers:
            observer(flat)
    _write_line(_line(doc))


def render_doc(doc: Mapping[str, Any]) -> str:
    """Turn a nested event into one JSON line of at most MAX_LINE_BYTES bytes."""
    return _line(doc).decode("ascii")


def render(flat: Mapping[str, Any]) -> str:
    """``render_doc`` for an event given with dotted keys."""
    return render_doc(_nest(flat))


# host.name of every event: the hostname until the runner applies HONEYPODS_HOST_NAME.
_host: Final = {"name": socket.gethostname()}


def host_name() -> str:
    """The ``host.name`` events carry."""
    return _host["name"]


def set_host_name(name: str) -> None:
    """Name the host in every event from now on; empty keeps the machine's hostname."""
    _host["name"] = name or socket.gethostname()


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


def set_stream(stream: TextIO) -> None:
    """Write events to ``stream`` from now on."""
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
set_stream(sys.stdout)


class Link:
    """One connection's identity, nested once so each of its events shares it instead of rebuilding
    it (a connection's events are most of the log).

    Args:
        session: the connection's ``honeypod.session`` id.
        source: peer (address, port).
        destination: local (address, port).
        transport: ``network.transport``.
        nat: the proxy's (address, port) when ``source`` came from its PROXY protocol header.
    """

    __slots__ = ("destination", "network", "session", "source")

    def __init__(
        self,
        session: str,
        source: tuple[str, int],
        destination: tuple[str, int],
        transport: str = "tcp",
        nat: tuple[str, int] | None = None,
    ) -> None:
        self.session = session
        self.source: dict[str, Any] = {"ip": source[0], "port": source[1]}
        if nat is not None:
            self.source["nat"] = {"ip": nat[0], "port": nat[1]}
        self.destination = {"ip": destination[0], "port": destination[1]}
        self.network = _NETWORK.get(transport) or {"transport": transport}

    def flat(self) -> dict[str, Any]:
        """The same fields with dotted keys, as observers see them."""
        out = {
            "honeypod.session": self.session,
            "source.ip": self.source["ip"],
            "source.port": self.source["port"],
            "destination.ip": self.destination["ip"],
            "destination.port": self.destination["port"],
            "network.transport": self.network["transport"],
        }
        nat = self.source.get("nat")
        if nat is not None:
            out["source.nat.ip"] = nat["ip"]
            out["source.nat.port"] = nat["port"]
        return out


_NETWORK: Final = {"tcp": {"transport": "tcp"}}
_LEVELS: Final = {name: {"level": name} for name in ("debug", "info", "warning", "error")}
# Sub-objects many events share: an event that adds a field under one works on a copy.
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
    if not fields.keys() <= (OWN if link is not None else ALLOWED)[action]:
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
    for top in WRITES_SHARED[action]:
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
            _put(doc, path, value)
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
            "host.name": _host["name"],
        }
        if rule is not None and kind == "alert":
            flat["rule.name"] = rule
        if link is not None:
            flat.update(link.flat())
        flat.update(fields)
        for observer in _observers:
            observer(flat)
    _write_line(_line(doc))
