"""The MySQL decoy: a MySQL 8 wire-protocol persona with weak logins and a fake schema."""

from honeypods.core.registry import Decoy
from honeypods.mysql.catalogue import EVENTS
from honeypods.mysql.config import MysqlConfig

DECOY = Decoy(
    name="mysql",
    title="MySQL wire-protocol stub",
    config=MysqlConfig,
    events=EVENTS,
    rules=("honeypod.vuln.svc", "honeypod.honeytoken.used"),
    limits={"idle_timeout": 120.0, "deadline": 900.0},
    proxy_protocol=True,
    seeded=True,
)
