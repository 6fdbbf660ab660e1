"""Request bodies: Content-Length and chunked framing, as nginx reads and counts them.

Sans-IO: stdlib only, no asyncio, no honeypods.core. The body is read from the reader's buffer
in place: what belongs to the body is removed from it, whatever follows stays for the next head.

Rules this module keeps:

1. Only the first ``keep`` bytes are stored; the size and SHA-256 cover the whole body, so a large
   body costs no memory beyond ``keep``.
2. ``max_body`` is nginx's client_max_body_size: a chunked body that would pass it is refused
   with 413 as soon as a chunk size says so (a declared Content-Length is checked by the adapter
   before reading, as nginx does).
3. A chunk-size or trailer line longer than 4 KiB is refused with 400, so unframed junk cannot
   grow the buffer; every step consumes input or returns ``None`` for more data.
"""

from __future__ import annotations

import hashlib
from typing import Final

from honeypods.web.http.request import MAX_BODY, ProtocolError, Request

_CR: Final = 13
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
# Longest chunk-size or trailer line accepted before the body counts as junk.
_MAX_LINE: Final = 4096


class BodyReader:
    """One request body at a time, from a buffer shared with the head reader."""

    def __init__(self, max_body: int = MAX_BODY) -> None:
        self.max_body = max_body
        self._left = 0
        self._body = bytearray()
        self._size = 0
        self._sha = hashlib.sha256()  # replaced per request that has a body
        self._chunk_state = ""
        self._chunk_left = 0

    def start(self, req: Request) -> None:
        """Prepare to read the body of ``req``."""
        self._size = 0
        if req.chunked or req.content_length > 0:
            self._body = bytearray()
            self._sha = hashlib.sha256()
        if req.chunked:
            self._chunk_state = "size"
            self._left = -1
        else:
            self._chunk_state = ""
            self._left = max(req.content_length, 0)

    def read(self, buf: bytearray, keep: int) -> tuple[bytes, int] | None:
        """Consume body bytes from ``buf``; (first ``keep`` bytes, total size) or None for more.

        Raises:
            ProtocolError: 413 over client_max_body_size, 400 for bad chunked framing.
        """
        if not self._chunk_state:
            take = min(self._left, len(buf))
            if take:
                self._store(buf[:take], keep)
                del buf[:take]
                self._left -= take
            if self._left:
                return None
            if not self._size:
                return b"", 0
            return bytes(self._body), self._size
        while True:
            if self._chunk_state == "size":
                lf = buf.find(b"\n")
                if lf < 0:
                    if len(buf) > _MAX_LINE:
                        raise ProtocolError(400, "client sent invalid chunked body")
                    return None
                line = bytes(buf[:lf]).rstrip(b"\r")
                size_text = line.split(b";", 1)[0].strip()
                if not size_text or any(c not in _HEX for c in size_text) or len(size_text) > 15:
                    raise ProtocolError(400, "client sent invalid chunked body")
                size = int(size_text, 16)
                del buf[: lf + 1]
                if self._size + size > self.max_body:
                    raise ProtocolError(413, "client intended to send too large chunked body")
                if size == 0:
                    self._chunk_state = "trailer"
                else:
                    self._chunk_left = size
                    self._chunk_state = "data"
            elif self._chunk_state == "data":
                take = min(self._chunk_left, len(buf))
                if not take:
                    return None
                self._store(buf[:take], keep)
                del buf[:take]
                self._chunk_left -= take
                if self._chunk_left == 0:
                    self._chunk_state = "data_end"
            elif self._chunk_state == "data_end":
                if len(buf) < 2 and buf[:1] != b"\n":
                    return None
                if buf[:1] == b"\n":
                    del buf[:1]
                elif buf[:2] == b"\r\n":
                    del buf[:2]
                else:
                    raise ProtocolError(400, "client sent invalid chunked body")
                self._chunk_state = "size"
            else:  # trailer: lines until an empty one
                lf = buf.find(b"\n")
                if lf < 0:
                    if len(buf) > _MAX_LINE:
                        raise ProtocolError(400, "client sent invalid chunked body")
                    return None
                empty = lf == 0 or (lf == 1 and buf[0] == _CR)
                del buf[: lf + 1]
                if empty:
                    self._chunk_state = ""
                    self._left = 0
                    return bytes(self._body), self._size

    def _store(self, data: bytes | bytearray, keep: int) -> None:
        room = keep - len(self._body)
        if room > 0:
            self._body += data[:room]
        self._size += len(data)
        self._sha.update(data)

    def sha256(self) -> str:
        """SHA-256 of the whole body read last, in hex."""
        return self._sha.hexdigest()
