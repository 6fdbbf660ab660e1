"""The PROXY protocol codec: byte tables from the specification, fed whole and byte by byte, and a
property test that any input yields a header, need-more or ProtocolError, nothing else."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeypods.core import proxyproto
from honeypods.core.proxyproto import Header, ProtocolError, Sniff

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(command: int, family: int, body: bytes) -> bytes:
    """A v2 header built by hand from the specification's table (section 2.2)."""
    return SIG + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


def inet(src: str, dst: str, sport: int, dport: int) -> bytes:
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    return a + b + struct.pack("!HH", sport, dport)


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack("!H", len(value)) + value


V4 = inet("203.0.113.7", "198.51.100.1", 40000, 3306)
V6 = inet("2001:db8::7", "2001:db8::1", 1, 65535)

VALID = [
    (
        b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 3306\r\n",
        Header(1, "PROXY", "TCP4", ("203.0.113.7", 40000), ("198.51.100.1", 3306), 48),
    ),
    (
        b"PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n",
        Header(1, "PROXY", "TCP6", ("2001:db8::7", 0), ("2001:db8::1", 65535), 44),
    ),
    (b"PROXY UNKNOWN\r\n", Header(1, "PROXY", "UNKNOWN", None, None, 15)),
    (
        b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
        Header(1, "PROXY", "UNKNOWN", None, None, 59),
    ),
    (
        v2(0x1, 0x11, V4),
        Header(2, "PROXY", "TCP4", ("203.0.113.7", 40000), ("198.51.100.1", 3306), 28),
    ),
    (
        v2(0x1, 0x21, V6 + tlv(0x05, b"unique-id") + tlv(0xEA, b"\x01vpce-0abc")),
        Header(2, "PROXY", "TCP6", ("2001:db8::7", 1), ("2001:db8::1", 65535), 16 + 36 + 12 + 13),
    ),
    (v2(0x0, 0x00, b""), Header(2, "LOCAL", "UNSPEC", None, None, 16)),
    (v2(0x0, 0x11, V4), Header(2, "LOCAL", "TCP4", None, None, 28)),
    (v2(0x1, 0x00, b"ignored"), Header(2, "PROXY", "UNSPEC", None, None, 23)),
    (v2(0x1, 0x31, b"/a".ljust(108, b"\0") * 2), Header(2, "PROXY", "UNIX", None, None, 232)),
]

INVALID = [
    (b"GET / HTTP/1.1\r\n", "not_a_header"),
    (b"\x16\x03\x01\x02\x00", "not_a_header"),
    (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "malformed"),
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "malformed"),
    (b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "malformed"),
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "malformed"),
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", "malformed"),
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "malformed"),
    (b"PROXY TCP4 1.2.3.004 5.6.7.8 1 2\r\n", "malformed"),
    (b"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", "malformed"),
    (b"PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n", "malformed"),
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "malformed"),
    (b"PROXY TCP4 \xff.2.3.4 5.6.7.8 1 2\r\n", "malformed"),
    (b"PROXY UNKNOWN " + b"x" * 100, "too_long"),
    (SIG + b"\x10\x11\x00\x0c" + V4, "malformed"),  # version 1 nibble
    (SIG + b"\x22\x11\x00\x0c" + V4, "malformed"),  # command 2
    (SIG + b"\x21\x41\x00\x0c" + V4, "malformed"),  # family 4
    (SIG + b"\x21\x13\x00\x0c" + V4, "malformed"),  # transport 3
    (v2(0x1, 0x11, V4[:11]), "malformed"),  # shorter than its addresses
    (v2(0x1, 0x21, V4), "malformed"),
    (v2(0x1, 0x11, V4 + b"\x05\x00"), "malformed"),  # TLV cut short
    (v2(0x1, 0x11, V4 + b"\x05\x00\x09abc"), "malformed"),  # TLV past the end
    (SIG + b"\x21\x11\xff\xff", "too_long"),  # refused before the 64 KiB arrive
]


@pytest.mark.parametrize(("data", "header"), VALID)
def test_valid_headers_whole_and_byte_by_byte(data: bytes, header: Header) -> None:
    assert proxyproto.parse(data) == header
    # What follows the header is the protocol's own and left alone.
    assert proxyproto.parse(data + b"\x16\x03\x01 rest") == header
    for cut in range(len(data)):
        assert proxyproto.parse(data[:cut]) is None, cut


