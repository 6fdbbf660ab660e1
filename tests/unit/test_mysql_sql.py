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
        ("show global variables where Variable_name = 'read_only'", [("read_only", "OFF")]),
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
            "DROP TABLE mysql.user",
            "app_prod",
            (1142, "42000", "DROP command denied to user 'root'@'10.0.0.9' for table 'user'"),
        ),
        (
            "INSERT INTO mysql.user (user) VALUES ('a')",
            None,
            (1142, "42000", "INSERT command denied to user 'root'@'10.0.0.9' for table 'user'"),
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
    assert grants[0] == "GRANT RELOAD, PROCESS ON *.* TO `root`@`%`"
    assert (
        "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY "
        "TABLES, LOCK TABLES, SHOW VIEW, TRIGGER ON `app_prod`.* TO `root`@`%`"
    ) in grants


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


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        # A version comment runs on a server at least that new; /*! without a number always.
        ("/*!40101 SELECT 1 */", [("1",)]),
        ("SELECT /*!80036 2 */", [("2",)]),
        ("/*! SELECT 3 */", [("3",)]),
        # Optimizer hints and comments for newer servers are ignored.
        ("SELECT /*+ MAX_EXECUTION_TIME(1000) */ 4", [("4",)]),
        ("SELECT 5 /*!80037 , 6 */", [("5",)]),
        ("SELECT /*!40001 SQL_NO_CACHE */ * FROM app_prod.users", []),
    ],
)
def test_version_comments(query: str, rows: list[tuple[str | None, ...]]) -> None:
    assert _rows(query) == rows


def test_a_comment_for_a_newer_server_is_an_empty_query() -> None:
    assert _error("/*!99999 DROP DATABASE app_prod */") == (1065, "42000", "Query was empty")
    assert isinstance(answer("/*!40100 SET @@SQL_MODE='' */", _session()), Ok)


@pytest.mark.parametrize(
    ("query", "affected", "info"),
    [
        ("DROP TABLE IF EXISTS `users`", 0, b""),
        ("CREATE TABLE `users` (`id` bigint unsigned NOT NULL)", 0, b""),
        ("LOCK TABLES `users` WRITE, billing.invoices READ /*!32311 LOCAL */", 0, b""),
        ("/*!40000 ALTER TABLE `users` DISABLE KEYS */", 0, b""),
        (
            "INSERT INTO `users` VALUES (1,'a@b.c','x'),(2,'(,)','y')",
            2,
            b"Records: 2  Duplicates: 0  Warnings: 0",
        ),
        ("INSERT INTO users SET email = 'a'", 1, b""),
        ("UPDATE users SET role = 'admin'", 0, b"Rows matched: 0  Changed: 0  Warnings: 0"),
        ("DELETE FROM billing.invoices", 0, b""),
        ("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `billing`", 0, b""),
        ("TRUNCATE TABLE users", 0, b""),
        ("FLUSH /*!40101 LOCAL */ TABLES", 0, b""),
        ("FLUSH TABLES WITH READ LOCK", 0, b""),
        ("UNLOCK TABLES", 0, b""),
        ("SAVEPOINT sp", 0, b""),
        ("ROLLBACK TO SAVEPOINT sp", 0, b""),
        ("RELEASE SAVEPOINT sp", 0, b""),
    ],
)
def test_a_dump_loads_into_the_application_schemas(query: str, affected: int, info: bytes) -> None:
    reply = answer(query, _session("app_prod"))
    assert reply == Ok(affected_rows=affected, info=info)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (
            "CREATE DATABASE billing",
            (1007, "HY000", "Can't create database 'billing'; database exists"),
        ),
        (
            "CREATE TABLE loot.t (a int)",
            (1142, "42000", "CREATE command denied to user 'root'@'10.0.0.9' for table 't'"),
        ),
        (
            "LOCK TABLES mysql.user READ",
            (
                1142,
                "42000",
                "LOCK TABLES command denied to user 'root'@'10.0.0.9' for table 'user'",
            ),
        ),
        (
            "DROP DATABASE mysql",
            (1044, "42000", "Access denied for user 'root'@'%' to database 'mysql'"),
        ),
        ("INSERT INTO users VALUES (1)", (1046, "3D000", "No database selected")),
        (
            "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE app_prod.users",
            (
                3948,
                "42000",
                "Loading local data is disabled; this must be enabled on both the client and server sides",
            ),
        ),
    ],
)
def test_writes_outside_the_grants_are_refused(query: str, error: tuple[int, str, str]) -> None:
    assert _error(query) == error


def test_keys_agree_across_describe_show_index_and_show_create() -> None:
    s = _session("app_prod")
    for db in ("app_prod", "billing"):
        for (table,) in _rows_in(s, f"SHOW TABLES FROM {db}"):
            described = {(r[0], r[3]) for r in _rows_in(s, f"DESCRIBE {db}.{table}") if r[3]}
            index = _rows_in(s, f"SHOW INDEX FROM {table} FROM {db}")
            shown = {
                (r[4], "PRI" if r[2] == "PRIMARY" else ("UNI" if r[1] == "0" else "MUL"))
                for r in index
            }
            assert shown == described, table
            create = _rows_in(s, f"SHOW CREATE TABLE {db}.{table}")[0][1] or ""
            for column, key in described:
                line = {
                    "PRI": f"PRIMARY KEY (`{column}`)",
                    "UNI": f"UNIQUE KEY `{column}` (`{column}`)",
                }
                assert line.get(key, f"  KEY `{column}` (`{column}`)") in create, (table, column)
            where = f"WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{table}'"
            statistics = "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
            stats = _rows_in(s, statistics + where)
            assert {(r[2], r[4]) for r in index} == set(stats)


def test_com_refresh_is_flush_and_the_account_has_reload() -> None:
    from honeypods.mysql.codec import Command
    from honeypods.mysql.codec.constants import Com
    from honeypods.mysql.commands import Commands

    reply = Commands(_session(), 0).answer(Command(Com.COM_REFRESH, b"\x01")).reply
    assert reply == Ok()
