"""The guard with PROXY protocol on, over real loopback sockets.

127.0.0.2 plays the trusted load balancer, 127.0.0.1 everyone else. The decoy behind the guard
speaks first (a banner at connection time, as MySQL and SSH do) and then upper-cases what it gets.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct

import pytest

from honeypods.core.guard import Guard, Limits, ProxyProtocol, Running, Session

LB = "127.0.0.2"
BANNER = b"HELLO\r\n"
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
V1 = b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 3306\r\n"


class Banner(asyncio.Protocol):
    def __init__(self, session: Session) -> None:
        self.session = session

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(BANNER)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())  # type: ignore[attr-defined]

    def eof_received(self) -> bool:
        self.session.close("eof")
        return True


@pytest.fixture
async def serve():
    """``await serve(timeout=..., **limits)``: a guarded banner decoy; its port. Stopped after."""
    started: list[Running] = []

    async def start(timeout: float = 30.0, **limits: int) -> int:
        proxy = ProxyProtocol(protocol=True, trusted=(f"{LB}/32",), timeout=timeout)
        guard = Guard("mysql", Limits(**limits), "honeypod.vuln.svc", proxy=proxy)
        running = await guard.start("127.0.0.1", [(guard.protocol_factory(Banner), 0)])
        started.append(running)
        return int(running.addresses[0].rsplit(":", 1)[1])

    yield start
    for running in started:
        await running.stop()


async def _connect(port: int, source: str = LB):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    # Bounded: the guard's header timeout or the peer's close ends every connection here.
    return await asyncio.wait_for(reader.read(-1), 30)


async def _closed(captured, n: int = 1) -> list[dict]:
    await captured.wait_for(lambda ev: sum(e["event.action"] == "session.closed" for e in ev) >= n)
    return captured.of("session.closed")


async def test_v1_header_from_the_balancer_names_the_client(serve, captured) -> None:
    port = await serve()
    reader, writer = await _connect(port)
    writer.write(V1 + b"ping")
    assert await reader.readexactly(len(BANNER) + 4) == BANNER + b"PING"
    writer.write_eof()
    await _read_all(reader)
    writer.close()
    (closed,) = await _closed(captured)
    (connect,) = captured.of("session.connect")
    for event in (connect, closed):
        assert event["source.ip"] == "203.0.113.7"
        assert event["source.port"] == 40000
        assert event["source.nat.ip"] == LB
        assert event["destination.port"] == port  # the pod's, from the socket
    assert closed["event.reason"] == "eof"
    assert closed["source.bytes"] == len(V1) + 4
    assert not captured.of("proxy.invalid")


def _v2(command: int, family: int, body: bytes) -> bytes:
    return SIG + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


async def test_v2_header_byte_by_byte_with_tlvs_then_the_decoy_speaks(serve, captured) -> None:
    addresses = ipaddress.ip_address("2001:db8::7").packed + ipaddress.ip_address("::1").packed
    header = _v2(0x1, 0x21, addresses + struct.pack("!HH", 5555, 22) + b"\x05\x00\x02id")
    port = await serve()
    reader, writer = await _connect(port)
    for i in range(len(header)):
        writer.write(header[i : i + 1])
        await writer.drain()
    assert await reader.readexactly(len(BANNER)) == BANNER
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["source.ip"] == "2001:db8::7"
    assert closed["source.port"] == 5555
    assert closed["source.nat.ip"] == LB


async def test_local_command_keeps_the_socket_addresses(serve, captured) -> None:
    port = await serve()
    reader, writer = await _connect(port)
    writer.write(_v2(0x0, 0x00, b"") + b"x")
    assert await reader.readexactly(len(BANNER) + 1) == BANNER + b"X"
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["source.ip"] == LB
    assert "source.nat.ip" not in closed


async def test_balancer_without_a_header_gets_nothing_and_is_logged(serve, captured) -> None:
    """A decoy that speaks first waits for the header: on timeout the peer gets no byte."""
    port = await serve(timeout=0.3)
    reader, writer = await _connect(port)
    assert await _read_all(reader) == b""
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["event.reason"] == "idle_timeout"
    (invalid,) = captured.of("proxy.invalid")
    assert invalid["honeypod.proxy.problem"] == "timeout"
    assert invalid["source.ip"] == LB
    actions = [e["event.action"] for e in captured.flat]
    assert actions == ["session.connect", "proxy.invalid", "session.closed"]


async def test_slow_header_is_cut_by_the_timeout_not_kept_alive_by_each_byte(
    serve, captured
) -> None:
    port = await serve(timeout=0.5)
    reader, writer = await _connect(port)
    eof = asyncio.create_task(_read_all(reader))
    # One byte every 0.1 s of a 106-byte header prefix (never complete, never too long): each
    # byte is activity, but the header timeout counts from the connection, not the last byte.
    for byte in V1[:-2] + b" " * 60:
        if eof.done():
            break
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.1)
    assert await eof == b""
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["event.reason"] == "idle_timeout"
    (invalid,) = captured.of("proxy.invalid")
    assert invalid["honeypod.proxy.problem"] == "timeout"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not_a_header"),
        (b"PROXY TCP4 999.0.0.1 1.2.3.4 1 2\r\n", "malformed"),
        (b"PROXY UNKNOWN " + b"A" * 200, "too_long"),
        (SIG + b"\x21\x11\xff\xff", "too_long"),
    ],
)
async def test_bad_header_from_the_balancer_closes_with_an_event(
    serve, captured, data: bytes, problem: str
) -> None:
    port = await serve()
    reader, writer = await _connect(port)
    writer.write(data)
    assert await _read_all(reader) == b""  # no banner, no echo
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["event.reason"] == "protocol_error"
    (invalid,) = captured.of("proxy.invalid")
    assert invalid["honeypod.proxy.problem"] == problem
    assert bytes.fromhex(invalid["honeypod.proxy.header_hex"]) == data[:256]


async def test_balancer_closing_inside_the_header_is_truncated(serve, captured) -> None:
    port = await serve()
    reader, writer = await _connect(port)
    writer.write(V1[:20])
    writer.write_eof()
    assert await _read_all(reader) == b""
    writer.close()
    await _closed(captured)
    (invalid,) = captured.of("proxy.invalid")
    assert invalid["honeypod.proxy.problem"] == "truncated"


async def test_health_check_connect_and_close_is_no_bad_header(serve, captured) -> None:
    port = await serve()
    _reader, writer = await _connect(port)
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["event.reason"] == "eof"
    assert len(captured.of("session.connect")) == 1
    assert not captured.of("proxy.invalid")


async def test_other_peers_are_served_as_without_proxy_protocol(serve, captured) -> None:
    port = await serve()
    reader, writer = await _connect(port, "127.0.0.1")
    assert await reader.readexactly(len(BANNER)) == BANNER  # no wait for a header
    for chunk in (b"P", b"O", b"ST /"):  # starts like "PROXY " for one byte
        writer.write(chunk)
        await writer.drain()
    assert await reader.readexactly(6) == b"POST /"
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["source.ip"] == "127.0.0.1"
    assert "source.nat.ip" not in closed
    assert not captured.of("proxy.untrusted")


@pytest.mark.parametrize(
    ("data", "claimed"),
    [
        (V1 + b"rest", {"honeypod.proxy.source.ip": "203.0.113.7", "honeypod.proxy.version": 1}),
        (
            _v2(0x1, 0x11, bytes([10, 0, 0, 9, 10, 0, 0, 1]) + struct.pack("!HH", 7, 8)),
            {
                "honeypod.proxy.source.ip": "10.0.0.9",
                "honeypod.proxy.source.port": 7,
                "honeypod.proxy.destination.ip": "10.0.0.1",
                "honeypod.proxy.command": "PROXY",
                "honeypod.proxy.version": 2,
            },
        ),
        (
            SIG + b"\x21\x11\xff\xff",
            {"honeypod.proxy.problem": "too_long", "honeypod.proxy.version": 2},
        ),
    ],
)
async def test_header_from_anyone_else_is_an_attack(
    serve, captured, data: bytes, claimed: dict
) -> None:
    port = await serve()
    reader, writer = await _connect(port, "127.0.0.1")
    writer.write(data)
    assert await _read_all(reader) == BANNER  # served as a direct client, then cut
    writer.close()
    (closed,) = await _closed(captured)
    assert closed["event.reason"] == "protocol_error"
    (spoof,) = captured.of("proxy.untrusted")
    assert spoof["source.ip"] == "127.0.0.1"  # the peer itself, never the claim
    assert spoof["rule.name"] == "honeypod.vuln.svc"
    assert claimed.items() <= spoof.items()
    assert not any(e.get("source.ip") != "127.0.0.1" for e in captured.flat)


async def test_per_source_cap_counts_the_clients_behind_the_balancer(serve, captured) -> None:
    port = await serve(max_per_source=1)
    conns = []
    for client in ("203.0.113.1", "203.0.113.2", "203.0.113.1"):
        reader, writer = await _connect(port)
        writer.write(f"PROXY TCP4 {client} 198.51.100.1 1000 3306\r\n".encode())
        conns.append((reader, writer))
    # The first two clients are each under the cap although both come through one balancer.
    for reader, _writer in conns[:2]:
        assert await reader.readexactly(len(BANNER)) == BANNER
    assert await _read_all(conns[2][0]) == b""
    await _closed(captured)
    (closed,) = captured.of("session.closed")
    assert closed["event.reason"] == "over_capacity"
    assert closed["source.ip"] == "203.0.113.1"
    for _reader, writer in conns:
        writer.close()
    await _closed(captured, 3)
