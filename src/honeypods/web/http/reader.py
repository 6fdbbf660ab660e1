"""The request reader: bytes in, ``Request`` heads and bodies out, as nginx 1.22 reads them.

Sans-IO: stdlib only, no asyncio, no logging, no clock. The adapter feeds bytes with
``receive_data`` (the connection's EOF is the adapter's business), takes heads from
``next_request`` and bodies from ``read_body``, and times nothing here.

Rules this module keeps:

1. The request line and header lines are accepted or refused exactly as nginx's
   ``ngx_http_parse_request_line``/``ngx_http_parse_header_line`` do (``line``, ``headers``),
   including where in the stream an error is noticed.
2. Header buffers are simulated: a 1 KiB first buffer (``client_header_buffer_size``), then up to
   four 8 KiB buffers (``large_client_header_buffers 4 8k``) into which the line being parsed is
   copied. A request line that does not fit gives 414, a header line that does not fit (or no
   buffer left) gives nginx's 494 page with status 400, at the same stream offset nginx gives it.
3. Work done on complete lines is kept between calls (``_Progress``), and a partial line is
   checked with a prefix expression before the byte-by-byte scanner, so a client sending one byte
   at a time costs linear, not quadratic, time.
4. The only exception raised is ``ProtocolError``; it carries the status to answer with (0 means
   close without an answer, as nginx does for a timeout or a body cut short).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from honeypods.web.http.body import BodyReader
from honeypods.web.http.head import make_request, marked_by, valid_host
from honeypods.web.http.headers import (
    FAST_HEADER,
    HDR_AGAIN,
    HDR_BAD,
    HDR_DONE,
    HDR_OK,
    PARTIAL_HEADER,
    scan_header_line,
)
from honeypods.web.http.line import (
    CR,
    FAST_LINE,
    LF,
    LINE_AGAIN,
    LINE_BAD,
    LINE_BAD_09,
    LINE_OK,
    LINE_VERSION,
    PARTIAL_LINE,
    Line,
    normalize_path,
    scan_request_line,
)
from honeypods.web.http.request import (
    HEADER_BUFFER,
    LARGE_BUFFER,
    LARGE_BUFFERS,
    MAX_BODY,
    ProtocolError,
    Request,
    marked,
)

# The usual request: a whole, plain head. Anything it does not match takes the line by line path.
_FAST_HEAD: Final = re.compile(
    rb"([A-Z_-]+) (/[\x21-\x22\x24-\x7e\x80-\xff]*) HTTP/1\.([0-9]{1,3})\r\n"
    rb"((?:[A-Za-z0-9-]+:[^\x00\r\n]*\r\n)*)\r\n"
)


@dataclass
class _Progress:
    """A request head read up to ``p``: its request line and the header lines so far."""

    line: Line
    p: int
    bend: int
    nbusy: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    dropped: int = 0


# Parsed heads by their exact bytes: scanners and clients send the same few heads again and
# again, and a head's parse depends on its bytes alone. Bounded in entries, head size and header
# count (a full cache holds about 2 MiB at worst); requests handed out are copies, so no
# connection sees another's changes.
_HEADS: dict[bytes, Request] = {}
_HEADS_MAX: Final = 128
_HEAD_MAX_BYTES: Final = HEADER_BUFFER
_HEAD_MAX_HEADERS: Final = 24


class RequestReader:
    """Turns bytes into ``Request`` heads and bodies, as nginx reads them.

    Usage: ``receive_data(data)``; then ``next_request()`` returns a ``Request`` or ``None`` (need
    data); after a request with a body, ``read_body()`` returns the body or ``None``.

    Args:
        max_body: nginx's client_max_body_size.
        strict_framing: nginx 1.21.2's checks of Content-Length with Transfer-Encoding
            (``head.make_request``); False reads requests as nginx 1.18 does.
    """

    def __init__(self, *, max_body: int = MAX_BODY, strict_framing: bool = True) -> None:
        self.buf = bytearray()
        self.max_body = max_body
        self.strict = strict_framing
        # Where the current nginx header buffer ends, relative to self.buf; and large ones used.
        self._bend = HEADER_BUFFER
        self._nbusy = 0
        self._body = BodyReader(max_body)
        self._progress: _Progress | None = None
        self.consumed_head = b""

    def receive_data(self, data: bytes) -> None:
        """Append bytes read from the peer."""
        self.buf += data

    # -- heads ---------------------------------------------------------------------------------

    def next_request(self) -> Request | None:
        """Parse one request head; ``None`` until a whole head is in.

        Raises:
            ProtocolError: nginx would refuse it; ``status`` says how.
        """
        buf = self.buf
        self.consumed_head = b""
        if not buf:
            return None
        progress = self._progress
        if progress is None:
            # The usual request: a whole, plain head inside the current buffer.
            m = _FAST_HEAD.match(buf)
            if m is not None and m.end() <= self._bend:
                fast = self._fast(m)
                if fast is not None:
                    return fast
        if progress is None:
            progress = self._request_line()
            if progress is None:
                return None
            if progress.line.major == 0:
                # HTTP/0.9: no headers, no body.
                req = make_request(progress.line, [], 0, progress.line.end, strict=self.strict)
                self._consume(progress.line.end, progress.bend, progress.nbusy)
                return req
            self._progress = progress
        return self._header_lines(progress)

    def _fast(self, m: re.Match[bytes]) -> Request | None:
        buf = self.buf
        end = m.end()
        head = bytes(buf[:end])
        known = _HEADS.get(head)
        if known is not None:
            self.consumed_head = head
            self._consume(end, self._bend, self._nbusy)
            return known.copy()
        line = Line(
            method=bytes(m.group(1)),
            target=bytes(m.group(2)),
            major=1,
            minor=int(m.group(3)),
            version=b"HTTP/1." + m.group(3),
            end=m.start(4),
        )
        line.raw_target = line.target
        path = normalize_path(line.target)
        if path is None:
            return None  # the slow path gives this error exactly as nginx does
        line.path = path
        headers: list[tuple[bytes, bytes]] = []
        for raw in bytes(m.group(4)).split(b"\r\n")[:-1]:
            name, _, value = raw.partition(b":")
            headers.append((name, value.strip(b" ")))
        self.consumed_head = head
        try:
            req = make_request(line, headers, 0, end, strict=self.strict)
        except ProtocolError:
            del self.buf[:end]
            raise
        self._consume(end, self._bend, self._nbusy)
        # The cache is shared by every persona: only heads all of them read alike go in (1.18
        # and 1.22 differ only on heads with Transfer-Encoding, which strict ones refuse).
        cacheable = self.strict or not req.chunked
        if cacheable and end <= _HEAD_MAX_BYTES and len(req.headers) <= _HEAD_MAX_HEADERS:
            if len(_HEADS) >= _HEADS_MAX:
                _HEADS.clear()
            _HEADS[head] = req.copy()
        return req

    def _request_line(self) -> _Progress | None:
        buf = self.buf
        # Leading CR/LF before a request line are skipped (ngx sw_start); a buffer holding only
        # those starts over (ngx_http_alloc_large_header_buffer, "fills up the buffer with CRLF").
        s0 = 0
        n = len(buf)
        while s0 < n and buf[s0] in (CR, LF):
            s0 += 1
        bend = self._bend
        while s0 >= bend:
            bend += HEADER_BUFFER
        if s0 == n:
            return None
        nbusy = self._nbusy
        lf = buf.find(b"\n", s0)
        line: Line | None = None
        if lf >= 0:
            m = FAST_LINE.fullmatch(buf, s0, lf + 1)
            if m is not None:
                line = Line(
                    method=bytes(m.group(1)),
                    target=bytes(m.group(2)),
                    major=1,
                    minor=int(m.group(3)),
                    version=bytes(buf[m.start(3) - 7 : m.end(3)]),
                    end=lf + 1,
                )
                line.raw_target = line.target
                result, pos = LINE_OK, lf
        elif PARTIAL_LINE.fullmatch(buf, s0, n):
            line, result, pos = Line(), LINE_AGAIN, n
        if line is None:
            result, pos, line = scan_request_line(buf, s0, n if lf < 0 else lf + 1)
        # Each time parsing reaches the end of the current buffer, nginx moves the partial
        # request line into a new 8 KiB buffer, or gives up with 414.
        trigger = n if result == LINE_AGAIN else pos
        head = buf.startswith(b"HEAD ", s0)
        while bend <= trigger:
            if bend - s0 >= LARGE_BUFFER or nbusy >= LARGE_BUFFERS:
                raise marked(ProtocolError(414, "client sent too long URI"), head=head)
            nbusy += 1
            bend = s0 + LARGE_BUFFER
        if result == LINE_AGAIN:
            return None
        if result == LINE_BAD:
            raise marked(ProtocolError(400, "client sent invalid request"), head=head)
        if result == LINE_VERSION:
            raise marked(ProtocolError(505, "client sent invalid HTTP version"), head=head)
        if result == LINE_BAD_09:
            raise ProtocolError(400, "client sent invalid method in HTTP/0.9 request", http09=True)
        # ngx_http_process_request_uri and the request line's host are checked before any header
        # is read: a bad one is answered at once.
        path = normalize_path(line.target)
        if path is None:
            raise marked(
                ProtocolError(400, "client sent invalid request", http09=line.major == 0),
                head=head,
            )
        line.path = path
        if line.host and valid_host(line.host) is None:
            raise marked(ProtocolError(400, "client sent invalid host in request line"), head=head)
        return _Progress(line, line.end, bend, nbusy)

    def _header_lines(self, progress: _Progress) -> Request | None:
        buf = self.buf
        n = len(buf)
        p, bend, nbusy = progress.p, progress.bend, progress.nbusy
        headers = progress.headers
        while True:
            lf = buf.find(b"\n", p)
            if lf >= 0:
                m = FAST_HEADER.fullmatch(buf, p, lf + 1)
                if m is not None:
                    hresult, pos, name, value, invalid = HDR_OK, lf, m.group(1), m.group(2), False
                else:
                    hresult, pos, name, value, invalid = scan_header_line(buf, p, lf + 1)
            elif p == n or PARTIAL_HEADER.fullmatch(buf, p, n):
                hresult, pos, name, value, invalid = HDR_AGAIN, n, b"", b"", False
            else:
                hresult, pos, name, value, invalid = scan_header_line(buf, p, n)
            trigger = n if hresult == HDR_AGAIN else pos
            while bend <= trigger:
                # At a line boundary nginx just switches buffers; inside a line it copies the
                # partial line, which must fit in 8 KiB.
                if (bend != p and bend - p >= LARGE_BUFFER) or nbusy >= LARGE_BUFFERS:
                    self._progress = None
                    raise marked_by(
                        ProtocolError(494, "client sent too long header line"),
                        progress.line.method,
                        progress.headers,
                    )
                nbusy += 1
                bend = p + LARGE_BUFFER
            if hresult == HDR_AGAIN:
                progress.p, progress.bend, progress.nbusy = p, bend, nbusy
                return None
            if hresult == HDR_BAD:
                self._progress = None
                raise marked_by(
                    ProtocolError(400, "client sent invalid header line"),
                    progress.line.method,
                    progress.headers,
                )
            if hresult == HDR_DONE:
                p = pos + 1
                break
            if invalid:
                progress.dropped += 1
            else:
                headers.append((bytes(name), bytes(value)))
            p = pos + 1
        self._progress = None
        self.consumed_head = bytes(buf[:p])
        try:
            req = make_request(progress.line, headers, progress.dropped, p, strict=self.strict)
        except ProtocolError:
            del self.buf[:p]
            raise
        self._consume(p, bend, nbusy)
        return req

    def _consume(self, end: int, bend: int, nbusy: int) -> None:
        del self.buf[:end]
        # A pipelined request continues in the buffer the previous one ended in
        # (ngx_http_set_keepalive); otherwise the next request starts in a fresh 1 KiB buffer.
        if self.buf and bend - end > 0:
            self._bend = bend - end
            self._nbusy = 1 if nbusy else 0
        else:
            self._bend = HEADER_BUFFER
            self._nbusy = 0

    def reset_buffers(self) -> None:
        """After a body: the next request starts in a fresh buffer."""
        self._bend = HEADER_BUFFER
        self._nbusy = 0

    # -- bodies --------------------------------------------------------------------------------

    def start_body(self, req: Request) -> None:
        """Prepare to read the body of ``req`` (call before ``read_body``)."""
        self._body.start(req)

    def read_body(self, keep: int) -> tuple[bytes, int] | None:
        """Consume the body; return (first ``keep`` bytes, total size) or None for more data.

        Raises:
            ProtocolError: 413 over client_max_body_size, 400 for bad chunked framing.
        """
        return self._body.read(self.buf, keep)

    def body_sha256(self) -> str:
        """SHA-256 of the whole body read last, in hex."""
        return self._body.sha256()
