"""The persona's data: the schemas it shows, the engines, information_schema, column definitions.

A data module: what is here is what an attacker can list. Every table is empty; the names are
chosen to look worth stealing. ``column_of`` turns a schema row into the ColumnDefinition41 a
real server sends for it, and ``text_column`` makes the result columns of SHOW and SELECT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from honeypods.mysql.codec.constants import COLLATION_BINARY, FieldFlag, FieldType
from honeypods.mysql.codec.packets import Column

# (column, type as SHOW COLUMNS prints it, key, extra); tables are empty but for a session's rows
# (``SqlSession.rows``). The rows most tables
# share, as an application's migrations would make them:
_ID: Final = ("id", "bigint unsigned", "PRI", "auto_increment")
_USER_ID: Final = ("user_id", "bigint unsigned", "MUL", "")
_CUSTOMER_ID: Final = ("customer_id", "bigint unsigned", "MUL", "")
_CREATED_AT: Final = ("created_at", "datetime", "", "")
SCHEMAS: Final[Mapping[str, Mapping[str, Sequence[tuple[str, str, str, str]]]]] = {
    "app_prod": {
        "users": [
            _ID,
            ("email", "varchar(255)", "UNI", ""),
            ("password_hash", "varchar(255)", "", ""),
            ("role", "varchar(32)", "", ""),
            ("mfa_secret", "varchar(64)", "", ""),
            _CREATED_AT,
        ],
        "customers": [
            _ID,
            ("name", "varchar(255)", "", ""),
            ("email", "varchar(255)", "MUL", ""),
            ("phone", "varchar(32)", "", ""),
            ("address", "text", "", ""),
            _CREATED_AT,
        ],
        "api_keys": [
            _ID,
            _USER_ID,
            ("name", "varchar(64)", "", ""),
            ("secret", "varchar(128)", "", ""),
            ("last_used_at", "datetime", "", ""),
        ],
        "sessions": [
            ("id", "char(64)", "PRI", ""),
            _USER_ID,
            ("ip", "varchar(45)", "", ""),
            ("expires_at", "datetime", "", ""),
        ],
    },
    "billing": {
        "payment_methods": [
            _ID,
            _CUSTOMER_ID,
            ("card_holder", "varchar(255)", "", ""),
            ("card_number", "varchar(32)", "", ""),
            ("card_expiry", "char(5)", "", ""),
            _CREATED_AT,
        ],
        "invoices": [
            _ID,
            _CUSTOMER_ID,
            ("amount_cents", "bigint", "", ""),
            ("currency", "char(3)", "", ""),
            ("status", "varchar(16)", "", ""),
            ("issued_at", "datetime", "", ""),
        ],
    },
}
Schemas = Mapping[str, Mapping[str, Sequence[tuple[str, str, str, str]]]]
# What SHOW DATABASES lists besides the application's schemas, for an account with grants on
# those only.
_ALWAYS_VISIBLE: Final = ("information_schema", "performance_schema")
# SHOW DATABASES with the reference names.
VISIBLE_DATABASES: Final = ("app_prod", "billing", "information_schema", "performance_schema")
SYSTEM_DATABASES: Final = ("mysql", "sys", "performance_schema")


def named_schemas(databases: Mapping[str, str], tables: Mapping[str, str]) -> Schemas:
    """SCHEMAS under one install's names: reference name -> the install's, for both.

    The columns stay those of SCHEMAS: an install renames what its migrations named, no more.
    """
    return {
        databases.get(db, db): {tables.get(t, t): cols for t, cols in ts.items()}
        for db, ts in SCHEMAS.items()
    }


def visible_databases(schemas: Schemas) -> tuple[str, ...]:
    """SHOW DATABASES: the schemas and information_schema, performance_schema, sorted as MySQL does."""
    return tuple(sorted((*schemas, *_ALWAYS_VISIBLE)))


INT: Final = FieldType.MYSQL_TYPE_LONGLONG
NUMERIC_FLAGS: Final = FieldFlag.NOT_NULL_FLAG | FieldFlag.BINARY_FLAG | FieldFlag.NUM_FLAG


def text_column(name: str, width: int = 64, **kw: str) -> Column:
    """A utf8mb4 result column ``width`` characters wide."""
    return Column(name, length=width * 4, **kw)  # type: ignore[arg-type]


ENGINES: Final = (
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


def indexes(cols: Sequence[tuple[str, str, str, str]]) -> list[tuple[str, int, str]]:
    """(index name, non-unique, column) of a table's keys, as DESCRIBE's Key column implies them.

    PRI is the PRIMARY KEY, UNI a UNIQUE KEY and MUL a plain KEY, each named after its column as
    MySQL names an index made without a name.
    """
    out = [("PRIMARY", 0, c[0]) for c in cols if c[2] == "PRI"]
    out += [(c[0], 0 if c[2] == "UNI" else 1, c[0]) for c in cols if c[2] in ("UNI", "MUL")]
    return out


def create_table(table: str, cols: Sequence[tuple[str, str, str, str]]) -> str:
    """SHOW CREATE TABLE's text: the columns, then the keys ``indexes`` names.

    No AUTO_INCREMENT= option: MySQL prints it only once the counter has passed 1.
    """
    lines = []
    for name, kind, key, extra in cols:
        line = f"  `{name}` {kind}"
        if key == "PRI":
            line += " NOT NULL"
        elif not kind.startswith("text"):
            line += " DEFAULT NULL"
        if extra:
            line += " " + extra.upper()
        lines.append(line)
    for index, non_unique, column in indexes(cols):
        if index == "PRIMARY":
            lines.append(f"  PRIMARY KEY (`{column}`)")
        else:
            lines.append(f"  {'' if non_unique else 'UNIQUE '}KEY `{index}` (`{column}`)")
    body = ",\n".join(lines)
    return (
        f"CREATE TABLE `{table}` (\n{body}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
        "COLLATE=utf8mb4_0900_ai_ci"
    )


def column_of(c: tuple[str, str, str, str], db: str, table: str) -> Column:
    """The ColumnDefinition41 of a schema row, with its table and schema."""
    kind = c[1].split("(")[0].split()[0]
    flags = FieldFlag.NOT_NULL_FLAG | FieldFlag.PRI_KEY_FLAG if c[2] == "PRI" else 0
    if kind in ("bigint", "int"):
        flags |= FieldFlag.NUM_FLAG | (FieldFlag.UNSIGNED_FLAG if "unsigned" in c[1] else 0)
        if c[3]:
            flags |= FieldFlag.AUTO_INCREMENT_FLAG
        return Column(c[0], INT, 20, flags, 0, table, table, db, c[0], COLLATION_BINARY)
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
            COLLATION_BINARY,
        )
    width = int(re.sub(r"\D", "", c[1]) or 16383)
    kind_code = FieldType.MYSQL_TYPE_BLOB if kind == "text" else FieldType.MYSQL_TYPE_VAR_STRING
    if kind == "text":
        flags |= FieldFlag.BLOB_FLAG
    return Column(c[0], kind_code, width * 4, flags, 0, table, table, db, c[0])
