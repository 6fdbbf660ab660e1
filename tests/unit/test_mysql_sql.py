"""What the MySQL persona answers: statements in, replies (rows or MySQL's exact errors) out."""

from __future__ import annotations

import pytest

from honeypods.mysql.codec import Err, Ok, ResultSet, Status
from honeypods.mysql.sql import (
    SqlSession,
    answer,
    default_variables,
    field_list,
    split_statements,
    use_database,
)


def _session(database: str | None = None) -> SqlSession:
    variables = default_variables("8.0.36", "0123456789ab", 3306)
    return SqlSession("root", "10.0.0.9", 42, "8.0.36", variables, database=database)


def _rows(query: str, database: str | None = None) -> list[tuple[str | None, ...]]:
    reply = answer(query, _session(database))
    assert isinstance(reply, ResultSet), reply
    return list(reply.rows)


def _error(query: str, database: str | None = None) -> tuple[int, str, str]:
    reply = answer(query, _session(database))
    assert isinstance(reply, Err), reply
    return reply.code, reply.sqlstate, reply.message


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("select @@version_comment limit 1", [("MySQL Community Server - GPL",)]),
        ("SELECT VERSION()", [("8.0.36",)]),
        ("SELECT DATABASE()", [(None,)]),
        ("SELECT USER(), CURRENT_USER()", [("root@10.0.0.9", "root@%")]),
        ("SELECT 1", [("1",)]),
        ("/* ping */ SELECT 1;", [("1",)]),
        ("SELECT @@session.auto_increment_increment AS inc, 'x' AS y", [("1", "x")]),
        ("SELECT CONNECTION_ID()", [("42",)]),
        (
            "SHOW DATABASES",
            [("app_prod",), ("billing",), ("information_schema",), ("performance_schema",)],
        ),
        ("show schemas like 'bill%'", [("billing",)]),
        ("SHOW TABLES FROM billing", [("invoices",), ("payment_methods",)]),
        ("SHOW VARIABLES LIKE 'max_allowed_packet'", [("max_allowed_packet", "67108864")]),
        ("show global variables where Variable_name = 'read_only'", [("read_only", "ON")]),
        ("SELECT COUNT(*) FROM app_prod.users", [("0",)]),
        ("SELECT * FROM `billing`.`invoices` WHERE id > 3", []),
        (
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = 'billing'",
            [("billing",)],
        ),
        (
            "select table_name from information_schema.tables where table_schema='app_prod'",
            [("users",), ("customers",), ("api_keys",), ("sessions",)],
        ),
        ("SELECT LOAD_FILE('/etc/passwd')", [(None,)]),
        ("SELECT 1 UNION SELECT 2", [("1",), ("2",)]),
        ("SELECT 'a;b'", [("a;b",)]),
        (
            "select group_concat(schema_name) from information_schema.schemata",
            [("app_prod,billing,information_schema,performance_schema",)],
        ),
        ("SELECT @@plugin_dir", [("/usr/lib64/mysql/plugin/",)]),
    ],
)
def test_answers(query: str, rows: list[tuple[str | None, ...]]) -> None:
    assert _rows(query) == rows


