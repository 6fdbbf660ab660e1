"""The events of the MySQL decoy: ids, fields and their meaning (docs/events.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from honeypods.core.catalogue import BOOL, INT, NUM, OBJ, STR, EventSpec

EVENTS: Final[Mapping[str, EventSpec]] = {
    "mysql.login": EventSpec(
        "alert",
        "One login attempt and its outcome.",
        {
            "user.name": (STR, "User name (capped)."),
            "event.outcome": (STR, "`success` or `failure`."),
            "mysql.database": (STR, "Database named in the handshake."),
            "mysql.auth_plugin": (STR, "Plugin of the response that was checked."),
            "mysql.auth_response_hex": (STR, "Client scramble, for offline cracking."),
            "mysql.salt_hex": (STR, "Salt the scramble was made with."),
            "mysql.password": (STR, "Plaintext password, when the client sent one in the clear."),
            "mysql.client_flags": (INT, "Client capability flags."),
            "mysql.connect_attrs": (OBJ, "Connection attributes (`_client_name`, `_os`, ...)."),
            "mysql.error_code": (INT, "Error code sent on failure."),
            "tls.established": (BOOL, "Whether the login came over TLS (after an SSLRequest)."),
            "tls.version": (STR, "Negotiated TLS version."),
            "tls.cipher": (STR, "Negotiated cipher."),
        },
        required=("user.name", "event.outcome"),
    ),
    "mysql.command": EventSpec(
        "alert",
        "One command after login: a query, an init-db, a ping, ...",
        {
            "mysql.command": (STR, "Command name (`COM_QUERY`, ...)."),
            "mysql.query": (STR, "Query text or argument (capped)."),
            "mysql.query_truncated": (BOOL, "The text was cut."),
            "mysql.error_code": (INT, "Error code sent, if the answer was an error."),
            "mysql.rows": (INT, "Rows sent in the answer."),
            "mysql.sleep": (
                NUM,
                "Seconds SLEEP() or BENCHMARK() asked for; the reply was held that long, "
                "at most HONEYPODS_MYSQL_MAX_SLEEP.",
            ),
            "mysql.sleep_capped": (
                BOOL,
                "The delay asked for was cut to HONEYPODS_MYSQL_MAX_SLEEP.",
            ),
        },
        required=("mysql.command",),
    ),
}
