"""The persona's system variables: their values, ``SET`` and ``@@name``.

The values are a MySQL 8.0 application primary's (writable, binary log on, a data directory
under ``/var/lib/mysql``); a session may set the ones clients set on connect, and anything global is
refused with the privilege a real server names.
"""

from __future__ import annotations

import re
from typing import Final

from honeypods.mysql.codec.packets import Ok
from honeypods.mysql.errors import Err, er_1064_parse, er_1193_unknown_variable, er_1227_privilege
from honeypods.mysql.sql.session import SqlSession
from honeypods.mysql.sql.text import split_top

VERSION_COMMENT: Final = "MySQL Community Server - GPL"


def default_variables(
    server_version: str, hostname: str, port: int, *, tls: bool = False
) -> dict[str, str | int | bool]:
    """System variables of the persona, as ``SHOW VARIABLES`` and ``@@name`` see them."""
    return {
        "auto_increment_increment": 1,
        "auto_increment_offset": 1,
        "autocommit": True,
        "basedir": "/usr/",
        "character_set_client": "utf8mb4",
        "character_set_connection": "utf8mb4",
        "character_set_database": "utf8mb4",
        "character_set_filesystem": "binary",
        "character_set_results": "utf8mb4",
        "character_set_server": "utf8mb4",
        "character_set_system": "utf8mb3",
        "collation_connection": "utf8mb4_0900_ai_ci",
        "collation_database": "utf8mb4_0900_ai_ci",
        "collation_server": "utf8mb4_0900_ai_ci",
        "datadir": "/var/lib/mysql/",
        "default_authentication_plugin": "caching_sha2_password",
        "default_storage_engine": "InnoDB",
        "authentication_policy": "*,,",
        # Attackers turn the general log on to write files: it exists, and SET GLOBAL is refused.
        "general_log": False,
        "general_log_file": f"/var/lib/mysql/{hostname}.log",
        "have_ssl": "YES" if tls else "DISABLED",
        "ssl_ca": "ca.pem" if tls else "",
        "ssl_cert": "server-cert.pem" if tls else "",
        "ssl_key": "server-key.pem" if tls else "",
        "tls_version": "TLSv1.2,TLSv1.3",
        "gtid_mode": "OFF",
        "enforce_gtid_consistency": "OFF",
        "hostname": hostname,
        "init_connect": "",
        "innodb_version": server_version,
        "interactive_timeout": 28800,
        "license": "GPL",
        "log_bin": True,
        "lower_case_table_names": 0,
        "max_allowed_packet": 67108864,
        "max_connections": 151,
        "net_buffer_length": 16384,
        "net_write_timeout": 60,
        "performance_schema": True,
        "plugin_dir": "/usr/lib64/mysql/plugin/",
        "port": port,
        "protocol_version": 10,
        "read_only": False,
        "secure_file_priv": "/var/lib/mysql-files/",
        "server_id": 2,
        "skip_name_resolve": True,
        "slow_query_log": False,
        "slow_query_log_file": f"/var/lib/mysql/{hostname}-slow.log",
        "socket": "/var/run/mysqld/mysqld.sock",
        "sql_mode": "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
        "super_read_only": False,
        "system_time_zone": "UTC",
        "time_zone": "SYSTEM",
        "transaction_isolation": "REPEATABLE-READ",
        "transaction_read_only": False,
        "version": server_version,
        "version_comment": VERSION_COMMENT,
        "version_compile_machine": "x86_64",
        "version_compile_os": "Linux",
        "wait_timeout": 28800,
    }


_SET_ITEM = re.compile(
    r"(?:(global|session|local|persist)\s+|@@(global|session|local|persist)\.|@@)?"
    r"([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*(.+)",
    re.I | re.S,
)


# Session variables clients set on connect that SHOW VARIABLES does not list.
SETTABLE: Final = frozenset(
    (
        "sql_mode",
        "sql_select_limit",
        "sql_safe_updates",
        "unique_checks",
        "foreign_key_checks",
        "sql_log_bin",
        "sql_quote_show_create",
        "names",
        "session_track_schema",
        "session_track_state_change",
        "session_track_system_variables",
        "transaction_isolation",
        "tx_isolation",
        "group_concat_max_len",
        "net_read_timeout",
        "sql_auto_is_null",
        "sql_notes",
        "max_execution_time",
        "profiling",
        "optimizer_switch",
        "information_schema_stats_expiry",
        "sql_big_selects",
        "character_set_results",
    )
)


def set_statement(rest: str, s: SqlSession, _text: str) -> Ok | Err:
    """SET: session variables are taken (only autocommit matters), global ones are refused."""
    low = rest.lower()
    if re.match(r"(names|character\s+set|charset|transaction|password|role|default\s+role)\b", low):
        return Ok()
    if re.match(r"(session|local)\s+transaction\b", low):
        return Ok()
    if re.match(r"global\s+transaction\b", low):
        return er_1227_privilege("SUPER or SYSTEM_VARIABLES_ADMIN")
    for item in split_top(rest):
        if item.startswith("@") and not item.startswith("@@"):
            continue  # user variable
        m = _SET_ITEM.match(item)
        if not m:
            return er_1064_parse(item)
        scope = (m.group(1) or m.group(2) or "").lower()
        name = m.group(3).lower()
        if name not in s.variables and name not in SETTABLE:
            return er_1193_unknown_variable(name)
        if scope in ("global", "persist"):
            return er_1227_privilege("SUPER or SYSTEM_VARIABLES_ADMIN")
        if name == "autocommit":
            value = m.group(4).strip().strip("'\"").lower()
            s.autocommit = value in ("1", "on", "true")
    return Ok()


def show_value(value: str | int | bool) -> str:
    """A value as SHOW VARIABLES prints it."""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)


def session_variables(s: SqlSession) -> dict[str, str | int | bool]:
    """The variables as this session sees them."""
    out = dict(s.variables)
    out["autocommit"] = s.autocommit
    return out
