"""The MySQL decoy: a MySQL 8 wire-protocol persona with weak logins and a fake schema."""

from __future__ import annotations

from honeypods.core.honeytokens import DATABASE
from honeypods.core.registry import Decoy
from honeypods.mysql.catalogue import EVENTS
from honeypods.mysql.config import MysqlConfig
from honeypods.mysql.install import api_key_table


def _database_plant(seed: str, config: MysqlConfig | None) -> str:
    """The table mysql.honeydata plants the API token in, for every process of the install.

    Names pinned by HONEYPODS_MYSQL_DATABASES/TABLES reach only the process running this decoy
    (``config`` is its settings there); other processes, the chart's other pods, know the seed's
    names only (docs/honeytokens.md).
    """
    if config is None:
        return api_key_table(seed)
    return api_key_table(seed, databases=config.databases, tables=config.tables)


DECOY = Decoy(
    name="mysql",
    title="MySQL wire-protocol stub",
    config=MysqlConfig,
    events=EVENTS,
    rules=("honeypod.vuln.svc", "honeypod.honeytoken.used"),
    limits={"idle_timeout": 120.0, "deadline": 900.0},
    proxy_protocol=True,
    seeded=True,
    plants={DATABASE: _database_plant},
)
