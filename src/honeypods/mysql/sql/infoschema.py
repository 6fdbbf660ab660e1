"""information_schema: its views' columns as MySQL 8.0 types them, and their rows.

Rules this module keeps:

* Each view's columns are MySQL 8.0.36's, in order, with the type ``DESCRIBE
  information_schema.<view>`` prints (the system views of ``sql/dd/impl/system_views``);
  ``typed_column`` turns that type into the ColumnDefinition41 MySQL sends for it: integers as
  LONG/LONGLONG with the binary collation, strings as VAR_STRING with their width in the
  connection's character set, enums as STRING with ENUM_FLAG, NOT NULL where the view says NO.
* The rows come from ``schema``, so information_schema, SHOW and DESCRIBE never disagree; the
  numbers are an empty InnoDB table's (16 KiB of data, one page per secondary index).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from honeypods.mysql.codec.constants import COLLATION_BINARY, FieldFlag, FieldType
from honeypods.mysql.codec.packets import Column
from honeypods.mysql.sql.schema import Schemas, indexes

_VC64: Final = "varchar(64)"
_UBIGINT: Final = "bigint unsigned"
# (column, type, nullable) of each view the persona serves, as MySQL 8.0 describes them.
VIEWS: Final[Mapping[str, Sequence[tuple[str, str, bool]]]] = {
    "SCHEMATA": (
        ("CATALOG_NAME", _VC64, False),
        ("SCHEMA_NAME", _VC64, False),
        ("DEFAULT_CHARACTER_SET_NAME", _VC64, False),
        ("DEFAULT_COLLATION_NAME", _VC64, False),
        ("SQL_PATH", "binary(0)", True),
        ("DEFAULT_ENCRYPTION", "enum('NO','YES')", False),
    ),
    "TABLES": (
        ("TABLE_CATALOG", _VC64, False),
        ("TABLE_SCHEMA", _VC64, False),
        ("TABLE_NAME", _VC64, False),
        ("TABLE_TYPE", "enum('BASE TABLE','VIEW','SYSTEM VIEW')", False),
        ("ENGINE", _VC64, True),
        ("VERSION", "int", True),
        ("ROW_FORMAT", "enum('Fixed','Dynamic','Compressed','Redundant','Compact','Paged')", True),
        ("TABLE_ROWS", _UBIGINT, True),
        ("AVG_ROW_LENGTH", _UBIGINT, True),
        ("DATA_LENGTH", _UBIGINT, True),
        ("MAX_DATA_LENGTH", _UBIGINT, True),
        ("INDEX_LENGTH", _UBIGINT, True),
        ("DATA_FREE", _UBIGINT, True),
        ("AUTO_INCREMENT", _UBIGINT, True),
        ("CREATE_TIME", "timestamp", False),
        ("UPDATE_TIME", "datetime", True),
        ("CHECK_TIME", "datetime", True),
        ("TABLE_COLLATION", _VC64, True),
        ("CHECKSUM", "bigint", True),
        ("CREATE_OPTIONS", "varchar(256)", True),
        ("TABLE_COMMENT", "text", True),
    ),
    "COLUMNS": (
        ("TABLE_CATALOG", _VC64, False),
        ("TABLE_SCHEMA", _VC64, False),
        ("TABLE_NAME", _VC64, False),
        ("COLUMN_NAME", _VC64, True),
        ("ORDINAL_POSITION", "int unsigned", False),
        ("COLUMN_DEFAULT", "text", True),
        ("IS_NULLABLE", "varchar(3)", False),
        ("DATA_TYPE", "longtext", True),
        ("CHARACTER_MAXIMUM_LENGTH", "bigint", True),
        ("CHARACTER_OCTET_LENGTH", "bigint", True),
        ("NUMERIC_PRECISION", _UBIGINT, True),
        ("NUMERIC_SCALE", _UBIGINT, True),
        ("DATETIME_PRECISION", "int unsigned", True),
        ("CHARACTER_SET_NAME", _VC64, True),
        ("COLLATION_NAME", _VC64, True),
        ("COLUMN_TYPE", "mediumtext", False),
        ("COLUMN_KEY", "enum('','PRI','UNI','MUL')", False),
        ("EXTRA", "varchar(256)", True),
        ("PRIVILEGES", "varchar(154)", True),
        ("COLUMN_COMMENT", "text", False),
        ("GENERATION_EXPRESSION", "longtext", False),
        ("SRS_ID", "int unsigned", True),
    ),
    "STATISTICS": (
        ("TABLE_CATALOG", _VC64, False),
        ("TABLE_SCHEMA", _VC64, False),
        ("TABLE_NAME", _VC64, False),
        ("NON_UNIQUE", "int", False),
        ("INDEX_SCHEMA", _VC64, False),
        ("INDEX_NAME", _VC64, True),
        ("SEQ_IN_INDEX", "int unsigned", False),
        ("COLUMN_NAME", _VC64, True),
        ("COLLATION", "varchar(1)", True),
        ("CARDINALITY", "bigint", True),
        ("SUB_PART", "bigint", True),
        ("PACKED", "binary(0)", True),
        ("NULLABLE", "varchar(3)", False),
        ("INDEX_TYPE", "varchar(11)", False),
        ("COMMENT", "varchar(8)", False),
        ("INDEX_COMMENT", "varchar(2048)", False),
        ("IS_VISIBLE", "varchar(3)", False),
        ("EXPRESSION", "longtext", True),
    ),
    "FILES": (
        ("FILE_ID", "bigint", True),
        ("FILE_NAME", "text", True),
        ("FILE_TYPE", "varchar(256)", True),
        ("TABLESPACE_NAME", "varchar(268)", False),
        ("TABLE_CATALOG", "char(0)", False),
        ("TABLE_SCHEMA", "binary(0)", True),
        ("TABLE_NAME", "binary(0)", True),
        ("LOGFILE_GROUP_NAME", "varchar(256)", True),
        ("LOGFILE_GROUP_NUMBER", "bigint", True),
        ("ENGINE", _VC64, False),
        ("FULLTEXT_KEYS", "binary(0)", True),
        ("DELETED_ROWS", "binary(0)", True),
        ("UPDATE_COUNT", "binary(0)", True),
        ("FREE_EXTENTS", "bigint", True),
        ("TOTAL_EXTENTS", "bigint", True),
        ("EXTENT_SIZE", "bigint", True),
        ("INITIAL_SIZE", "bigint", True),
        ("MAXIMUM_SIZE", "bigint", True),
        ("AUTOEXTEND_SIZE", "bigint", True),
        ("CREATION_TIME", "binary(0)", True),
        ("LAST_UPDATE_TIME", "binary(0)", True),
        ("LAST_ACCESS_TIME", "binary(0)", True),
        ("RECOVER_TIME", "binary(0)", True),
        ("TRANSACTION_COUNTER", "binary(0)", True),
        ("VERSION", "bigint", True),
        ("ROW_FORMAT", "varchar(256)", True),
        ("TABLE_ROWS", "binary(0)", True),
        ("AVG_ROW_LENGTH", "binary(0)", True),
        ("DATA_LENGTH", "binary(0)", True),
        ("MAX_DATA_LENGTH", "binary(0)", True),
        ("INDEX_LENGTH", "binary(0)", True),
        ("DATA_FREE", "bigint", True),
        ("CREATE_TIME", "binary(0)", True),
        ("UPDATE_TIME", "binary(0)", True),
        ("CHECK_TIME", "binary(0)", True),
        ("CHECKSUM", "binary(0)", True),
        ("STATUS", "varchar(256)", True),
        ("EXTRA", "varchar(256)", True),
    ),
    "TRIGGERS": (
        ("TRIGGER_CATALOG", _VC64, False),
        ("TRIGGER_SCHEMA", _VC64, False),
        ("TRIGGER_NAME", _VC64, False),
        ("EVENT_MANIPULATION", "enum('INSERT','UPDATE','DELETE')", False),
        ("EVENT_OBJECT_CATALOG", _VC64, False),
        ("EVENT_OBJECT_SCHEMA", _VC64, False),
        ("EVENT_OBJECT_TABLE", _VC64, False),
        ("ACTION_ORDER", "int unsigned", False),
        ("ACTION_CONDITION", "binary(0)", True),
        ("ACTION_STATEMENT", "longtext", False),
        ("ACTION_ORIENTATION", "varchar(3)", False),
        ("ACTION_TIMING", "enum('BEFORE','AFTER')", False),
        ("ACTION_REFERENCE_OLD_TABLE", "binary(0)", True),
        ("ACTION_REFERENCE_NEW_TABLE", "binary(0)", True),
        ("ACTION_REFERENCE_OLD_ROW", "varchar(3)", False),
        ("ACTION_REFERENCE_NEW_ROW", "varchar(3)", False),
        ("CREATED", "timestamp", False),
        ("SQL_MODE", "varchar(520)", False),
        ("DEFINER", "varchar(288)", False),
        ("CHARACTER_SET_CLIENT", _VC64, False),
        ("COLLATION_CONNECTION", _VC64, False),
        ("DATABASE_COLLATION", _VC64, False),
    ),
    "COLUMN_STATISTICS": (
        ("SCHEMA_NAME", _VC64, False),
        ("TABLE_NAME", _VC64, False),
        ("COLUMN_NAME", _VC64, False),
        ("HISTOGRAM", "json", False),
    ),
}
# information_schema's own texts are utf8mb3: a character is 3 bytes where the type counts bytes.
_LONG_TEXT: Final = {"text": 65535, "mediumtext": 16777215, "longtext": 4294967295}
_NUMBERS: Final = {
    "int": (FieldType.MYSQL_TYPE_LONG, 11),
    "int unsigned": (FieldType.MYSQL_TYPE_LONG, 10),
    "bigint": (FieldType.MYSQL_TYPE_LONGLONG, 20),
    "bigint unsigned": (FieldType.MYSQL_TYPE_LONGLONG, 20),
}
_BINARY: Final = int(FieldFlag.BINARY_FLAG)


def typed_column(name: str, kind: str, nullable: bool, table: str, schema: str) -> Column:
    """The ColumnDefinition41 MySQL sends for a column of this SQL type, results in utf8mb4."""
    flags = 0 if nullable else int(FieldFlag.NOT_NULL_FLAG)

    def where(code: int, length: int, flags: int, collation: int | None = None) -> Column:
        return Column(name, code, length, flags, 0, table, table, schema, name, collation)

    if kind in _NUMBERS:
        code, width = _NUMBERS[kind]
        flags |= _BINARY | FieldFlag.NUM_FLAG
        if kind.endswith("unsigned"):
            flags |= FieldFlag.UNSIGNED_FLAG
        return where(code, width, flags, COLLATION_BINARY)
    if kind in ("datetime", "timestamp"):
        code = (
            FieldType.MYSQL_TYPE_DATETIME if kind == "datetime" else FieldType.MYSQL_TYPE_TIMESTAMP
        )
        return where(code, 19, flags | _BINARY, COLLATION_BINARY)
    if kind == "json":
        flags |= FieldFlag.BLOB_FLAG | _BINARY
        code = FieldType.MYSQL_TYPE_JSON
        return where(code, 4294967295, flags, COLLATION_BINARY)
    if kind in _LONG_TEXT:
        length = min(_LONG_TEXT[kind] // 3 * 4, 4294967295)
        flags |= FieldFlag.BLOB_FLAG
        return where(FieldType.MYSQL_TYPE_BLOB, length, flags)
    if kind.startswith("enum("):
        width = max(len(v) for v in re.findall(r"'([^']*)'", kind))
        flags |= FieldFlag.ENUM_FLAG
        return where(FieldType.MYSQL_TYPE_STRING, width * 4, flags)
    width = int(re.sub(r"\D", "", kind) or 0)
    if kind.startswith("binary"):
        flags |= _BINARY
        return where(FieldType.MYSQL_TYPE_STRING, width, flags, COLLATION_BINARY)
    code = (
        FieldType.MYSQL_TYPE_STRING if kind.startswith("char") else FieldType.MYSQL_TYPE_VAR_STRING
    )
    return where(code, width * 4, flags)


def view_columns(view: str) -> tuple[Column, ...]:
    """The result columns of ``SELECT * FROM information_schema.<view>``."""
    return tuple(typed_column(n, k, z, view, "information_schema") for n, k, z in VIEWS[view])


# When the persona's tables were made: CREATE_TIME, the same for every table, as after a restore.
CREATED: Final = "2024-03-11 09:14:27"


def _tables(schemas: Schemas) -> list[tuple[str | None, ...]]:
    out: list[tuple[str | None, ...]] = []
    for db, tables in schemas.items():
        for t, cols in tables.items():
            secondary = len({i[0] for i in indexes(cols)} - {"PRIMARY"})
            auto = "1" if any(c[3] == "auto_increment" for c in cols) else None
            out.append(
                (
                    "def",
                    db,
                    t,
                    "BASE TABLE",
                    "InnoDB",
                    "10",
                    "Dynamic",
                    "0",
                    "0",
                    "16384",
                    "0",
                    str(16384 * secondary),
                    "0",
                    auto,
                    CREATED,
                    None,
                    None,
                    "utf8mb4_0900_ai_ci",
                    None,
                    "",
                    "",
                )
            )
    return out


def _column_facts(kind: str) -> tuple[str | None, ...]:
    """DATA_TYPE through COLLATION_NAME of a column type."""
    base = kind.split("(", maxsplit=1)[0].split(maxsplit=1)[0]
    width = re.search(r"\((\d+)\)", kind)
    if base in ("bigint", "int"):
        precision = {"bigint": "20" if "unsigned" in kind else "19", "int": "10"}[base]
        return (base, None, None, precision, "0", None, None, None)
    if base == "datetime":
        return (base, None, None, None, None, "0", None, None)
    chars = width.group(1) if width else "65535"
    octets = str(int(chars) * 4) if width else "65535"
    return (base, chars, octets, None, None, None, "utf8mb4", "utf8mb4_0900_ai_ci")


def _columns(schemas: Schemas) -> list[tuple[str | None, ...]]:
    return [
        (
            "def",
            db,
            t,
            c[0],
            str(i),
            None,
            "NO" if c[2] == "PRI" else "YES",
            *_column_facts(c[1]),
            c[1],
            c[2],
            c[3],
            "select,insert,update,references",
            "",
            "",
            None,
        )
        for db, ts in schemas.items()
        for t, cols in ts.items()
        for i, c in enumerate(cols, 1)
    ]


def _statistics(schemas: Schemas) -> list[tuple[str | None, ...]]:
    return [
        (
            "def",
            db,
            t,
            str(non_unique),
            db,
            name,
            "1",
            column,
            "A",
            "0",
            None,
            None,
            "" if name == "PRIMARY" else "YES",
            "BTREE",
            "",
            "",
            "YES",
            None,
        )
        for db, ts in schemas.items()
        for t, cols in ts.items()
        for name, non_unique, column in indexes(cols)
    ]


def view_rows(
    view: str, schemas: Schemas, visible: tuple[str, ...]
) -> list[tuple[str | None, ...]]:
    """The rows of a view of the install's ``schemas``; FILES, TRIGGERS and COLUMN_STATISTICS
    have none."""
    if view == "SCHEMATA":
        return [("def", d, "utf8mb4", "utf8mb4_0900_ai_ci", None, "NO") for d in visible]
    if view == "TABLES":
        return _tables(schemas)
    if view == "COLUMNS":
        return _columns(schemas)
    if view == "STATISTICS":
        return _statistics(schemas)
    return []