@pytest.mark.parametrize(("data", "problem"), INVALID)
def test_invalid_headers_raise_one_error_type(data: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError) as err:
        proxyproto.parse(data)
    assert err.value.problem == problem
    # The detail is this module's own text: no byte of the input is echoed.
    assert err.value.detail.isascii()
    assert "1.2.3" not in err.value.detail


def test_v1_is_bounded_at_107_bytes() -> None:
    # Section 2.1's worst case: UNKNOWN with two full IPv6 addresses and ports.
    longest = b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
    longest += b"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
    assert len(longest) == proxyproto.V1_MAX
    header = proxyproto.parse(longest)
    assert header is not None
    assert header.length == proxyproto.V1_MAX
    with pytest.raises(ProtocolError, match="107"):
        proxyproto.parse(b"PROXY UNKNOWN " + b"x" * 93)
    assert proxyproto.parse(b"PROXY UNKNOWN " + b"x" * 92) is None


def test_v2_bound_is_configurable() -> None:
    data = v2(0x1, 0x11, V4 + tlv(0xE0, b"x" * 100))
    assert proxyproto.parse(data, max_v2=len(data)) is not None
    with pytest.raises(ProtocolError) as err:
        proxyproto.parse(data[:16], max_v2=len(data) - 1)
    assert err.value.problem == "too_long"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", Sniff.UNDECIDED),
        (b"P", Sniff.UNDECIDED),
        (b"PROXY", Sniff.UNDECIDED),
        (b"PROXY ", Sniff.HEADER),
        (b"POST /", Sniff.OTHER),
        (b"\r\n\r\n\x00", Sniff.UNDECIDED),
        (b"\r\n\r\n\x00\r\nQUIT\n", Sniff.HEADER),
        (b"\r\n\r\n\x01", Sniff.OTHER),
        (b"SSH-2.0-OpenSSH_9.6\r\n", Sniff.OTHER),
        (b"\x16", Sniff.OTHER),
    ],
)
def test_sniff_tells_a_signature_from_protocol_bytes(data: bytes, kind: Sniff) -> None:
    assert proxyproto.sniff(data) is kind


# Inputs near the grammar, so the fuzz reaches past the signature check.
_NEAR = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=200).map(lambda b: b"PROXY " + b),
    st.builds(
        lambda words: b"PROXY " + b" ".join(words) + b"\r\n",
        st.lists(
            st.sampled_from([b"TCP4", b"TCP6", b"UNKNOWN", b"1.2.3.4", b"::1", b"80", b"0", b""])
            | st.binary(max_size=8),
            max_size=7,
        ),
    ),
    st.binary(max_size=300).map(lambda b: SIG + b),
    st.builds(
        lambda vc, ft, body, extra: (
            SIG + bytes([vc, ft]) + struct.pack("!H", len(body)) + body + extra
        ),
        st.integers(0, 255),
        st.integers(0, 255),
        st.binary(max_size=260),
        st.binary(max_size=8),
    ),
)


@settings(max_examples=1500, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(_NEAR)
def test_any_input_gives_a_header_need_more_or_protocol_error(data: bytes) -> None:
    problem = ""
    try:
        whole = proxyproto.parse(data)
    except ProtocolError as exc:
        whole, problem = None, exc.problem
    failed = bool(problem)
    assert problem in ("", "not_a_header", "malformed", "too_long")
    if whole is not None:
        assert 0 < whole.length <= len(data)
        # The header alone parses the same: nothing after it was read.
        assert proxyproto.parse(data[: whole.length]) == whole
    # Byte by byte, as a slow sender delivers it: never a different answer at the end, and a
    # prefix of a valid header is never refused.
    outcome: Header | str | None = None
    for cut in range(1, len(data) + 1):
        try:
            outcome = proxyproto.parse(data[:cut])
        except ProtocolError:
            outcome = "error"
            break
        if outcome is not None:
            break
    if whole is not None:
        assert outcome == whole
    elif failed:
        assert outcome == "error"
