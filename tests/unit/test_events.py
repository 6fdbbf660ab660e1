"""The event stream: catalogue, schema and docs agree; attacker bytes always give valid lines."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import validate_event

from honeypods.core import eventdocs, events, registry, stdlog
from honeypods.core.catalogue import OWNER


def test_committed_schema_matches_catalogue() -> None:
    committed = json.loads(eventdocs.SCHEMA_PATH.read_text())
    assert committed == eventdocs.json_schema(), "run `make docs` to regenerate the schema"


def test_committed_docs_match_catalogue() -> None:
    assert eventdocs.DOCS_PATH.read_text() == eventdocs.markdown(), "run `make docs`"


def test_every_catalogue_entry_is_documented() -> None:
    docs = eventdocs.DOCS_PATH.read_text()
    for action in eventdocs.catalogue():
        assert f"### `{action}`" in docs


def test_alert_events_name_a_honeypod_rule_and_diagnostics_never_do() -> None:
    # A service's events (the enricher's) are its own diagnostics: no attacker makes them.
    for action, spec in eventdocs.catalogue().items():
        if action.startswith("honeypods.") or OWNER[action] in registry.SERVICES:
            assert spec.kind in ("state", "event"), action
        else:
            assert spec.kind == "alert", action


def test_uncatalogued_action_and_undeclared_field_are_refused(captured) -> None:
    with pytest.raises(KeyError):
        events.emit("no.such.event", "runner")
    with pytest.raises(ValueError, match="not declared"):
        events.emit("honeypods.warning", "runner", {"user.name": "x"})
    with pytest.raises(ValueError, match="needs a rule"):
        events.emit("portscan.scan", "portscan", {"source.ip": "127.0.0.1"})
    assert captured.flat == []


def test_clip_bounds_and_flags() -> None:
    text, cut = events.clip(b"a" * 5000, 100)
    assert len(text) == 100
    assert cut
    text, cut = events.clip(b"\xff\xfe ok", 100)
    assert text == "\\xff\\xfe ok"
    assert not cut
    # A lone surrogate (what surrogateescape decoding leaves) is escaped, not emitted raw.
    text, _ = events.clip("a\udcffb")
    assert text == "a\\udcffb"
    text.encode("utf-8")


def _line_for(payload: bytes) -> str:
    out = io.StringIO()
    stdlog.configure_logging(out)
    try:
        events.emit(
            "portscan.payload",
            "portscan",
            {
                "honeypod.session": "s",
                "source.ip": "127.0.0.1",
                "source.port": 1,
                "destination.ip": "127.0.0.1",
                "destination.port": 2,
                "network.transport": "tcp",
                "portscan.payload": events.clip_text(payload, events.LONG_TEXT_CAP),
                "portscan.payload_hex": events.to_hex(payload),
                "portscan.payload_bytes": len(payload),
                "portscan.truncated": len(payload) > events.LONG_TEXT_CAP,
            },
            rule="honeypod.ip.enum",
        )
    finally:
        stdlog.configure_logging()
    return out.getvalue()


@pytest.mark.parametrize(
    "payload",
    [
        b'line one\nline two\r\n"quoted" \\ back',
        b"\x1b[31mred\x1b[0m \x1b]0;title\x07",
        b"\xff\xfe\xc3\x28 invalid utf-8 \xed\xa0\x80",
        b"\x00\x01\x02 nul and controls \x7f",
        "unicode \u2028 separators \u2029 and emoji \U0001f600".encode(),
    ],
)
def test_attacker_bytes_come_out_as_one_valid_json_line(payload: bytes) -> None:
    out = _line_for(payload)
    assert out.endswith("\n")
    assert out.count("\n") == 1
    # ensure_ascii: the line is pure ASCII, so no terminal or log viewer interprets it.
    assert out.isascii()
    doc = json.loads(out)
    validate_event(doc)
    assert bytes.fromhex(doc["portscan"]["payload_hex"]) == payload


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_valid_line(payload: bytes) -> None:
    doc = json.loads(_line_for(payload))
    validate_event(doc)


def test_a_line_never_exceeds_the_cap() -> None:
    big = "x" * (events.MAX_LINE_BYTES * 2)
    line = events.render(
        {
            "@timestamp": "2026-01-01T00:00:00.000000Z",
            "event.action": "honeypods.log",
            "message": big,
        }
    )
    assert len(line) <= events.MAX_LINE_BYTES
    assert json.loads(line)["honeypod"]["oversize"] is True


def test_library_logs_are_routed_into_the_stream(captured) -> None:
    import logging

    stdlog.configure_logging()
    logging.getLogger("asyncio").warning("socket.accept() out of system resource %s", "x")
    routed = captured.of("honeypods.log")
    assert routed
    assert routed[-1]["log.logger"] == "asyncio"
    assert "out of system resource x" in routed[-1]["message"]


def test_a_linked_event_takes_its_connection_fields_from_the_link(captured) -> None:
    link = events.Link("s1", ("192.0.2.7", 4242), ("10.0.0.2", 3306))
    fields = {"event.reason": "eof", "event.duration": 1, "source.bytes": 3, "destination.bytes": 9}
    events.emit("session.closed", "mysql", fields, rule="honeypod.vuln.svc", link=link)
    events.emit(
        "session.connect", "mysql", {"honeypod.active": 1}, rule="honeypod.vuln.svc", link=link
    )
    closed, connect = captured.flat[-2:]
    assert (closed["source.ip"], closed["source.bytes"]) == ("192.0.2.7", 3)
    assert (connect["destination.port"], connect["honeypod.session"]) == (3306, "s1")
    # The bytes went into the closed event's own copy, not into the sub-objects the link shares.
    assert link.source == {"ip": "192.0.2.7", "port": 4242}
    assert link.destination == {"ip": "10.0.0.2", "port": 3306}
    with pytest.raises(ValueError, match=r"source\.ip"):
        events.emit("session.connect", "mysql", {"source.ip": "x"}, rule="r", link=link)


def test_linked_events_written_have_the_connection_fields() -> None:
    out = io.StringIO()
    stdlog.configure_logging(out)
    try:
        link = events.Link("s2", ("192.0.2.8", 1), ("10.0.0.2", 22))
        events.emit(
            "session.connect", "ssh", {"honeypod.active": 2}, rule="honeypod.network.ssh", link=link
        )
        events.emit(
            "session.closed",
            "ssh",
            {"event.reason": "eof", "event.duration": 5, "source.bytes": 7, "destination.bytes": 8},
            rule="honeypod.network.ssh",
            link=link,
        )
    finally:
        stdlog.configure_logging()
    connect, closed = (json.loads(line) for line in out.getvalue().splitlines())
    validate_event(connect)
    validate_event(closed)
    assert connect["source"] == {"ip": "192.0.2.8", "port": 1}
    assert closed["source"] == {"ip": "192.0.2.8", "port": 1, "bytes": 7}
    assert closed["destination"] == {"ip": "10.0.0.2", "port": 22, "bytes": 8}
    assert closed["honeypod"]["session"] == "s2"
