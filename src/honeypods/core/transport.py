"""What a decoy's protocol sees as its transport: the socket's, with bytes out counted and capped,
and closing routed through the session so the guard records why."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from honeypods.core import asyncio_shim

if TYPE_CHECKING:
    from honeypods.core.guard import GuardProtocol


class GuardTransport(asyncio_shim.TlsCompatibleTransport):
    """What the inner protocol sees: the real transport, with bytes out counted and capped."""

    def __init__(self, proto: GuardProtocol, transport: asyncio.Transport) -> None:
        super().__init__()
        self._proto = proto
        self._transport = transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        session = self._proto.session
        if session is None or session.closed:
            return
        session.bytes_out += len(data)
        if session.bytes_out > self._proto.guard.limits.max_bytes_out:
            session.abort("limit")
            return
        self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "honeypods.session":
            return self._proto.session
        if name == "peername":
            session = self._proto.session
            if session is not None and session.proxy is not None:
                return session.peer  # a library logging its peer names the client, not the proxy
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._proto.inner = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        # None once the connection is lost, as asyncio's own transports answer.
        return self._proto.inner  # type: ignore[return-value]

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        session = self._proto.session
        if session is not None:
            session.close(session.reason or "eof")
        else:
            self._transport.close()

    def abort(self) -> None:
        session = self._proto.session
        if session is not None:
            session.abort(session.reason or "eof")
        else:
            self._transport.abort()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self._transport.write_eof()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


def feed(proto: asyncio.BufferedProtocol, data: bytes) -> None:
    """Hand ``data`` to a buffered protocol as its transport would, in as many buffers as it offers."""
    view = memoryview(data)
    while view:
        buf = memoryview(proto.get_buffer(len(view)))
        n = min(len(buf), len(view))
        if n == 0:
            raise RuntimeError("buffered protocol offered an empty buffer")
        buf[:n] = view[:n]
        proto.buffer_updated(n)
        view = view[n:]
