"""Packets on the wire: the 4-byte header, sequence ids, the size limit, zlib compression, and a
bounds-checked reader for the payloads.

Rules this module keeps:

* Reads are transactional: ``Framer.take()`` consumes nothing until a whole packet (continuations
  included) is buffered, so short input is ``None`` and the next call starts over, as wsproto's
  ``Buffer.consume_exactly()`` and ``rollback()`` do. Every loop consumes input or returns.
* A packet over ``max_packet_size`` is refused from its header alone, before its body arrives.
* ``Reader`` reads one complete payload; every read is bounds-checked (``find(b"\\0")`` for NUL
  strings, as PyMySQL's ``MysqlPacket`` does) and short input raises ``ProtocolError``, never
  ``IndexError`` or ``struct.error``.
* Sequence ids count packets in either direction within one exchange; each command starts a new
  exchange at 0, the login dialogue is one exchange.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Final

from honeypods.mysql.codec.constants import MAX_PAYLOAD, MIN_COMPRESS_LENGTH
from honeypods.mysql.errors import (
    ER_1153_PACKET_TOO_LARGE,
    ER_1156_PACKETS_OUT_OF_ORDER,
    ER_1157_UNCOMPRESS_ERROR,
    ProtocolError,
)

# A packet header: 3 bytes of length, then the sequence id, as one little-endian word.
_HEADER: Final = struct.Struct("<I")


class Reader:
    """Bounds-checked reads over one complete payload; short input raises ``ProtocolError``.

    The error is made only when raised: building an exception per packet cost a good share of
    parsing one.

    Args:
        data: the payload.
        error: makes the error to raise, the one a real server answers this packet with.
    """

    __slots__ = ("data", "error", "pos")

    def __init__(self, data: bytes, error: Callable[[], ProtocolError]) -> None:
        self.data = data
        self.pos = 0
        self.error = error

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise self.error()
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def read_int(self, n: int) -> int:
        return int.from_bytes(self.read(n), "little")

    def read_lenenc_int(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise self.error()
        first = self.data[pos]
        self.pos = pos + 1
        if first < 0xFB:
            return first
        if first == 0xFC:
            return self.read_int(2)
        if first == 0xFD:
            return self.read_int(3)
        if first == 0xFE:
            return self.read_int(8)
        raise self.error()  # 0xFB (NULL) and 0xFF are not lengths

    def read_lenenc_str(self) -> bytes:
        return self.read(self.read_lenenc_int())

    def read_null_str(self) -> bytes:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise self.error()
        out = self.data[self.pos : end]
        self.pos = end + 1
        return out

    def read_rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out


class Framer:
    """The packets of one connection, in and out.

    Args:
        max_packet_size: largest payload (continuations included) accepted from the peer.
    """

    __slots__ = ("buf", "compressed", "cseq", "eof", "max_packet_size", "raw", "seq")

    def __init__(self, max_packet_size: int) -> None:
        self.max_packet_size = max_packet_size
        self.buf = bytearray()
        self.eof = False
        self.seq = 0  # next sequence id, in either direction
        # Compression (CLIENT_COMPRESS): raw input waiting to be inflated, and its sequence id.
        self.compressed = False
        self.raw = bytearray()
        self.cseq = 0

    def receive(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` marks the end of input."""
        if data:
            if not self.eof:
                if self.compressed:
                    self.raw += data
                else:
                    self.buf += data
        else:
            self.eof = True

    def take_buffered(self) -> bytes:
        """Bytes received but not taken as packets."""
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def start_compression(self) -> None:
        """From now on both sides send compressed packets; what is buffered was compressed too."""
        self.compressed = True
        self.raw, self.buf = self.buf, bytearray()

    def take(self, new_exchange: bool) -> bytes | None:
        """One logical packet's payload (continuations joined), or None if it is not all here yet.

        Args:
            new_exchange: the packet starts an exchange (a command), so its sequence id is 0.

        Raises:
            ProtocolError: 1153 too large, 1156 out of order, 1157 bad compression.
        """
        if self.compressed:
            self._inflate(new_exchange)
        buf = self.buf
        seq = 0 if new_exchange else self.seq
        if len(buf) >= 4:
            # The usual case, a whole packet in one piece, without the general loop below.
            length = buf[0] | buf[1] << 8 | buf[2] << 16
            end = 4 + length
            if buf[3] == seq and length < MAX_PAYLOAD and length <= self.max_packet_size:
                if len(buf) < end:
                    return None
                payload = bytes(buf[4:end])
                del buf[:end]
                self.seq = (seq + 1) & 0xFF
                return payload
        pos = 0
        parts: list[bytes] = []
        total = 0
        while True:
            if len(buf) - pos < 4:
                return None
            length = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
            got_seq = buf[pos + 3]
            total += length
            if total > self.max_packet_size or got_seq != seq:
                # The error answers this packet, whatever happens to the rest of it.
                self.seq = (got_seq + 1) & 0xFF
            if total > self.max_packet_size:
                raise ProtocolError(ER_1153_PACKET_TOO_LARGE)
            if got_seq != seq:
                raise ProtocolError(ER_1156_PACKETS_OUT_OF_ORDER)
            if len(buf) - pos - 4 < length:
                return None
            parts.append(bytes(buf[pos + 4 : pos + 4 + length]))
            pos += 4 + length
            seq = (seq + 1) & 0xFF
            if length < MAX_PAYLOAD:
                break
        del buf[:pos]
        self.seq = seq
        return b"".join(parts)

    def _inflate(self, new_exchange: bool) -> None:
        """Move every complete compressed packet from ``raw`` into ``buf``, decompressed.

        ====== ======================== ===============================================
        offset field                    notes
        ====== ======================== ===============================================
        0      compressed length (3)
        3      compressed sequence (1)  counts compressed packets, reset per command
        4      uncompressed length (3)  0: the payload was sent as it is
        7      payload                  zlib data, or raw; holds ordinary packets
        ====== ======================== ===============================================
        """
        raw = self.raw
        while len(raw) >= 7:
            length = raw[0] | raw[1] << 8 | raw[2] << 16
            seq = raw[3]
            plain = raw[4] | raw[5] << 8 | raw[6] << 16
            if max(length, plain) + len(self.buf) > self.max_packet_size + 4:
                raise ProtocolError(ER_1153_PACKET_TOO_LARGE)
            expected = 0 if new_exchange and not self.buf else self.cseq
            if seq != expected:
                raise ProtocolError(ER_1156_PACKETS_OUT_OF_ORDER)
            if len(raw) < 7 + length:
                return
            body = bytes(raw[7 : 7 + length])
            del raw[: 7 + length]
            self.cseq = (seq + 1) & 0xFF
            if plain:
                inflater = zlib.decompressobj()
                try:
                    body = inflater.decompress(body, plain)
                except zlib.error:
                    body = b""
                if len(body) != plain or inflater.unconsumed_tail:
                    raise ProtocolError(ER_1157_UNCOMPRESS_ERROR)
            self.buf += body

    def write(self, payloads: list[bytes]) -> bytes:
        """The bytes that carry these payloads: framed, with sequence ids, compressed if on."""
        framed = (
            self._frame(payloads[0])
            if len(payloads) == 1
            else b"".join([self._frame(payload) for payload in payloads])
        )
        return self._deflate(framed) if self.compressed else framed

    def _frame(self, payload: bytes) -> bytes:
        seq = self.seq
        if len(payload) < MAX_PAYLOAD:
            self.seq = (seq + 1) & 0xFF
            return _HEADER.pack(len(payload) | seq << 24) + payload
        out = bytearray()
        while True:
            chunk = payload[:MAX_PAYLOAD]
            payload = payload[MAX_PAYLOAD:]
            out += len(chunk).to_bytes(3, "little") + bytes((self.seq,)) + chunk
            self.seq = (self.seq + 1) & 0xFF
            if len(chunk) < MAX_PAYLOAD:
                return bytes(out)

    def _deflate(self, data: bytes) -> bytes:
        out = bytearray()
        for i in range(0, max(len(data), 1), MAX_PAYLOAD):
            chunk = data[i : i + MAX_PAYLOAD]
            if len(chunk) < MIN_COMPRESS_LENGTH:
                body, plain = chunk, 0
            else:
                body, plain = zlib.compress(chunk), len(chunk)
            out += len(body).to_bytes(3, "little") + bytes((self.cseq,))
            out += plain.to_bytes(3, "little") + body
            self.cseq = (self.cseq + 1) & 0xFF
        return bytes(out)
