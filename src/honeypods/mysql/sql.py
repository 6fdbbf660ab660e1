"""What the MySQL decoy answers after login: a persona of an empty database with easy access.

The persona is a MySQL 8.0 replica whose account can read a few application schemas and nothing
else: ``SHOW GRANTS`` says so, so every refusal (1142, 1044, 1227) is consistent with it. The
schemas look worth stealing (users, payments, API keys) and every table is empty.

There is no SQL engine here: a handful of statement shapes are recognised by pattern, the ones
clients send on connect and the ones attackers send to look around; anything else gets the error
MySQL would give (1064 syntax, 1146 no such table, 1142 command denied). Pure functions: the
adapter passes a ``SqlSession`` and gets a reply; the only state kept is the session's own
(current database, autocommit, transaction).
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from honeypods.mysql.codec import (
    Column,
    Err,
    FieldFlag,
    FieldType,
    Ok,
    ResultSet,
    Status,
    lenenc_str,
)

VERSION_COMMENT: Final = "MySQL Community Server - GPL"
_AUTOCOMMIT: Final = int(Status.SERVER_STATUS_AUTOCOMMIT)
_IN_TRANS: Final = int(Status.SERVER_STATUS_IN_TRANS)

# (column, type as SHOW COLUMNS prints it, key, extra); every table is empty.
SCHEMAS: Final[Mapping[str, Mapping[str, Sequence[tuple[str, str, str, str]]]]] = {
    "app_prod": {
        "users": [
            ("id", "bigint unsigned", "PRI", "auto_increment"),
            ("email", "varchar(255)", "UNI", ""),
            ("password_hash", "varchar(255)", "", ""),
            ("role", "varchar(32)", "", ""),
            ("mfa_secret", "varchar(64)", "", ""),
            ("created_at", "datetime", "", ""),
        ],
        "customers": [
            ("id", "bigint unsigned", "PRI", "auto_increment"),
            ("name", "varchar(255)", "", ""),
            ("email", "varchar(255)", "MUL", ""),
            ("phone", "varchar(32)", "", ""),
            ("address", "text", "", ""),
            ("created_at", "datetime", "", ""),
        ],
        "api_keys": [
            ("id", "bigint unsigned", "PRI", "auto_increment"),
            ("user_id", "bigint unsigned", "MUL", ""),
            ("name", "varchar(64)", "", ""),
            ("secret", "varchar(128)", "", ""),
            ("last_used_at", "datetime", "", ""),
        ],
        "sessions": [
            ("id", "char(64)", "PRI", ""),
            ("user_id", "bigint unsigned", "MUL", ""),
            ("ip", "varchar(45)", "", ""),
            ("expires_at", "datetime", "", ""),
        ],
    },
    "billing": {
        "payment_methods": [
            ("id", "bigint unsigned", "PRI", "auto_increment"),
            ("customer_id", "bigint unsigned", "MUL", ""),
            ("card_holder", "varchar(255)", "", ""),
            ("card_number", "varchar(32)", "", ""),
            ("card_expiry", "char(5)", "", ""),
            ("created_at", "datetime", "", ""),
        ],
        "invoices": [
            ("id", "bigint unsigned", "PRI", "auto_increment"),
            ("customer_id", "bigint unsigned", "MUL", ""),
            ("amount_cents", "bigint", "", ""),
            ("currency", "char(3)", "", ""),
            ("status", "varchar(16)", "", ""),
            ("issued_at", "datetime", "", ""),
        ],
    },
}
# What SHOW DATABASES lists for an account with grants on SCHEMAS only.
VISIBLE_DATABASES: Final = ("app_prod", "billing", "information_schema", "performance_schema")
SYSTEM_DATABASES: Final = ("mysql", "sys", "performance_schema")

_INT: Final = FieldType.MYSQL_TYPE_LONGLONG
_NUMERIC_FLAGS: Final = FieldFlag.NOT_NULL_FLAG | FieldFlag.BINARY_FLAG | FieldFlag.NUM_FLAG


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

    def uptime(self) -> int:
        return int(time.monotonic() - self.started) if self.started else 0

    @property
    def status(self) -> int:
        status = _AUTOCOMMIT if self.autocommit else 0
        if self.in_transaction:
            status |= _IN_TRANS
        return status


Handler = Callable[[str, SqlSession, str], Reply]


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
        # Attackers turn the general log on to write files: it exists, and SET GLOBAL is refused.
        "general_log": False,
        "general_log_file": f"/var/lib/mysql/{hostname}.log",
        "have_ssl": "YES" if tls else "DISABLED",
        "ssl_ca": "ca.pem" if tls else "",
        "ssl_cert": "server-cert.pem" if tls else "",
        "ssl_key": "server-key.pem" if tls else "",
        "tls_version": "TLSv1.2,TLSv1.3",
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
        "read_only": True,
        "secure_file_priv": "/var/lib/mysql-files/",
        "server_id": 2,
        "skip_name_resolve": True,
        "slow_query_log": False,
        "slow_query_log_file": f"/var/lib/mysql/{hostname}-slow.log",
        "socket": "/var/run/mysqld/mysqld.sock",
        "sql_mode": "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
        "super_read_only": True,
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


# -- errors, named after their codes; names cut where MySQL's format strings cut them --------


def er_1044_db_access_denied(s: SqlSession, db: str) -> Err:
    return Err(
        1044, "42000", f"Access denied for user '{s.user[:48]}'@'%' to database '{db[:192]}'"
    )


def er_1046_no_db() -> Err:
    return Err(1046, "3D000", "No database selected")


def er_1049_bad_db(db: str) -> Err:
    return Err(1049, "42000", f"Unknown database '{db[:192]}'")


def er_1054_bad_field(name: str) -> Err:
    return Err(1054, "42S22", f"Unknown column '{name[:192]}' in 'field list'")


def er_1064_parse(near: str) -> Err:
    return Err(
        1064,
        "42000",
        "You have an error in your SQL syntax; check the manual that corresponds to your MySQL "
        f"server version for the right syntax to use near '{near[:80]}' at line 1",
    )


ER_1065_EMPTY_QUERY: Final = Err(1065, "42000", "Query was empty")


def er_1142_table_denied(s: SqlSession, verb: str, table: str) -> Err:
    return Err(
        1142,
        "42000",
        f"{verb} command denied to user '{s.user[:48]}'@'{s.host[:64]}' for table '{table[:64]}'",
    )


def er_1146_no_table(db: str, table: str) -> Err:
    return Err(1146, "42S02", f"Table '{db[:64]}.{table[:64]}' doesn't exist")


def er_1193_unknown_variable(name: str) -> Err:
    return Err(1193, "HY000", f"Unknown system variable '{name[:64]}'")


def er_1227_privilege(privileges: str) -> Err:
    return Err(
        1227,
        "42000",
        f"Access denied; you need (at least one of) the {privileges} privilege(s) for this "
        "operation",
    )


# -- helpers ---------------------------------------------------------------------------------------

# Characters of a statement the patterns look at; MySQL would read it all, a decoy need not.
MAX_ANALYSED: Final = 4096
_COMMENT = re.compile(r"/\*(?!!).*?\*/|(?:--\s|#)[^\n]*", re.S)
_VERB = re.compile(r"[A-Za-z_]+")
_NAME = r"`[^`]+`|[A-Za-z0-9_$]+"
_QUALIFIED = re.compile(rf"\s*({_NAME})(?:\s*\.\s*({_NAME}))?")


def _unquote(name: str) -> str:
    return name[1:-1] if name[:1] == "`" and name[-1:] == "`" and len(name) > 1 else name


def _text_column(name: str, width: int = 64, **kw: str) -> Column:
    return Column(name, length=width * 4, **kw)  # type: ignore[arg-type]


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    escape = False
    for ch in pattern:
        if escape:
            out.append(re.escape(ch))
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S | re.I)


_LIKE = re.compile(r"""\s+like\s+(['"])(.*?)\1\s*$""", re.I | re.S)


def _filter_like(rows: list[tuple[str, ...]], rest: str) -> list[tuple[str, ...]]:
    m = _LIKE.search(" " + rest)
    if not m:
        return rows
    pattern = _like(m.group(2))
    return [r for r in rows if pattern.fullmatch(r[0])]


def _unquoted(text: str, char: str) -> int:
    """Index of the first ``char`` outside quotes, or -1."""
    if char not in text:
        return -1
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == char:
            return i
    return -1


def split_statements(query: str) -> list[str]:
    """The statements of a multi-statement query, split at semicolons outside quotes."""
    out = []
    rest = query
    while True:
        i = _unquoted(rest, ";")
        if i < 0:
            break
        out.append(rest[:i])
        rest = rest[i + 1 :]
    out.append(rest)
    statements = [x for x in out if x.strip()]
    return statements or [query]


def _split_top(text: str) -> list[str]:
    """Split a select list on commas outside parentheses and quotes."""
    if "," not in text:
        return [text.strip()]
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _show_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)


def _variables(s: SqlSession) -> dict[str, str | int | bool]:
    out = dict(s.variables)
    out["autocommit"] = s.autocommit
    return out


# -- entry point -----------------------------------------------------------------------------------


def answer(query: str, s: SqlSession) -> Ok | Err | ResultSet:
    """The reply to one COM_QUERY."""
    # Whitespace runs collapse to one space and only the head of a long statement is read: the
    # patterns below then stay linear whatever the attacker sends (20,000 spaces took a minute).
    text = " ".join(_COMMENT.sub(" ", query[:MAX_ANALYSED]).split()).rstrip(";").strip()
    if not text:
        return ER_1065_EMPTY_QUERY
    semicolon = _unquoted(text, ";")
    if semicolon >= 0:
        # A second statement: only clients that enable multi-statements may send one.
        return er_1064_parse(text[semicolon + 1 :].strip())
    verb, _, rest = text.partition(" ")
    if not _VERB.fullmatch(verb):
        m = _VERB.match(verb)
        if m:
            verb, rest = m.group(0), text[m.end() :]
    handler = _HANDLERS.get(verb.lower())
    if handler is None:
        return er_1064_parse(text)
    return handler(rest.strip(), s, text)


def _ok(_rest: str, _s: SqlSession, _text: str) -> Ok:
    return Ok()


def _begin(_rest: str, s: SqlSession, _text: str) -> Ok:
    s.in_transaction = True
    return Ok()


def _end(_rest: str, s: SqlSession, _text: str) -> Ok:
    s.in_transaction = False
    return Ok()


def use_database(name: str, s: SqlSession) -> Ok | Err:
    """USE and COM_INIT_DB."""
    db = _unquote(name.strip())
    if db in SCHEMAS or db in ("information_schema", "performance_schema"):
        s.database = db
        # Session tracking: SESSION_TRACK_SCHEMA (1) with the new schema name.
        return Ok(session_state=b"\x01" + lenenc_str(lenenc_str(db.encode())))
    if db in SYSTEM_DATABASES:
        return er_1044_db_access_denied(s, db)
    return er_1049_bad_db(db)


def _use(rest: str, s: SqlSession, text: str) -> Ok | Err:
    if not rest:
        return er_1064_parse("")
    return use_database(rest.split(maxsplit=1)[0], s)


_SET_ITEM = re.compile(
    r"(?:(global|session|local|persist)\s+|@@(global|session|local|persist)\.|@@)?"
    r"([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*(.+)",
    re.I | re.S,
)


def _set(rest: str, s: SqlSession, text: str) -> Ok | Err:
    low = rest.lower()
    if re.match(r"(names|character\s+set|charset|transaction|password|role|default\s+role)\b", low):
        return Ok()
    for item in _split_top(rest):
        if item.startswith("@") and not item.startswith("@@"):
            continue  # user variable
        m = _SET_ITEM.match(item)
        if not m:
            return er_1064_parse(item)
        scope = (m.group(1) or m.group(2) or "").lower()
        name = m.group(3).lower()
        if name not in s.variables and name not in _SETTABLE:
            return er_1193_unknown_variable(name)
        if scope in ("global", "persist"):
            return er_1227_privilege("SUPER or SYSTEM_VARIABLES_ADMIN")
        if name == "autocommit":
            value = m.group(4).strip().strip("'\"").lower()
            s.autocommit = value in ("1", "on", "true")
    return Ok()


_SETTABLE: Final = frozenset(
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
    )
)


