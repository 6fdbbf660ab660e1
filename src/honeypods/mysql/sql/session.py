"""What a statement may read or change about its connection: ``SqlSession``.

The persona's only state is this per-connection record (current database, autocommit, the open
transaction); every answering function takes it and returns a reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from honeypods.mysql.codec.constants import SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS
from honeypods.mysql.codec.packets import Ok, ResultSet
from honeypods.mysql.errors import Err
from honeypods.mysql.sql.schema import SCHEMAS, Schemas, visible_databases

Reply = Ok | Err | ResultSet


@dataclass
class SqlSession:
    """What a statement may read or change about its connection."""

    user: str
    host: str
    connection_id: int
    server_version: str
    variables: Mapping[str, str | int | bool]
    database: str | None = None
    autocommit: bool = True
    in_transaction: bool = False
    ssl_cipher: str = ""
    # time.monotonic() when the persona "started": Uptime agrees with COM_STATISTICS.
    started: float = 0.0
    # Seconds SLEEP() and BENCHMARK() asked for since the adapter last took them (take_sleep).
    sleep: float = 0.0
    # (schema, table) -> the rows this account sees there; every other table is empty.
    rows: Mapping[tuple[str, str], tuple[tuple[str | None, ...], ...]] = field(default_factory=dict)
    # The install's schemas, under its names (schema.named_schemas).
    schemas: Schemas = field(default_factory=lambda: SCHEMAS)
    # Statements the persona's build no longer parses (regexes; mysql/personas.py).
    removed_syntax: tuple[str, ...] = ()

    @cached_property
    def visible_databases(self) -> tuple[str, ...]:
        """What SHOW DATABASES lists."""
        return visible_databases(self.schemas)

    def uptime(self) -> int:
        return int(time.monotonic() - self.started) if self.started else 0

    def take_sleep(self) -> float:
        """The delay the last statements asked for, reset: the adapter holds the reply that long."""
        seconds, self.sleep = self.sleep, 0.0
        return seconds

    @property
    def status(self) -> int:
        status = SERVER_STATUS_AUTOCOMMIT if self.autocommit else 0
        if self.in_transaction:
            status |= SERVER_STATUS_IN_TRANS
        return status


# One statement verb's answer: (the text after the verb, the session, the whole statement).
Handler = Callable[[str, SqlSession, str], Reply]
