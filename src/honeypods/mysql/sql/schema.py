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

# (column, type as SHOW COLUMNS prints it, key, extra); every table is empty. The rows most tables
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
# What SHOW DATABASES lists for an account with grants on SCHEMAS only.
VISIBLE_DATABASES: Final = ("app_prod", "billing", "information_schema", "performance_schema")
SYSTEM_DATABASES: Final = ("mysql", "sys", "performance_schema")

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


INFO_TABLES: Final[Mapping[str, tuple[str, ...]]] = {
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


def info_rows(table: str) -> list[tuple[str, ...]]:
    """The rows of information_schema's SCHEMATA, TABLES or COLUMNS."""
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
