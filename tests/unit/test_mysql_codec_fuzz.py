"""Property: whatever bytes arrive, the codec yields events, NEED_DATA or ProtocolError, nothing
else, and never spins (h11's fuzzing invariant). Each example runs under a deadline."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from honeypods.mysql.codec import (
    NEED_DATA,
    AuthData,
    Command,
    Connection,
    ConnectionClosed,
    Err,
    Greeting,
    HandshakeResponse,
    Ok,
    ProtocolError,
    SSLRequest,
    State,
)

SALT = bytes(range(1, 21))
EVENTS = (HandshakeResponse, SSLRequest, AuthData, Command, ConnectionClosed)


def _packets() -> st.SearchStrategy[bytes]:
    """Mostly well-framed packets with arbitrary payloads, so parsing gets past the framing."""
    framed = st.tuples(st.integers(0, 5), st.binary(max_size=300)).map(
        lambda p: len(p[1]).to_bytes(3, "little") + bytes((p[0],)) + p[1]
    )
    return st.lists(st.one_of(framed, st.binary(max_size=40)), max_size=6).map(b"".join)


def _drive(data: bytes, chunk: int, answer_ok: bool) -> None:
    conn = Connection(max_packet_size=4096)
    conn.greet(Greeting("8.0.36", 1, SALT))
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    steps = 0
    try:
        for piece in pieces:
            conn.receive_data(piece)
            while True:
                steps += 1
                assert steps < 10_000, "the codec is spinning"
                event = conn.next_event()
                if event is NEED_DATA:
                    break
                assert isinstance(event, EVENTS), event
                if isinstance(event, ConnectionClosed):
                    return
                if isinstance(event, HandshakeResponse | AuthData) and conn.state is State.AUTH:
                    conn.send(Ok() if answer_ok else Err(1045, "28000", "denied"))
                elif isinstance(event, SSLRequest):
                    return
                elif isinstance(event, Command):
                    conn.send(Ok())
                if conn.state is State.CLOSED:
                    return
    except ProtocolError as exc:
        error = exc
    else:
        return
    assert 1000 <= error.code < 4000
    assert len(error.sqlstate) == 5
    assert conn.fail(error)  # the ERR packet, framed (and compressed) as the state requires


@settings(max_examples=400, deadline=timedelta(seconds=2))
@given(data=_packets(), answer_ok=st.booleans())
def test_whole(data: bytes, answer_ok: bool) -> None:
    _drive(data, max(len(data), 1), answer_ok)


@settings(max_examples=200, deadline=timedelta(seconds=2))
@given(data=_packets(), answer_ok=st.booleans())
def test_byte_by_byte(data: bytes, answer_ok: bool) -> None:
    _drive(data, 1, answer_ok)


@settings(max_examples=200, deadline=timedelta(seconds=2))
@given(data=st.binary(max_size=2000), chunk=st.integers(1, 64))
def test_raw_bytes(data: bytes, chunk: int) -> None:
    _drive(data, chunk, True)


PREFIXES = st.sampled_from(
    ["", "select ", "SHOW ", "show tables from ", "set ", "use ", "desc ", "select * from ",
     "insert into ", "create database ", "select @@", "show create table ", "show full tables "]
)  # fmt: skip


@settings(max_examples=400, deadline=timedelta(seconds=2))
@given(prefix=PREFIXES, text=st.text(max_size=120))
# Inputs that once made the patterns backtrack for a minute.
@example(prefix="select x", text=" " * 20000 + "!")
@example(prefix="select version()", text=" " * 20000 + "v")
@example(prefix="show variables like ", text="'" * 100000)
@example(prefix="/*", text="/*" * 100000)
def test_sql_answers_any_text(prefix: str, text: str) -> None:
    from honeypods.mysql.codec import ResultSet
    from honeypods.mysql.sql import SqlSession, answer, default_variables

    session = SqlSession("root", "10.0.0.1", 7, "8.0.36", default_variables("8.0.36", "h", 3306))
    session.database = "app_prod"
    reply = answer(prefix + text, session)
    assert isinstance(reply, Ok | Err | ResultSet)


def _hello(flags: int) -> bytes:
    payload = flags.to_bytes(4, "little") + bytes(28) + b"root\0\x00caching_sha2_password\0"
    return len(payload).to_bytes(3, "little") + b"\x01" + payload


@settings(max_examples=300, deadline=timedelta(seconds=2))
@given(
    data=_packets(),
    chunk=st.integers(1, 64),
    extra=st.sampled_from([0x20, 1 << 27, 0x20 | 1 << 27]),
)
def test_after_login_with_compression_or_attributes(data: bytes, chunk: int, extra: int) -> None:
    # A valid login that negotiates compression and/or query attributes, then anything.
    flags = 0x200 | 0x8000 | 0x80000 | extra
    _drive(_hello(flags) + data, chunk, True)