def _write(verb: str) -> Handler:
    def handler(rest: str, s: SqlSession, text: str) -> Err:
        low = rest.lower()
        if re.match(r"(database|schema)\b", low):
            name = rest.split()[1] if len(rest.split()) > 1 else ""
            if not name or name.lower() == "if":
                name = rest.rsplit(maxsplit=1)[-1]
            return er_1044_db_access_denied(s, _unquote(name))
        if re.match(r"user\b", low) or verb in ("GRANT", "REVOKE"):
            return er_1227_privilege("CREATE USER")
        m = re.search(
            rf"(?:into|from|table|tables|ignore|low_priority|quick|\A)\s*({_NAME})(?:\s*\.\s*({_NAME}))?",
            rest,
            re.I,
        )
        table = ""
        if m:
            table = _unquote(m.group(2) or m.group(1))
        return er_1142_table_denied(s, verb, table)

    return handler


# -- SHOW ------------------------------------------------------------------------------------------


def _show(rest: str, s: SqlSession, text: str) -> ResultSet | Err | Ok:
    low = re.sub(r"\s+", " ", rest.lower())
    if re.match(r"(databases|schemas)\b", low):
        rows = _filter_like([(d,) for d in VISIBLE_DATABASES], rest)
        col = _text_column("Database", table="SCHEMATA", org_table="Schemata", org_name="Database")
        return ResultSet((col,), tuple(rows))
    m = re.match(r"(full )?tables\b(?: (?:from|in) (\S+))?", low)
    if m:
        db = s.database
        named = re.match(r"\s*(?:full\s+)?tables\s+(?:from|in)\s+(`[^`]+`|\S+)", rest, re.I)
        if named:
            db = _unquote(named.group(1))
        if not db:
            return er_1046_no_db()
        if db in SYSTEM_DATABASES and db != "performance_schema":
            return er_1044_db_access_denied(s, db)
        if db not in SCHEMAS and db not in ("information_schema", "performance_schema"):
            return er_1049_bad_db(db)
        names = sorted(SCHEMAS.get(db, {}))
        if db == "information_schema":
            names = sorted(n.upper() for n in _INFO_TABLES)
        rows = _filter_like([(n,) for n in names], rest)
        cols = [_text_column(f"Tables_in_{db}")]
        if m.group(1):
            cols.append(_text_column("Table_type"))
            rows = [(r[0], "BASE TABLE") for r in rows]
        return ResultSet(tuple(cols), tuple(rows))
    m = re.match(r"(?:global |session |local )?(variables|status)\b", low)
    if m:
        if m.group(1) == "variables":
            pairs = [(k, _show_value(v)) for k, v in sorted(_variables(s).items())]
        else:
            pairs = [
                ("Aborted_clients", "0"),
                ("Bytes_received", "4312"),
                ("Connections", str(s.connection_id)),
                ("Ssl_cipher", s.ssl_cipher),
                ("Threads_connected", "2"),
                ("Uptime", str(s.uptime())),
            ]
        rows = _filter_like(pairs, rest)  # type: ignore[arg-type]
        where = re.search(r"""where\s+variable_name\s*=\s*(['"])(.*?)\1""", rest, re.I)
        if where:
            rows = [r for r in rows if r[0].lower() == where.group(2).lower()]
        return ResultSet((_text_column("Variable_name"), _text_column("Value", 1024)), tuple(rows))
    if low.startswith("grants"):
        grants = [f"GRANT USAGE ON *.* TO `{s.user}`@`%`"]
        grants += [f"GRANT SELECT, SHOW VIEW ON `{db}`.* TO `{s.user}`@`%`" for db in SCHEMAS]
        col = _text_column(f"Grants for {s.user}@%", 1024)
        return ResultSet((col,), tuple((g,) for g in grants))
    if re.match(r"(warnings|errors)\b", low):
        return ResultSet(
            (
                _text_column("Level", 7),
                Column("Code", _INT, 4, _NUMERIC_FLAGS),
                _text_column("Message", 512),
            )
        )
    if re.match(r"(full )?processlist\b", low):
        plist_cols = tuple(
            _text_column(n)
            for n in ("Id", "User", "Host", "db", "Command", "Time", "State", "Info")
        )
        plist: tuple[tuple[str | None, ...], ...] = (
            (
                "5",
                "event_scheduler",
                "localhost",
                None,
                "Daemon",
                str(s.uptime()),
                "Waiting on empty queue",
                None,
            ),
            (
                str(s.connection_id),
                s.user,
                s.host,
                s.database,
                "Query",
                "0",
                "init",
                "SHOW PROCESSLIST",
            ),
        )
        return ResultSet(plist_cols, plist)
    m = re.match(r"(?:full )?(?:columns|fields) (?:from|in) ", low)
    if m:
        return _describe(rest[m.end() :], s)
    if re.match(r"create (table|view) ", low):
        found = _table_of(rest.split(None, 2)[2], s)
        if isinstance(found, Err):
            return found
        _db, table, tcols = found
        body = ",\n".join(f"  `{c[0]}` {c[1]}" for c in tcols)
        ddl = (
            f"CREATE TABLE `{table}` (\n{body},\n  PRIMARY KEY (`{tcols[0][0]}`)\n) ENGINE=InnoDB "
            "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
        )
        return ResultSet(
            (_text_column("Table"), _text_column("Create Table", 1024)), ((table, ddl),)
        )
    if re.match(r"(master|slave|replica|binary|binlog)\b", low):
        return er_1227_privilege("SUPER, REPLICATION CLIENT")
    if re.match(r"(storage )?engines\b", low):
        heads = ("Engine", "Support", "Comment", "Transactions", "XA", "Savepoints")
        return ResultSet(tuple(_text_column(n) for n in heads), _ENGINES)
    if re.match(r"create (database|schema) ", low):
        db = _unquote(rest.rsplit(maxsplit=1)[-1])
        if db not in SCHEMAS:
            return er_1049_bad_db(db)
        ddl = (
            f"CREATE DATABASE `{db}` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE "
            "utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */"
        )
        return ResultSet(
            (_text_column("Database"), _text_column("Create Database", 1024)), ((db, ddl),)
        )
    if re.match(r"table status\b", low):
        if not s.database:
            return er_1046_no_db()
        status_heads = (
            "Name",
            "Engine",
            "Version",
            "Row_format",
            "Rows",
            "Avg_row_length",
            "Data_length",
        )
        tables: list[tuple[str, ...]] = [
            (t, "InnoDB", "10", "Dynamic", "0", "0", "16384")
            for t in sorted(SCHEMAS.get(s.database, {}))
        ]
        return ResultSet(
            tuple(_text_column(n) for n in status_heads), tuple(_filter_like(tables, rest))
        )
    if re.match(
        r"(plugins|charset|character set|collation|triggers|events|index|indexes|keys|open tables|profiles)\b",
        low,
    ):
        return ResultSet((_text_column("Name"),))
    return er_1064_parse(rest)


