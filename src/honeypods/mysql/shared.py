"""What every connection of one MySQL decoy shares: settings, persona, names, accounts, keys, ids.

Built once at start from the settings and the install's seed (mysql/install.py): the persona and
the names are the seed's unless a setting pins them, so every replica and restart of one install
shows the same build, host name, schemas, certificates and RSA key. Connections read it, take
connection ids from it and make the TLS context on first use.
"""

from __future__ import annotations

import functools
import importlib.util
import secrets
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from honeypods.core import derivedkeys, honeytokens
from honeypods.core import tls as core_tls
from honeypods.mysql.config import MysqlConfig
from honeypods.mysql.install import naming_for, persona_for, weak_password
from honeypods.mysql.passwords import Accounts, RsaKeys
from honeypods.mysql.personas import Naming, Persona
from honeypods.mysql.sql import default_variables
from honeypods.mysql.sql.schema import Schemas, named_schemas
from honeypods.mysql.tls import TLS_LABEL, datadir_made, make_context

# What caching_sha2_password's RSA key is derived under.
RSA_KEY_LABEL: Final = "mysql.rsa_key"


def derive_keys(seed: str, tls: bool) -> None:
    """Find the primes of a seeded install's keys (``core.derivedkeys`` keeps them): the RSA key,
    and the TLS pair when TLS is offered. About a second of CPU; none without cryptography."""
    if not seed or importlib.util.find_spec("cryptography") is None:
        return
    derivedkeys.rsa_primes(seed, RSA_KEY_LABEL, core_tls.KEY_BITS)
    if tls:
        core_tls.prepare_keys(seed, TLS_LABEL, with_ca=True)


@dataclass
class Server:
    """Settings and process-wide state shared by every connection."""

    config: MysqlConfig
    persona: Persona
    # The version the greeting and VERSION() report: HONEYPODS_MYSQL_SERVER_VERSION or the persona's.
    version: str
    naming: Naming
    schemas: Schemas
    accounts: Accounts
    tokens: honeytokens.Honeytokens
    keys: RsaKeys
    variables: dict[str, str | int | bool]
    next_id: int
    started: float
    # The install's seed: the TLS pair and the RSA key derive from it.
    seed: str = ""
    # TLS, offered when configured and cryptography is installed; the context is made on first use.
    tls_offered: bool = False
    tls: ssl.SSLContext | None = None
    tls_tried: bool = False

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls_tried:
            self.tls_tried = True
            made = datadir_made(self.seed, self.persona.released)
            self.tls = make_context(self.version, made, self.seed)
        return self.tls

    @classmethod
    def from_config(cls, config: MysqlConfig, port: int, seed: str = "") -> Server:
        persona = persona_for(seed, config.persona)
        version = config.server_version or persona.version
        naming = naming_for(
            seed, hostname=config.hostname, databases=config.databases, tables=config.tables
        )
        tls = config.tls and importlib.util.find_spec("cryptography") is not None
        tokens = honeytokens.current()
        accept = list(config.accept)
        if tokens.live("db-login"):
            # The planted service account gets in, to a richer database (mysql.honeydata).
            accept.append(f"{tokens.mysql_user}:{tokens.mysql_password}")
        variables = default_variables(version, naming.hostname, port, tls=tls)
        variables.update(persona.variables)
        for name in persona.removed:
            variables.pop(name, None)
        return cls(
            tls_offered=tls,
            config=config,
            persona=persona,
            version=version,
            naming=naming,
            schemas=named_schemas(naming.databases, naming.tables),
            tokens=tokens,
            accounts=Accounts(accept, config.auth_plugin, functools.partial(weak_password, seed)),
            keys=RsaKeys(
                functools.partial(derivedkeys.rsa_key, seed, RSA_KEY_LABEL, core_tls.KEY_BITS)
                if seed
                else None
            ),
            seed=seed,
            variables=variables,
            # Ids continue from what a server up for a while would have handed out.
            next_id=8 + secrets.randbelow(4000),
            started=time.monotonic() - 86400 * (3 + secrets.randbelow(40)),
        )

    def named_rows(
        self, rows: Mapping[tuple[str, str], tuple[tuple[str | None, ...], ...]]
    ) -> dict[tuple[str, str], tuple[tuple[str | None, ...], ...]]:
        """Rows planted under the reference names (mysql.honeydata), under this install's names."""
        return {(self.naming.db(d), self.naming.table(t)): r for (d, t), r in rows.items()}

    def connection_id(self) -> int:
        self.next_id += 1
        return self.next_id
