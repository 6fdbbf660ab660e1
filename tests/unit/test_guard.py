"""The connection guard over real loopback sockets: lifecycle events on every path, limits."""

from __future__ import annotations

import asyncio
import gc
import socket

import pytest

from honeypods.core.acceptor import listen
from honeypods.core.guard import Guard, GuardProtocol, Limits, Session


def _streams(handler):
    """A decoy written against asyncio streams: ``handler(session, reader, writer)`` per connection,
    ending the session as a decoy does (the guard does the closing)."""

    def inner(session: Session) -> asyncio.BaseProtocol:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(session, reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                session.close("eof")
            except Exception as exc:
                session.error(exc)
            else:
                session.close(session.reason or "eof")

        return asyncio.StreamReaderProtocol(asyncio.StreamReader(), run)

    return inner


async def _serve(guard: Guard, handler):
    """The guard's own listener on a free loopback port, as every decoy starts."""
    running = await guard.start("127.0.0.1", [(guard.protocol_factory(_streams(handler)), 0)])
    return running.servers[0], int(running.addresses[0].rsplit(":", 1)[1])


async def _echo_once(session: Session, reader: asyncio.StreamReader, writer) -> None:
    data = await reader.read(100)
    writer.write(data.upper())
    await writer.drain()


def _pairs(captured) -> tuple[list[dict], list[dict]]:
    return captured.of("session.connect"), captured.of("session.closed")


async def test_sequential_connections_each_get_one_open_and_one_close(captured) -> None:
    n = 500
    guard = Guard("portscan", Limits(), "honeypod.ip.enum")
    server, port = await _serve(guard, _echo_once)
    for _ in range(n):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping")
        assert await reader.read(100) == b"PING"
        writer.close()
        await writer.wait_closed()
    await captured.wait_for(lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= n)
    server.close()
    opened, closed = _pairs(captured)
    assert len(opened) == n
    assert len(closed) == n
    assert {e["honeypod.session"] for e in opened} == {e["honeypod.session"] for e in closed}
    assert all(e["source.bytes"] == 4 and e["destination.bytes"] == 4 for e in closed)
    assert all(e["rule.name"] == "honeypod.ip.enum" for e in opened)


async def test_concurrent_connections_each_get_one_open_and_one_close(captured) -> None:
    n = 500
    guard = Guard("portscan", Limits(), "honeypod.ip.enum")
    server, port = await _serve(guard, _echo_once)

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x")
        await reader.read(10)
        writer.close()
        await writer.wait_closed()

    await asyncio.gather(*(one() for _ in range(n)))
    await captured.wait_for(lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= n)
    server.close()
    opened, closed = _pairs(captured)
    assert len(opened) == n
    assert len(closed) == n
    assert len({e["source.port"] for e in opened}) == n


async def _silent(session: Session, reader: asyncio.StreamReader, writer) -> None:
    while await reader.read(1024):
        pass


async def _closed_reason(captured, port: int, send: bytes = b"", wait: float = 10.0) -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if send:
        writer.write(send)
    await asyncio.wait_for(reader.read(), wait)  # the decoy ends it
    writer.close()
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    return captured.of("session.closed")[-1]


async def test_idle_timeout(captured) -> None:
    guard = Guard("mysql", Limits(idle_timeout=0.3), "honeypod.vuln.svc")
    server, port = await _serve(guard, _silent)
    closed = await _closed_reason(captured, port)
    server.close()
    assert closed["event.reason"] == "idle_timeout"


async def test_total_deadline_even_when_active(captured) -> None:
    guard = Guard("mysql", Limits(idle_timeout=5, deadline=0.5), "honeypod.vuln.svc")
    server, port = await _serve(guard, _silent)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(100):  # keep talking: only the deadline can end it
        if reader.at_eof():
            break
        writer.write(b".")
        await asyncio.sleep(0.05)
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    writer.close()
    server.close()
    assert captured.of("session.closed")[-1]["event.reason"] == "deadline"


async def test_byte_cap_in(captured) -> None:
    guard = Guard("web", Limits(max_bytes_in=1000), "honeypod.fake.svc")
    server, port = await _serve(guard, _silent)
    closed = await _closed_reason(captured, port, send=b"a" * 5000)
    server.close()
    assert closed["event.reason"] == "limit"


async def test_over_capacity_is_logged_and_closed(captured) -> None:
    guard = Guard("ssh", Limits(max_connections=3), "honeypod.network.ssh")
    server, port = await _serve(guard, _silent)
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    await captured.wait_for(lambda ev: len(ev) >= 3)
    closed = await _closed_reason(captured, port)
    assert closed["event.reason"] == "over_capacity"
    assert len(captured.of("session.connect")) == 4  # the refused one was logged first
    for _r, w in held:
        w.close()
    await captured.wait_for(lambda ev: sum(e["event.action"] == "session.closed" for e in ev) == 4)
    server.close()
    assert guard.counts["closed_over_capacity"] == 1


async def test_per_source_cap(captured) -> None:
    guard = Guard("ssh", Limits(max_per_source=1), "honeypod.network.ssh")
    server, port = await _serve(guard, _silent)
    _reader, held = await asyncio.open_connection("127.0.0.1", port)
    closed = await _closed_reason(captured, port)
    assert closed["event.reason"] == "over_capacity"
    held.close()
    server.close()


async def test_handler_exception_is_caught_once_and_nothing_reaches_the_peer(captured) -> None:
    async def broken(session: Session, reader: asyncio.StreamReader, writer) -> None:
        await reader.read(10)
        raise RuntimeError("secret internals")

    guard = Guard("mysql", Limits(), "honeypod.vuln.svc")
    server, port = await _serve(guard, broken)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello")
    assert await asyncio.wait_for(reader.read(), 10) == b""
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    server.close()
    errors = captured.of("honeypods.error")
    assert len(errors) == 1
    assert errors[0]["error.type"] == "RuntimeError"
    assert captured.of("session.closed")[-1]["event.reason"] == "server_error"


async def test_shutdown_closes_every_connection_with_a_close_event(captured) -> None:
    guard = Guard("web", Limits(), "honeypod.fake.svc")
    server, port = await _serve(guard, _silent)
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
    await captured.wait_for(lambda ev: len(captured.of("session.connect")) == 20)
    server.close()
    await guard.shutdown(5)
    closed = captured.of("session.closed")
    assert len(closed) == 20
    assert {e["event.reason"] for e in closed} == {"shutdown"}
    for _r, w in conns:
        w.close()


async def test_session_reason_set_by_decoy_wins(captured) -> None:
    async def refuse(session: Session, reader: asyncio.StreamReader, writer) -> None:
        writer.write(b"go away")
        session.close("protocol_error")

    guard = Guard("mysql", Limits(), "honeypod.vuln.svc")
    server, port = await _serve(guard, refuse)
    reader, _writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 10) == b"go away"
    await captured.wait_for(lambda ev: any(e["event.action"] == "session.closed" for e in ev))
    server.close()
    assert captured.of("session.closed")[-1]["event.reason"] == "protocol_error"


