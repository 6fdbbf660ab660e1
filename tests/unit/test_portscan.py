"""Port-scan detector and packet parsing."""

from __future__ import annotations

import asyncio
import ipaddress
import struct

from hypothesis import given
from hypothesis import strategies as st

from honeypods.portscan import packets
from honeypods.portscan.detector import MAX_LISTED_PORTS, ScanDetector


def _detector(reports: list, **kw) -> ScanDetector:
    opts = {"threshold": 4, "window": 60.0, "report_delay": 0.05, "max_sources": 100}
    opts.update(kw)
    return ScanDetector(emit=lambda action, fields: reports.append(fields), **opts)


async def test_threshold_gives_one_report_listing_every_port() -> None:
    reports: list[dict] = []
    d = _detector(reports)
    for port in (22, 80, 443):
        d.saw("10.0.0.9", "10.0.0.1", port, "listener")
    await asyncio.sleep(0.1)
    assert reports == []  # below the threshold
    for port in (3306, 5432, 6379, 80):  # 80 again counts once
        d.saw("10.0.0.9", "10.0.0.1", port, "sensor")
    await asyncio.sleep(0.2)
    assert len(reports) == 1
    assert reports[0]["portscan.ports"] == [22, 80, 443, 3306, 5432, 6379]
    assert reports[0]["portscan.observed_by"] == ["listener", "sensor"]
    # The rest of the window is quiet for this source, whatever it does.
    for port in range(1000, 1010):
        d.saw("10.0.0.9", "10.0.0.1", port, "listener")
    await asyncio.sleep(0.2)
    assert len(reports) == 1


async def test_sources_are_independent() -> None:
    reports: list[dict] = []
    d = _detector(reports)
    for port in range(4):
        d.saw("10.0.0.1", "", port, "listener")
        d.saw("10.0.0.2", "", port, "listener")
    await asyncio.sleep(0.2)
    assert sorted(r["source.ip"] for r in reports) == ["10.0.0.1", "10.0.0.2"]


async def test_ports_older_than_the_window_do_not_count() -> None:
    reports: list[dict] = []
    d = _detector(reports, window=0.2)
    for port in range(3):
        d.saw("10.0.0.1", "", port, "listener")
    await asyncio.sleep(0.3)
    d.saw("10.0.0.1", "", 99, "listener")
    await asyncio.sleep(0.2)
    assert reports == []


async def test_memory_is_bounded() -> None:
    reports: list[dict] = []
    d = _detector(reports, max_sources=50)
    for i in range(1000):
        d.saw(f"10.0.{i // 256}.{i % 256}", "", 1, "listener")
    assert len(d.sources) == 50
    for port in range(MAX_LISTED_PORTS + 500):
        d.saw("10.9.9.9", "", port, "listener")
    assert len(d.sources["10.9.9.9"].ports) == MAX_LISTED_PORTS
    d.close()


async def test_close_flushes_a_pending_report() -> None:
    reports: list[dict] = []
    d = _detector(reports, report_delay=60)
    for port in range(5):
        d.saw("10.0.0.1", "", port, "listener")
    d.close()
    assert len(reports) == 1


def _ipv4(proto: int, body: bytes, src: str = "10.1.2.3", dst: str = "10.9.8.7") -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(body), 0, 0, 64, proto, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )  # fmt: skip
    return header + body


def _tcp(sport: int, dport: int, flags: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 5 << 4, flags, 1024, 0, 0)


def test_syn_is_seen_and_synack_rst_are_not() -> None:
    syn = packets.parse_ipv4(_ipv4(6, _tcp(40000, 443, 0x02)))
    assert syn == packets.Syn("10.1.2.3", 40000, "10.9.8.7", 443)
    assert packets.parse_ipv4(_ipv4(6, _tcp(40000, 443, 0x12))) is None
    assert packets.parse_ipv4(_ipv4(6, _tcp(40000, 443, 0x04))) is None


def test_echo_request_only() -> None:
    assert packets.parse_ipv4(_ipv4(1, bytes([8, 0, 0, 0]))) == packets.Echo(
        "10.1.2.3", "10.9.8.7", 8
    )
    assert packets.parse_ipv4(_ipv4(1, bytes([0, 0, 0, 0]))) is None  # echo reply
    assert packets.parse_ipv6_icmp(bytes([128, 0]), "::1") == packets.Echo("::1", "", 128)
    assert packets.parse_ipv6_tcp(_tcp(1, 2, 0x02), "::1") == packets.Syn("::1", 1, "", 2)


def test_options_in_ipv4_header_are_skipped() -> None:
    packet = bytearray(_ipv4(6, b"\x00" * 4 + _tcp(5, 6, 0x02)))
    packet[0] = 0x46  # IHL 6: one 4-byte option word before the TCP header
    assert packets.parse_ipv4(bytes(packet)) == packets.Syn("10.1.2.3", 5, "10.9.8.7", 6)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    packets.parse_ipv4(data)
    packets.parse_ipv6_tcp(data, "::1")
    packets.parse_ipv6_icmp(data, "::1")