_ENGINES: Final = (
    ("ndbcluster", "NO", "Clustered, fault-tolerant tables", None, None, None),
    (
        "MEMORY",
        "YES",
        "Hash based, stored in memory, useful for temporary tables",
        "NO",
        "NO",
        "NO",
    ),
    (
        "InnoDB",
        "DEFAULT",
        "Supports transactions, row-level locking, and foreign keys",
        "YES",
        "YES",
        "YES",
    ),
    ("PERFORMANCE_SCHEMA", "YES", "Performance Schema", "NO", "NO", "NO"),
    ("MyISAM", "YES", "MyISAM storage engine", "NO", "NO", "NO"),
    ("CSV", "YES", "CSV storage engine", "NO", "NO", "NO"),
)


def _table_of(
    ref: str, s: SqlSession
) -> tuple[str, str, Sequence[tuple[str, str, str, str]]] | Err:
    m = _QUALIFIED.match(ref)
    if not m:
        return er_1064_parse(ref)
    if m.group(2):
        db, table = _unquote(m.group(1)), _unquote(m.group(2))
    else:
        db, table = s.database or "", _unquote(m.group(1))
        after = ref[m.end() :].strip().split()
        if len(after) >= 2 and after[0].lower() in ("from", "in"):
            db = _unquote(after[1])
    if not db:
        return er_1046_no_db()
    if db in ("mysql", "sys", "performance_schema"):
        return er_1142_table_denied(s, "SELECT", table)
    if db not in SCHEMAS and db != "information_schema":
        return er_1049_bad_db(db) if db not in VISIBLE_DATABASES else er_1146_no_table(db, table)
    cols = SCHEMAS.get(db, {}).get(table)
    if cols is None:
        return er_1146_no_table(db, table)
    return db, table, cols