async def test_peer_that_never_reads_cannot_hold_the_connection(captured) -> None:
    async def flood(session: Session, reader: asyncio.StreamReader, writer) -> None:
        for _ in range(200):
            writer.write(b"z" * 65536)
        session.close("policy")

    guard = Guard("web", Limits(max_bytes_out=64 << 20), "honeypod.fake.svc")
    server, port = await _serve(guard, flood)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Never read: the guard's close grace must abort it.
    await captured.wait_for(
        lambda ev: any(e["event.action"] == "session.closed" for e in ev), timeout=30
    )
    sock.close()
    server.close()
    assert captured.of("session.closed")[-1]["event.reason"] == "policy"


@pytest.mark.parametrize("n", [50])
async def test_bytes_out_cap(captured, n: int) -> None:
    async def chatty(session: Session, reader: asyncio.StreamReader, writer) -> None:
        for _ in range(n):
            writer.write(b"y" * 1000)
            await writer.drain()

    guard = Guard("web", Limits(max_bytes_out=10_000), "honeypod.fake.svc")
    server, port = await _serve(guard, chatty)
    closed = await _closed_reason(captured, port)
    server.close()
    assert closed["event.reason"] == "limit"


class _Banner(asyncio.Protocol):
    """A plain-protocol decoy, as MySQL's is: banner out, then wait for the peer to leave."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(b"banner\n")  # type: ignore[attr-defined]

    def eof_received(self) -> bool:
        self.session.close("eof")
        return False


async def test_closed_connections_are_freed_without_the_cycle_collector(captured) -> None:
    # A connection must not form a reference cycle (inner protocol -> its transport -> the
    # guard's protocol -> inner): under load, cyclic garbage piles up between collections.
    n = 50
    guard = Guard("mysql", Limits(), "honeypod.vuln.svc")
    acceptor = await listen(guard.protocol_factory(_Banner), "127.0.0.1", 0)
    port = acceptor.sock.getsockname()[1]
    gc.collect()
    gc.disable()
    try:
        for _ in range(n):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await reader.readline() == b"banner\n"
            writer.close()
            await writer.wait_closed()
        await captured.wait_for(
            lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= n
        )
        await asyncio.sleep(0.05)  # let the loop drop its last references to the transports
        # Only this guard's: an earlier test's connection may still be in its close grace.
        alive = [
            o
            for o in gc.get_objects()
            if isinstance(o, _Banner)
            or (isinstance(o, GuardProtocol | Session) and o.guard is guard)
        ]
        assert alive == []
    finally:
        gc.enable()
        acceptor.close()
