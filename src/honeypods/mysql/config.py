"""Settings of the MySQL decoy: ``HONEYPODS_MYSQL_*``, their defaults and their validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from honeypods.core.settings import ConfigError
from honeypods.mysql.personas import PERSONAS, TABLES

# A database, table or host name the decoy accepts: what needs no quoting in MySQL, 64 at most.
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_HOST: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")


@dataclass(frozen=True)
class MysqlConfig:
    """MySQL wire-protocol stub."""

    # Port to listen on.
    port: int = 3306
    # The MySQL build the decoy is: mysql-8.0.36, mysql-8.0.40 or mysql-8.4.3 (greeting, system
    # variables, statements it parses; docs/personas.md). Empty: drawn from HONEYPODS_PERSONA_SEED.
    persona: str = ""
    # Version the greeting and SELECT VERSION() report. Empty: the persona's.
    server_version: str = ""
    # The server's @@hostname (12 hex digits, like a container's). Empty: drawn from the seed.
    hostname: str = ""
    # The application's two databases, comma-separated: the application's (app_prod) and the
    # billing one (billing). Empty: drawn from the seed (`<product>_prod` and a billing name).
    databases: tuple[str, ...] = ()
    # The six tables' names, comma-separated, in this order: users, customers, api_keys, sessions,
    # payment_methods, invoices. Empty: drawn from the seed.
    tables: tuple[str, ...] = ()
    # Accounts let in, comma-separated. `user` gets one weak password, drawn from
    # HONEYPODS_PERSONA_SEED and the user name among: (empty), root, 123456, password, mysql,
    # toor, admin, 12345678, qwerty, changeme, root123, P@ssw0rd. `user:password` pins it
    # (`root:` is an empty one). An account has one password, two at most (RETAIN CURRENT PASSWORD).
    accept: tuple[str, ...] = ("root", "admin")
    # Plugin the accounts use: caching_sha2_password (MySQL 8's default) or mysql_native_password
    # (on the 8.4 persona, as with --mysql-native-password=ON). Clients that answer the greeting
    # with the other plugin are switched to this one.
    auth_plugin: str = "caching_sha2_password"
    # Largest packet accepted from a client before the connection is refused.
    max_packet_size: int = 1 << 20
    # Offer TLS like MySQL 8.0 does by default, with its style of auto-generated certificate.
    tls: bool = True
    # Seconds a client has to log in before the server hangs up silently (MySQL's connect_timeout).
    connect_timeout: float = 10.0
    # Longest a reply is held for SLEEP() or BENCHMARK() in one command, in seconds; a real server
    # sleeps as asked, this bounds how long a time-based probe can hold a connection.
    max_sleep: float = 30.0

    def listens(self) -> list[tuple[str, int]]:
        """(setting, port) for every port it binds."""
        return [("HONEYPODS_MYSQL_PORT", self.port)]

    def check(self) -> None:
        """Raises:
        ConfigError: a value is out of range or malformed."""
        users = [cred.partition(":")[0] for cred in self.accept]
        for user in users:
            if not user:
                raise ConfigError("HONEYPODS_MYSQL_ACCEPT: an entry without a user name")
            if users.count(user) > 2:
                raise ConfigError(
                    f"HONEYPODS_MYSQL_ACCEPT: {user!r} has {users.count(user)} passwords; "
                    "a MySQL account has one (two with RETAIN CURRENT PASSWORD)"
                )
        if self.auth_plugin not in ("caching_sha2_password", "mysql_native_password"):
            raise ConfigError(
                "HONEYPODS_MYSQL_AUTH_PLUGIN: caching_sha2_password or mysql_native_password"
            )
        if self.persona and self.persona not in PERSONAS:
            raise ConfigError("HONEYPODS_MYSQL_PERSONA: one of " + ", ".join(PERSONAS))
        if self.databases and not _names(self.databases, 2):
            raise ConfigError(
                "HONEYPODS_MYSQL_DATABASES: two different names, like app_prod,billing"
            )
        if self.tables and not _names(self.tables, len(TABLES)):
            raise ConfigError(
                f"HONEYPODS_MYSQL_TABLES: {len(TABLES)} different names, for " + ",".join(TABLES)
            )
        if self.hostname and not _HOST.fullmatch(self.hostname):
            raise ConfigError("HONEYPODS_MYSQL_HOSTNAME: letters, digits, '-' and '.', 63 at most")
        if self.connect_timeout <= 0:
            raise ConfigError("HONEYPODS_MYSQL_CONNECT_TIMEOUT must be positive")
        if not 0 <= self.max_sleep <= 3600:
            raise ConfigError("HONEYPODS_MYSQL_MAX_SLEEP: 0 to 3600 seconds")
        if not 1024 <= self.max_packet_size <= 1 << 30:
            raise ConfigError("HONEYPODS_MYSQL_MAX_PACKET_SIZE: 1024 to 1073741824 bytes")


def _names(names: tuple[str, ...], count: int) -> bool:
    return len(set(names)) == len(names) == count and all(map(_NAME.fullmatch, names))