@pytest.mark.parametrize(
    ("query", "database", "error"),
    [
        ("", None, (1065, "42000", "Query was empty")),
        ("SELECT * FROM users", None, (1046, "3D000", "No database selected")),
        ("SELECT * FROM cards", "billing", (1146, "42S02", "Table 'billing.cards' doesn't exist")),
        ("SELECT * FROM nope.t", None, (1049, "42000", "Unknown database 'nope'")),
        (
            "SELECT nope FROM users",
            "app_prod",
            (1054, "42S22", "Unknown column 'nope' in 'field list'"),
        ),
        (
            "SELECT @@query_cache_size",
            None,
            (1193, "HY000", "Unknown system variable 'query_cache_size'"),
        ),
        (
            "SELECT user, authentication_string FROM mysql.user",
            None,
            (1142, "42000", "SELECT command denied to user 'root'@'10.0.0.9' for table 'user'"),
        ),
        (
            "DROP TABLE users",
            "app_prod",
            (1142, "42000", "DROP command denied to user 'root'@'10.0.0.9' for table 'users'"),
        ),
        (
            "INSERT INTO app_prod.users (email) VALUES ('a@b')",
            None,
            (1142, "42000", "INSERT command denied to user 'root'@'10.0.0.9' for table 'users'"),
        ),
        (
            "CREATE DATABASE loot",
            None,
            (1044, "42000", "Access denied for user 'root'@'%' to database 'loot'"),
        ),
        (
            "SET GLOBAL general_log = 1",
            None,
            (
                1227,
                "42000",
                "Access denied; you need (at least one of) the SUPER or SYSTEM_VARIABLES_ADMIN "
                "privilege(s) for this operation",
            ),
        ),
        (
            "SELECT '<?php system($_GET[c]); ?>' INTO OUTFILE '/var/www/html/s.php'",
            None,
            (1045, "28000", "Access denied for user 'root'@'%' (using password: YES)"),
        ),
        (
            "SELECT 1 UNION SELECT 1, 2",
            None,
            (1222, "21000", "The used SELECT statements have a different number of columns"),
        ),
        (
            "SELECT 1; DROP TABLE users",
            None,
            (
                1064,
                "42000",
                "You have an error in your SQL syntax; check the manual that corresponds to your "
                "MySQL server version for the right syntax to use near 'DROP TABLE users' at line 1",
            ),
        ),
        (
            "hello world",
            None,
            (
                1064,
                "42000",
                "You have an error in your SQL syntax; check the manual that corresponds to your "
                "MySQL server version for the right syntax to use near 'hello world' at line 1",
            ),
        ),
    ],
)
def test_errors(query: str, database: str | None, error: tuple[int, str, str]) -> None:
    assert _error(query, database) == error


def test_session_state() -> None:
    s = _session()
    assert isinstance(answer("SET AUTOCOMMIT = 0", s), Ok)
    assert s.status == 0
    answer("START TRANSACTION", s)
    assert s.status == Status.SERVER_STATUS_IN_TRANS
    answer("COMMIT", s)
    answer("set autocommit=1", s)
    assert s.status == Status.SERVER_STATUS_AUTOCOMMIT
    assert isinstance(answer("SET NAMES utf8mb4", s), Ok)
    reply = answer("USE billing", s)
    assert isinstance(reply, Ok)
    assert reply.session_state == b"\x01\x08\x07billing"
    assert s.database == "billing"
    assert _rows_in(s, "SELECT DATABASE()") == [("billing",)]
    assert isinstance(use_database("mysql", s), Err)
    assert s.database == "billing"


def _rows_in(s: SqlSession, query: str) -> list[tuple[str | None, ...]]:
    reply = answer(query, s)
    assert isinstance(reply, ResultSet)
    return list(reply.rows)


def test_grants_explain_the_refusals() -> None:
    grants = [row[0] for row in _rows("SHOW GRANTS")]
    assert grants[0] == "GRANT USAGE ON *.* TO `root`@`%`"
    assert "GRANT SELECT, SHOW VIEW ON `app_prod`.* TO `root`@`%`" in grants


def test_field_list_and_describe() -> None:
    s = _session("app_prod")
    columns = field_list("api_keys", s)
    assert not isinstance(columns, Err)
    assert [c.name for c in columns] == ["id", "user_id", "name", "secret", "last_used_at"]
    assert _rows_in(s, "DESCRIBE api_keys")[0] == (
        "id",
        "bigint unsigned",
        "NO",
        "PRI",
        None,
        "auto_increment",
    )
    create = _rows_in(s, "SHOW CREATE TABLE users")[0][1]
    assert create is not None
    assert create.startswith("CREATE TABLE `users` (")


def test_split_statements() -> None:
    assert split_statements("SELECT 1; SELECT ';' ;; USE x;") == [
        "SELECT 1",
        " SELECT ';' ",
        " USE x",
    ]
    assert split_statements(";") == [";"]