def _describe(rest: str, s: SqlSession, _text: str = "") -> ResultSet | Err:
    found = _table_of(rest, s)
    if isinstance(found, Err):
        return found
    _db, _table, cols = found
    names = ("Field", "Type", "Null", "Key", "Default", "Extra")
    rows = tuple((c[0], c[1], "NO" if c[2] == "PRI" else "YES", c[2], None, c[3]) for c in cols)
    return ResultSet(tuple(_text_column(n) for n in names), rows)


def field_list(table: str, s: SqlSession) -> tuple[Column, ...] | Err:
    """COM_FIELD_LIST: the table's column definitions."""
    found = _table_of(table, s)
    if isinstance(found, Err):
        return found
    db, name, cols = found
    return tuple(_column(c, db, name) for c in cols)


def _column(c: tuple[str, str, str, str], db: str, table: str) -> Column:
    kind = c[1].split("(")[0].split()[0]
    flags = FieldFlag.NOT_NULL_FLAG | FieldFlag.PRI_KEY_FLAG if c[2] == "PRI" else 0
    if kind in ("bigint", "int"):
        flags |= FieldFlag.NUM_FLAG | (FieldFlag.UNSIGNED_FLAG if "unsigned" in c[1] else 0)
        if c[3]:
            flags |= FieldFlag.AUTO_INCREMENT_FLAG
        return Column(c[0], _INT, 20, flags, 0, table, table, db, c[0], 63)
    if kind == "datetime":
        return Column(
            c[0],
            FieldType.MYSQL_TYPE_DATETIME,
            19,
            flags | FieldFlag.BINARY_FLAG,
            0,
            table,
            table,
            db,
            c[0],
            63,
        )
    width = int(re.sub(r"\D", "", c[1]) or 16383)
    kind_code = FieldType.MYSQL_TYPE_BLOB if kind == "text" else FieldType.MYSQL_TYPE_VAR_STRING
    if kind == "text":
        flags |= FieldFlag.BLOB_FLAG
    return Column(c[0], kind_code, width * 4, flags, 0, table, table, db, c[0])


