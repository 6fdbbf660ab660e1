"""What every connection of one MySQL decoy shares: settings, accounts, keys, the variables, ids.

Built once at start; connections read it, take connection ids from it and make the TLS context on
first use.
"""

from __future__ import annotations

import importlib.util
import secrets
import ssl
import time
from dataclasses import dataclass

from honeypods.core import honeytokens
from honeypods.mysql.config import MysqlConfig
from honeypods.mysql.passwords import Accounts, RsaKeys
from honeypods.mysql.sql import default_variables
from honeypods.mysql.tls import make_context


@dataclass
class Server:
    """Settings and process-wide state shared by every connection."""

    config: MysqlConfig
    accounts: Accounts
    tokens: honeytokens.Honeytokens
    keys: RsaKeys
    variables: dict[str, str | int | bool]
    next_id: int
    started: float
    # TLS, offered when configured and cryptography is installed; the context is made on first use.
    tls_offered: bool = False
    tls: ssl.SSLContext | None = None
    tls_tried: bool = False

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls_tried:
            self.tls_tried = True
            self.tls = make_context(self.config.server_version)
        return self.tls

    @classmethod
    def from_config(cls, config: MysqlConfig, port: int, seed: str = "") -> Server:
        # A container's hostname is its short id; a fresh one per process, like a new container.
        hostname = secrets.token_hex(6)
        tls = config.tls and importlib.util.find_spec("cryptography") is not None
        tokens = honeytokens.current()
        accept = list(config.accept)
        if tokens.live("db-login"):
            # The planted service account gets in, to a richer database (mysql.honeydata).
            accept.append(f"{tokens.mysql_user}:{tokens.mysql_password}")
        return cls(
            tls_offered=tls,
            config=config,
            tokens=tokens,
            accounts=Accounts(accept, config.auth_plugin, seed),
            keys=RsaKeys(),
            variables=default_variables(config.server_version, hostname, port, tls=tls),
            # Ids continue from what a server up for a while would have handed out.
            next_id=8 + secrets.randbelow(4000),
            started=time.monotonic() - 86400 * (3 + secrets.randbelow(40)),
        )

    def connection_id(self) -> int:
        self.next_id += 1
        return self.next_id
