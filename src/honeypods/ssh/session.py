"""The session channel an accepted login gets: it records every request and runs nothing.

Rules this module keeps:

1. Nothing is ever executed, opened or forwarded. Every request is one ``ssh.request`` event
   (capped text); the answers are those of a shell that has no commands:
   ``sh: 1: NAME: not found`` and exit status 127 for exec, a ``$ `` prompt for a shell.
2. Input is bounded: a shell reads at most ``MAX_SHELL_LINES`` lines of ``MAX_LINE`` bytes, then
   the channel exits.
3. Only asyncssh's public ``SSHServerSession`` callbacks are used.
"""

from __future__ import annotations

from typing import Any, Final

import asyncssh

from honeypods.core import events
from honeypods.core.guard import Session

# Shell lines read per accepted session before the channel is closed, and bytes per line.
MAX_SHELL_LINES: Final = 200
MAX_LINE: Final = 4096


class RefusingSession(asyncssh.SSHServerSession[bytes]):
    """A session channel after an accepted login: records requests, runs nothing.

    It answers as a shell with no commands would: ``sh: 1: NAME: not found``, status 127.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.command: str | None = None
        self.shell = False
        self.pty = False
        self.line = b""
        self.lines = 0

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def _record(self, request: str, command: str | bytes | None = None) -> None:
        fields: dict[str, Any] = {"ssh.request": request}
        if command is not None:
            text, cut = events.clip(command)
            fields["ssh.command"] = text
            if cut:
                fields["ssh.command_truncated"] = True
        self.session.emit("ssh.request", fields)

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        self.pty = True
        self._record("pty-req", term_type)
        return True

    def shell_requested(self) -> bool:
        self.shell = True
        self._record("shell")
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        self._record("exec", command)
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        self._record("subsystem", subsystem)
        return False

    def session_started(self) -> None:
        chan = self.chan
        if chan is None:
            return
        if self.command is not None:
            chan.write_stderr(_not_found(self.command.encode("utf-8", "surrogateescape")))
            chan.exit(127)
        elif self.shell:
            chan.write(b"$ ")

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        chan = self.chan
        if chan is None or not self.shell:
            return
        if self.pty:
            chan.write(data.replace(b"\r", b"\r\n"))
        self.line += data
        while True:
            cut = min(
                (i for i in (self.line.find(b"\n"), self.line.find(b"\r")) if i >= 0), default=-1
            )
            if cut < 0:
                if len(self.line) > MAX_LINE:
                    cut = MAX_LINE
                else:
                    return
            line, self.line = self.line[:cut].strip(), self.line[cut + 1 :]
            if not line:
                chan.write(b"$ ")
                continue
            self.lines += 1
            self._record("input", line)
            if line == b"exit" or self.lines >= MAX_SHELL_LINES:
                chan.exit(0)
                return
            chan.write(_not_found(line).replace(b"\n", b"\r\n" if self.pty else b"\n") + b"$ ")

    def eof_received(self) -> bool:
        if self.chan is not None:
            self.chan.exit(0)
        return False


def _not_found(command: bytes) -> bytes:
    words = command.split()
    name = words[0][:256] if words else b""
    return b"sh: 1: " + name + b": not found\n"
