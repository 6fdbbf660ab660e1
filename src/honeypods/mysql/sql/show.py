"""SHOW, DESCRIBE and COM_FIELD_LIST: what the persona says about its databases and tables.

Rules this module keeps: everything listed comes from ``schema``; every refusal agrees with
SHOW GRANTS (an application's privileges on its schemas, RELOAD and PROCESS; see ``write``), so ``mysql``,
``sys`` and replication state are denied with the error and privilege a real server names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from honeypods.mysql.codec.packets import Column, Ok, ResultSet
from honeypods.mysql.errors import (
    ER_1046_NO_DB,
    Err,
    er_1044_db_access_denied,
    er_1049_bad_db,
    er_1064_parse,
    er_1142_table_denied,
    er_1146_no_table,
    er_1227_privilege,
)
from honeypods.mysql.sql.infoschema import VIEWS, typed_column, view_columns, view_rows
from honeypods.mysql.sql.schema import (
    ENGINES,
    INT,
    NUMERIC_FLAGS,
    SYSTEM_DATABASES,
    column_of,
    create_table,
    text_column,
)
from honeypods.mysql.sql.session import SqlSession
from honeypods.mysql.sql.text import QUALIFIED, filter_like, unquote
from honeypods.mysql.sql.variables import session_variables, show_value
from honeypods.mysql.sql.write import GLOBAL_PRIVILEGES, SCHEMA_PRIVILEGES


def show(rest: str, s: SqlSession, _text: str) -> ResultSet | Err | Ok:
    """SHOW ...: databases, tables, variables, status, grants, processlist, CREATE, ..."""
    low = re.sub(r"\s+", " ", rest.lower())
    if re.match(r"(databases|schemas)\b", low):
        rows = filter_like([(d,) for d in s.visible_databases], rest)
        col = text_column("Database", table="SCHEMATA", org_table="Schemata", org_name="Database")
        return ResultSet((col,), tuple(rows))
    m = re.match(r"(full )?tables\b(?: (?:from|in) (\S+))?", low)
    if m:
        db = s.database
        named = re.match(r"\s*(?:full\s+)?tables\s+(?:from|in)\s+(`[^`]+`|\S+)", rest, re.I)
        if named:
            db = unquote(named.group(1))
        if not db:
            return ER_1046_NO_DB
        if db in SYSTEM_DATABASES and db != "performance_schema":
            return er_1044_db_access_denied(s.user, db)
        if db not in s.schemas and db not in ("information_schema", "performance_schema"):
            return er_1049_bad_db(db)
        names = sorted(s.schemas.get(db, {}))
        if db == "information_schema":
            names = sorted(VIEWS)
        rows = filter_like([(n,) for n in names], rest)
        cols = [text_column(f"Tables_in_{db}")]
        if m.group(1):
            cols.append(text_column("Table_type"))
            rows = [(r[0], "BASE TABLE") for r in rows]
        return ResultSet(tuple(cols), tuple(rows))
    m = re.match(r"(?:global |session |local )?(variables|status)\b", low)
    if m:
        if m.group(1) == "variables":
            pairs = [(k, show_value(v)) for k, v in sorted(session_variables(s).items())]
        else:
            pairs = [
                ("Aborted_clients", "0"),
                ("Bytes_received", "4312"),
                ("Connections", str(s.connection_id)),
                ("Ssl_cipher", s.ssl_cipher),
                ("Threads_connected", "2"),
                ("Uptime", str(s.uptime())),
            ]
        rows = filter_like(pairs, rest)  # type: ignore[arg-type]
        where = re.search(r"""where\s+variable_name\s*=\s*(['"])(.*?)\1""", rest, re.I)
        if where:
            rows = [r for r in rows if r[0].lower() == where.group(2).lower()]
        return ResultSet((text_column("Variable_name"), text_column("Value", 1024)), tuple(rows))
    if low.startswith("grants"):
        grants = [f"GRANT {GLOBAL_PRIVILEGES} ON *.* TO `{s.user}`@`%`"]
        grants += [f"GRANT {SCHEMA_PRIVILEGES} ON `{db}`.* TO `{s.user}`@`%`" for db in s.schemas]
        col = text_column(f"Grants for {s.user}@%", 1024)
        return ResultSet((col,), tuple((g,) for g in grants))
    if re.match(r"(warnings|errors)\b", low):
        return ResultSet(
            (
                text_column("Level", 7),
                Column("Code", INT, 4, NUMERIC_FLAGS),
                text_column("Message", 512),
            )
        )
    if re.match(r"(full )?processlist\b", low):
        plist_cols = tuple(
            text_column(n) for n in ("Id", "User", "Host", "db", "Command", "Time", "State", "Info")
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
        return describe(rest[m.end() :], s)
    if re.match(r"create (table|view) ", low):
        found = table_of(rest.split(None, 2)[2], s)
        if isinstance(found, Err):
            return found
        _db, table, tcols = found
        ddl = create_table(table, tcols)
        return ResultSet((text_column("Table"), text_column("Create Table", 1024)), ((table, ddl),))
    m = re.match(r"(?:extended )?(?:index|indexes|keys) (?:from|in) ", low)
    if m:
        return _show_index(rest[len(rest) - len(low) + m.end() :], s)
    if re.match(r"(master|slave|replica|binary|binlog)\b", low):
        return er_1227_privilege("SUPER, REPLICATION CLIENT")
    if re.match(r"(storage )?engines\b", low):
        heads = ("Engine", "Support", "Comment", "Transactions", "XA", "Savepoints")
        return ResultSet(tuple(text_column(n) for n in heads), ENGINES)
    if re.match(r"create (database|schema) ", low):
        db = unquote(rest.rsplit(maxsplit=1)[-1])
        if db not in s.schemas:
            return er_1049_bad_db(db)
        exists = "/*!32312 IF NOT EXISTS*/ " if " if not exists " in low else ""
        ddl = (
            f"CREATE DATABASE {exists}`{db}` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE "
            "utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */"
        )
        return ResultSet(
            (text_column("Database"), text_column("Create Database", 1024)), ((db, ddl),)
        )
    if re.match(r"table status\b", low):
        if not s.database:
            return ER_1046_NO_DB
        view = view_columns("TABLES")
        status = [
            (r[2], *r[4:])
            for r in view_rows("TABLES", s.schemas, s.visible_databases)
            if r[1] == s.database
        ]
        pairs_of = zip(("Name", *_TABLE_STATUS), (view[2], *view[4:]), strict=True)
        status_cols = tuple(replace(c, name=n) for n, c in pairs_of)
        return ResultSet(status_cols, tuple(filter_like(status, rest)))  # type: ignore[arg-type]
    if re.match(r"(function|procedure) status\b", low):
        return ResultSet(
            tuple(typed_column(*c, "ROUTINES", "information_schema") for c in _ROUTINES)
        )
    if re.match(r"triggers\b", low):
        return ResultSet(
            tuple(typed_column(*c, "TRIGGERS", "information_schema") for c in _TRIGGERS)
        )
    if re.match(r"(plugins|charset|character set|collation|events|open tables|profiles)\b", low):
        return ResultSet((text_column("Name"),))
    return er_1064_parse(rest)


# SHOW TABLE STATUS's names for information_schema.TABLES from ENGINE on.
_TABLE_STATUS = (
    "Engine",
    "Version",
    "Row_format",
    "Rows",
    "Avg_row_length",
    "Data_length",
    "Max_data_length",
    "Index_length",
    "Data_free",
    "Auto_increment",
    "Create_time",
    "Update_time",
    "Check_time",
    "Collation",
    "Checksum",
    "Create_options",
    "Comment",
)
# SHOW INDEX's names for the information_schema.STATISTICS columns it shows, by position.
_SHOW_INDEX = {
    2: "Table",
    3: "Non_unique",
    5: "Key_name",
    6: "Seq_in_index",
    7: "Column_name",
    8: "Collation",
    9: "Cardinality",
    10: "Sub_part",
    11: "Packed",
    12: "Null",
    13: "Index_type",
    14: "Comment",
    15: "Index_comment",
    16: "Visible",
    17: "Expression",
}
_ROUTINES = (
    ("Db", "varchar(64)", False),
    ("Name", "varchar(64)", False),
    ("Type", "enum('FUNCTION','PROCEDURE')", False),
    ("Definer", "varchar(288)", False),
    ("Modified", "timestamp", False),
    ("Created", "timestamp", False),
    ("Security_type", "enum('DEFAULT','INVOKER','DEFINER')", False),
    ("Comment", "text", False),
    ("character_set_client", "varchar(64)", False),
    ("collation_connection", "varchar(64)", False),
    ("Database Collation", "varchar(64)", False),
)
_TRIGGERS = (
    ("Trigger", "varchar(64)", False),
    ("Event", "enum('INSERT','UPDATE','DELETE')", False),
    ("Table", "varchar(64)", False),
    ("Statement", "longtext", False),
    ("Timing", "enum('BEFORE','AFTER')", False),
    ("Created", "timestamp", False),
    ("sql_mode", "varchar(520)", False),
    ("Definer", "varchar(288)", False),
    ("character_set_client", "varchar(64)", False),
    ("collation_connection", "varchar(64)", False),
    ("Database Collation", "varchar(64)", False),
)


def _show_index(ref: str, s: SqlSession) -> ResultSet | Err:
    """SHOW INDEX FROM t [FROM db]: information_schema.STATISTICS under SHOW's names."""
    found = table_of(ref, s)
    if isinstance(found, Err):
        return found
    db, table, _cols = found
    rows = [
        r
        for r in view_rows("STATISTICS", s.schemas, s.visible_databases)
        if r[1] == db and r[2] == table
    ]
    all_cols = view_columns("STATISTICS")
    cols = tuple(replace(all_cols[i], name=n) for i, n in _SHOW_INDEX.items())
    return ResultSet(cols, tuple(tuple(r[i] for i in _SHOW_INDEX) for r in rows))


def table_of(ref: str, s: SqlSession) -> tuple[str, str, Sequence[tuple[str, str, str, str]]] | Err:
    """The (database, table, schema rows) a table reference names, or the error MySQL gives."""
    m = QUALIFIED.match(ref)
    if not m:
        return er_1064_parse(ref)
    if m.group(2):
        db, table = unquote(m.group(1)), unquote(m.group(2))
    else:
        db, table = s.database or "", unquote(m.group(1))
        after = ref[m.end() :].strip().split()
        if len(after) >= 2 and after[0].lower() in ("from", "in"):
            db = unquote(after[1])
    if not db:
        return ER_1046_NO_DB
    if db.lower() == "information_schema":
        db = "information_schema"  # its name, like its views' names, is case-insensitive
    if db in SYSTEM_DATABASES:
        return er_1142_table_denied(s.user, s.host, "SELECT", table)
    if db not in s.schemas and db != "information_schema":
        return er_1049_bad_db(db) if db not in s.visible_databases else er_1146_no_table(db, table)
    cols = s.schemas.get(db, {}).get(table)
    if cols is None:
        return er_1146_no_table(db, table)
    return db, table, cols


def describe(rest: str, s: SqlSession, _text: str = "") -> ResultSet | Err:
    """DESCRIBE, EXPLAIN and SHOW COLUMNS: one row per column."""
    found = table_of(rest, s)
    if isinstance(found, Err):
        return found
    _db, _table, cols = found
    names = ("Field", "Type", "Null", "Key", "Default", "Extra")
    rows = tuple((c[0], c[1], "NO" if c[2] == "PRI" else "YES", c[2], None, c[3]) for c in cols)
    return ResultSet(tuple(text_column(n) for n in names), rows)


def field_list(table: str, s: SqlSession) -> tuple[Column, ...] | Err:
    """COM_FIELD_LIST: the table's column definitions."""
    found = table_of(table, s)
    if isinstance(found, Err):
        return found
    db, name, cols = found
    return tuple(column_of(c, db, name) for c in cols)
