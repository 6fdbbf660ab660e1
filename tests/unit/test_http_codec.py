"""The sans-IO request reader and nginx's reply catalogue, without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honeypods.web import http
from honeypods.web.http import ProtocolError, Request, RequestReader

# The 404 page of nginx 1.22.1, captured from the real server (research/peers.md §4.3).
NGINX_404 = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def test_404_page_is_nginx_s() -> None:
    assert http.error_page(404, "1.22.1") == NGINX_404
    assert len(NGINX_404) == 153


@pytest.mark.parametrize("status", sorted(s for s in http.REASONS if s >= 400))
def test_each_error_page_names_its_status(status: int) -> None:
    page = http.error_page(status, "1.22.1").decode()
    title = "Authorization Required" if status == 401 else http.REASONS[status]
    assert f"<title>{status} {title}</title>" in page
    assert f"<h1>{status} {title}</h1>" in page
    assert page.endswith("<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (494, "Request Header Or Cookie Too Large"),
        (497, "The plain HTTP request was sent to HTTPS port"),
    ],
)
def test_nginx_pseudo_codes_are_400_pages(code: int, title: str) -> None:
    page = http.error_page(code, "1.22.1").decode()
    assert f"<title>400 {title}</title>" in page
    assert "<h1>400 Bad Request</h1>" in page
    assert http.wire_status(code) == 400


def test_reasons_are_nginx_s_not_rfc_s() -> None:
    assert http.REASONS[302] == "Moved Temporarily"
    assert http.REASONS[405] == "Not Allowed"
    assert http.REASONS[408] == "Request Time-out"
    assert http.REASONS[503] == "Service Temporarily Unavailable"


def test_head_order_is_nginx_s() -> None:
    head = http.make_head(
        200,
        [
            ("ETag", '"1-2"'),
            ("Accept-Ranges", "bytes"),
            ("Last-Modified", "Thu, 01 Jan 1970 00:00:01 GMT"),
            ("Content-Length", "2"),
            ("Content-Type", "text/css"),
        ],
        server="1.22.1",
        date="Fri, 27 Nov 2026 10:00:00 GMT",
        keepalive=True,
    )
    assert head == (
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:00:00 GMT\r\n"
        b"Content-Type: text/css\r\nContent-Length: 2\r\n"
        b"Last-Modified: Thu, 01 Jan 1970 00:00:01 GMT\r\nConnection: keep-alive\r\n"
        b'ETag: "1-2"\r\nAccept-Ranges: bytes\r\n\r\n'
    )


def test_chrome_gets_the_padding() -> None:
    plain = http.make_error(404, server="1.22.1", date="d", keepalive=False)
    padded = http.make_error(404, server="1.22.1", date="d", keepalive=False, padding=True)
    assert padded.endswith(http.MSIE_PADDING.encode())
    assert b"Content-Length: 555" in padded
    assert b"Content-Length: 153" in plain


Outcome = tuple[str, object]


def outcome(data: bytes, *, bytewise: bool = False) -> Outcome:
    reader = RequestReader()
    pieces = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    try:
        for piece in pieces:
            reader.receive_data(piece)
            req = reader.next_request()
            if req is not None:
                return "request", (req.method, req.path, req.query, req.version, req.host)
    except ProtocolError as err:
        return "error", err.status
    return "need-data", None


TABLE: list[tuple[bytes, Outcome]] = [
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", ("request", ("GET", "/", "", (1, 1), "a"))),
    (b"GET /x?y=1 HTTP/1.0\r\n\r\n", ("request", ("GET", "/x", "y=1", (1, 0), ""))),
    (b"\r\n\r\nHEAD / HTTP/1.1\nHost: A.B.\n\n", ("request", ("HEAD", "/", "", (1, 1), "a.b"))),
    (b"GET http://h:8/p HTTP/1.1\r\nHost: x\r\n\r\n", ("request", ("GET", "/p", "", (1, 1), "h"))),
    (b"GET /a/../b/./c//d HTTP/1.0\r\n\r\n", ("request", ("GET", "/b/c/d", "", (1, 0), ""))),
    (b"GET /%41 HTTP/1.0\r\n\r\n", ("request", ("GET", "/A", "", (1, 0), ""))),
    (b"GET /\r\n", ("request", ("GET", "/", "", (0, 9), ""))),
    (b"GET / HTTP/1.1\r\nHost: a\r\n", ("need-data", None)),
    (b"GET / HTTP/1.1\r\n\r\n", ("error", 400)),
    (b"get / HTTP/1.1\r\n", ("error", 400)),
    (b"\x16\x03\x01", ("error", 400)),
    (b"GET / HTTP/2.0\r\n", ("error", 505)),
    (b"GET / HTTP/1.1000\r\n", ("error", 400)),
    (b"POST /\r\n", ("error", 400)),
    (b"GET /../x HTTP/1.0\r\n\r\n", ("error", 400)),
    (b"GET /%zz HTTP/1.0\r\n\r\n", ("error", 400)),
    (b"GET / HTTP/1.0\r\nHost: a/b\r\n\r\n", ("error", 400)),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", ("error", 400)),
    (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", ("error", 501)),
    (b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", ("error", 405)),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n", ("error", 414)),
    (b"GET /" + b"a" * 9000, ("error", 414)),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"b" * 9000, ("error", 494)),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Y: " + b"z" * 5000 + b"\r\n" * 1, ("need-data", None)),
]


@pytest.mark.parametrize(("data", "expected"), TABLE, ids=[repr(d[:24]) for d, _ in TABLE])
def test_byte_table(data: bytes, expected: Outcome) -> None:
    assert outcome(data) == expected
    assert outcome(data, bytewise=True) == expected


def test_body_content_length_and_chunked() -> None:
    reader = RequestReader()
    reader.receive_data(b"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab")
    req = reader.next_request()
    assert isinstance(req, Request)
    reader.start_body(req)
    assert reader.read_body(100) is None
    reader.receive_data(b"cdeGET")
    assert reader.read_body(3) == (b"abc", 5)
    reader.receive_data(b" / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    req = reader.next_request()
    assert req is not None
    assert req.chunked
    reader.start_body(req)
    assert reader.read_body(100) is None
    reader.receive_data(b"0\r\n\r\n")
    assert reader.read_body(100) == (b"abc", 3)


def test_chunked_body_over_the_limit_is_413() -> None:
    reader = RequestReader(max_body=10)
    reader.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n")
    req = reader.next_request()
    assert req is not None
    reader.start_body(req)
    with pytest.raises(ProtocolError) as err:
        reader.read_body(100)
    assert err.value.status == 413


@settings(max_examples=400, deadline=2000)
@given(data=st.binary(max_size=3000), cut=st.integers(min_value=0, max_value=3000))
def test_any_bytes_give_a_request_more_data_or_protocol_error(data: bytes, cut: int) -> None:
    whole = outcome(data)
    assert whole[0] in ("request", "need-data", "error")
    # Where the bytes are cut does not change the outcome.
    reader = RequestReader()
    got: Outcome = ("need-data", None)
    try:
        for piece in (data[:cut], data[cut:]):
            reader.receive_data(piece)
            req = reader.next_request()
            if req is not None:
                got = ("request", (req.method, req.path, req.query, req.version, req.host))
                break
    except ProtocolError as err:
        got = ("error", err.status)
    assert got == whole


def test_absolute_form_keeps_the_target_as_sent() -> None:
    reader = RequestReader()
    reader.receive_data(b"GET http://evil.example:8080/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n")
    req = reader.next_request()
    assert req is not None
    assert req.raw_target == "http://evil.example:8080/x?y=1"
    assert (req.target, req.path, req.query, req.host) == ("/x?y=1", "/x", "y=1", "evil.example")


def test_a_request_without_body_after_one_with_a_body() -> None:
    reader = RequestReader()
    reader.receive_data(
        b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n"
    )
    first = reader.next_request()
    assert first is not None
    reader.start_body(first)
    assert reader.read_body(10) == (b"hi", 2)
    reader.receive_data(b"Host: a\r\n\r\n")
    second = reader.next_request()
    assert second is not None
    reader.start_body(second)
    assert reader.read_body(10) == (b"", 0)