# -- SELECT ----------------------------------------------------------------------------------------

_INFO_TABLES: Final[Mapping[str, tuple[str, ...]]] = {
    "schemata": (
        "CATALOG_NAME",
        "SCHEMA_NAME",
        "DEFAULT_CHARACTER_SET_NAME",
        "DEFAULT_COLLATION_NAME",
    ),
    "tables": ("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "ENGINE", "TABLE_ROWS"),
    "columns": (
        "TABLE_CATALOG",
        "TABLE_SCHEMA",
        "TABLE_NAME",
        "COLUMN_NAME",
        "ORDINAL_POSITION",
        "COLUMN_TYPE",
        "COLUMN_KEY",
    ),
}


def _info_rows(table: str) -> list[tuple[str, ...]]:
    if table == "schemata":
        return [("def", d, "utf8mb4", "utf8mb4_0900_ai_ci") for d in VISIBLE_DATABASES]
    if table == "tables":
        return [
            ("def", db, t, "BASE TABLE", "InnoDB", "0") for db, ts in SCHEMAS.items() for t in ts
        ]
    return [
        ("def", db, t, c[0], str(i), c[1], c[2])
        for db, ts in SCHEMAS.items()
        for t, cols in ts.items()
        for i, c in enumerate(cols, 1)
    ]


_FROM = re.compile(rf"\s+from\s+((?:{_NAME})(?:\s*\.\s*(?:{_NAME}))?)(.*)$", re.I | re.S)
_WHERE_EQ = re.compile(r"""(\w+)\s*=\s*(['"])(.*?)\2""", re.S)
_INTO_FILE = re.compile(r"\binto\s+(outfile|dumpfile)\b", re.I)
_UNION = re.compile(r"\s+union(?:\s+all|\s+distinct)?\s+select\s+", re.I)
_LIMIT = re.compile(r"\s+limit\s+(\d+)\s*$", re.I)
# Expressions that carry no alias even when they end in a word.
_UNALIASED = re.compile(r"@@[\w.]+|\w+\s*\(.*\)|'.*'|\".*\"|-?\d+", re.S)
_INTEGER = re.compile(r"-?\d+")
_SYSTEM_VARIABLE = re.compile(r"@@(?:(session|global|local)\.)?([a-z_0-9]+)")
_CALL = re.compile(r"([a-z_]+)\s*\((.*)\)", re.S)
_USER_VARIABLE = re.compile(r"@[a-z_0-9]+")


def _select(rest: str, s: SqlSession, text: str) -> ResultSet | Err:
    if _INTO_FILE.search(rest):
        # Without the FILE privilege MySQL answers INTO OUTFILE with an access-denied error.
        return Err(1045, "28000", f"Access denied for user '{s.user}'@'%' (using password: YES)")
    parts = _UNION.split(rest)
    if len(parts) > 1 and not _FROM.search(" " + rest):
        results = [_select(part, s, text) for part in parts]
        for result in results:
            if isinstance(result, Err):
                return result
        sets = [r for r in results if isinstance(r, ResultSet)]
        if len({len(r.columns) for r in sets}) > 1:
            return Err(
                1222, "21000", "The used SELECT statements have a different number of columns"
            )
        return ResultSet(sets[0].columns, tuple(row for r in sets for row in r.rows))
    m = _FROM.search(" " + rest)
    if m and m.group(1).lower() != "dual":
        return _select_from(rest[: m.start()].strip(), m.group(1), m.group(2), s)
    exprs = rest[: m.start() - 1].strip() if m else rest
    limit = _LIMIT.search(exprs)
    if limit:
        exprs = exprs[: limit.start()]
    cols: list[Column] = []
    row: list[str | None] = []
    for expr in _split_top(exprs):
        value = _evaluate(expr, s)
        if isinstance(value, Err):
            return value
        label, val = value
        if isinstance(val, bool | int):
            cols.append(Column(label, _INT, 21, _NUMERIC_FLAGS))
            row.append(str(int(val)))
        else:
            cols.append(_text_column(label, max(len(val or ""), 1)))
            row.append(val)
    rows = () if limit and limit.group(1) == "0" else (tuple(row),)
    return ResultSet(tuple(cols), rows)


_ALIAS = re.compile(rf"(.+?)\s+(?:as\s+)?('[^']*'|\"[^\"]*\"|{_NAME})$", re.I | re.S)
_FUNCTIONS: Final = {
    "now": "now",
    "current_timestamp": "now",
    "sysdate": "now",
    "localtime": "now",
    "utc_timestamp": "utc",
    "curdate": "date",
    "current_date": "date",
    "unix_timestamp": "epoch",
    "version": "version",
    "database": "database",
    "schema": "database",
    "user": "user",
    "session_user": "user",
    "system_user": "user",
    "current_user": "current_user",
    "connection_id": "connection_id",
    "load_file": "null",
    "sleep": "zero",
    "benchmark": "zero",
    "last_insert_id": "zero",
    "found_rows": "zero",
    "row_count": "minus_one",
}


def _evaluate(expr: str, s: SqlSession) -> tuple[str, str | int | bool | None] | Err:
    label = expr
    m = _ALIAS.match(expr)
    if m and not _UNALIASED.fullmatch(expr):
        expr, label = m.group(1).strip(), m.group(2).strip("'\"`")
    low = expr.lower()
    if _INTEGER.fullmatch(expr):
        return label, int(expr)
    if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "'\"":
        return (label if label != expr else expr[1:-1]), expr[1:-1]
    if low in ("null", "?"):
        return label, None  # a placeholder of a prepared statement reads as NULL
    var = _SYSTEM_VARIABLE.fullmatch(low)
    if var:
        name = var.group(2)
        variables = _variables(s)
        if name not in variables:
            return er_1193_unknown_variable(name)
        return label, variables[name]
    if low == "current_user":
        low = "current_user()"
    fn = _CALL.fullmatch(low)
    if fn and fn.group(1) in _FUNCTIONS:
        kind = _FUNCTIONS[fn.group(1)]
        if kind in ("now", "utc", "date", "epoch"):
            now = datetime.datetime.now(datetime.UTC)  # system_time_zone is UTC
            if kind == "epoch":
                return label, int(now.timestamp())
            return label, now.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S")
        if kind == "version":
            return label, s.server_version
        if kind == "database":
            return label, s.database
        if kind == "user":
            return label, f"{s.user}@{s.host}"
        if kind == "current_user":
            return label, f"{s.user}@%"
        if kind == "connection_id":
            return label, s.connection_id
        if kind == "zero":
            return label, 0
        if kind == "minus_one":
            return label, -1
        return label, None
    if _USER_VARIABLE.fullmatch(low):
        return label, None
    return er_1064_parse(expr)


def _select_from(exprs: str, ref: str, tail: str, s: SqlSession) -> ResultSet | Err:
    m = _QUALIFIED.match(ref)
    assert m is not None  # noqa: S101 - _FROM matched a name
    db = _unquote(m.group(1)) if m.group(2) else (s.database or "")
    table = _unquote(m.group(2) or m.group(1))
    if db.lower() == "information_schema" and table.lower() in _INFO_TABLES:
        names = _INFO_TABLES[table.lower()]
        rows = _info_rows(table.lower())
        for col, _q, value in _WHERE_EQ.findall(tail):
            if col.upper() in names:
                i = names.index(col.upper())
                rows = [r for r in rows if r[i] == value]
        all_cols = [_text_column(n) for n in names]
    else:
        found = _table_of(ref, s)
        if isinstance(found, Err):
            return found
        fdb, ftable, cols = found
        names = tuple(c[0] for c in cols)
        rows = []
        all_cols = [_column(c, fdb, ftable) for c in cols]
    concat = re.fullmatch(r"group_concat\s*\(\s*(\w+)\s*\)", exprs, re.I)
    if concat:
        lower = [n.lower() for n in names]
        if concat.group(1).lower() not in lower:
            return er_1054_bad_field(concat.group(1))
        i = lower.index(concat.group(1).lower())
        joined = ",".join(str(r[i]) for r in rows) if rows else None
        return ResultSet((_text_column(exprs, 1024),), ((joined,),))
    if re.fullmatch(r"count\s*\(.*\)(?:\s+(?:as\s+)?\w+)?", exprs, re.I | re.S):
        label = _ALIAS.match(exprs)
        name = label.group(2) if label and not exprs.rstrip().endswith(")") else exprs
        return ResultSet((Column(name, _INT, 21, _NUMERIC_FLAGS),), ((str(len(rows)),),))
    if exprs.strip() == "*":
        return ResultSet(tuple(all_cols), tuple(rows))
    chosen: list[int] = []
    for item in _split_top(exprs):
        name = _unquote(item.split(".")[-1].strip())
        lower = [n.lower() for n in names]
        if name.lower() not in lower:
            return er_1054_bad_field(name)
        chosen.append(lower.index(name.lower()))
    return ResultSet(
        tuple(all_cols[i] for i in chosen), tuple(tuple(r[i] for i in chosen) for r in rows)
    )


_HANDLERS: Final[Mapping[str, Handler]] = {
    "select": _select,
    "show": _show,
    "use": _use,
    "set": _set,
    "describe": _describe,
    "desc": _describe,
    "explain": _describe,
    "begin": _begin,
    "start": _begin,
    "commit": _end,
    "rollback": _end,
    "unlock": _ok,
    "do": _ok,
    "insert": _write("INSERT"),
    "replace": _write("INSERT"),
    "update": _write("UPDATE"),
    "delete": _write("DELETE"),
    "truncate": _write("DROP"),
    "drop": _write("DROP"),
    "alter": _write("ALTER"),
    "create": _write("CREATE"),
    "rename": _write("ALTER"),
    "load": _write("INSERT"),
    "lock": _write("LOCK TABLES"),
    "grant": _write("GRANT"),
    "revoke": _write("REVOKE"),
    "flush": lambda _r, _s, _t: er_1227_privilege("RELOAD"),
    "kill": lambda r, _s, _t: Err(
        1094, "HY000", f"Unknown thread id: {r.split()[-1] if r else ''}"
    ),
    "shutdown": lambda _r, _s, _t: er_1227_privilege("SHUTDOWN"),
}
