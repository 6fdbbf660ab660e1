"""Newline-delimited frames of a watch stream, with a bound on how long one may grow.

Rules this module keeps:

* Sans-IO: bytes in, complete lines out, without their ``\\n``; empty lines are skipped and the
  unfinished tail waits for the next chunk. How the stream is cut into chunks never changes the
  lines.
* No line, finished or pending, may pass ``max_line`` bytes: past it ``LineTooLong`` is raised
  (and the pending tail dropped), so a stream that never sends a newline cannot grow memory
  without end. The caller then drops the stream.
* Each byte is searched once and copied once into its line, however large the chunks: the
  pending tail is never scanned again.
"""

from __future__ import annotations


class LineTooLong(Exception):
    """A line grew past the splitter's ``max_line``."""


class LineSplitter:
    """Split a byte stream into lines of at most ``max_line`` bytes."""

    def __init__(self, max_line: int) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self.max_line = max_line
        self._tail = bytearray()  # holds no newline: it was searched when it arrived

    @property
    def pending(self) -> int:
        """Bytes of the unfinished line waiting for its newline."""
        return len(self._tail)

    def feed(self, data: bytes) -> list[bytes]:
        """The lines ``data`` completes, in order.

        Raises:
            LineTooLong: a line is longer than ``max_line``.
        """
        lines: list[bytes] = []
        end = data.find(b"\n")
        if end < 0:
            self._tail += data
            self._check(len(self._tail))
            return lines
        if self._tail:
            self._check(len(self._tail) + end)
            self._tail += data[:end]
            first = bytes(self._tail)
            self._tail.clear()
        else:
            self._check(end)
            first = data[:end]
        if first:
            lines.append(first)
        begin = end + 1
        while (end := data.find(b"\n", begin)) >= 0:
            if end > begin:
                self._check(end - begin)
                lines.append(data[begin:end])
            begin = end + 1
        self._check(len(data) - begin)
        self._tail += data[begin:]
        return lines

    def _check(self, size: int) -> None:
        if size > self.max_line:
            self._tail.clear()
            raise LineTooLong(f"a line of more than {self.max_line} bytes")
