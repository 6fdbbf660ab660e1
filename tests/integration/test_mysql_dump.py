"""The MySQL decoy against dump clients and the column metadata real clients read.

Debian's ``mysqldump`` (MariaDB's) dumps every database and Debian's ``mysql`` loads the dump
back; PyMySQL and ``mysql --column-type-info`` read the ColumnDefinition41 of canned results.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pymysql
import pytest
from tests.conftest import DecoyProcess, require_tool

pytestmark = pytest.mark.integration

# FieldType and FieldFlag values of the protocol, as the client reads them.
LONG, LONGLONG, VAR_STRING, STRING = 3, 8, 253, 254
NOT_NULL, UNSIGNED, BINARY, ENUM, NUM = 1, 32, 128, 256, 32768
BINARY_COLLATION = 63


def _client(
    tool: str, port: int, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool(tool), "-h", "127.0.0.1", "-P", str(port), "--skip-ssl", "-u", "root", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _queries(proc: DecoyProcess) -> list[dict[str, Any]]:
    return [e["mysql"] for e in proc.of("mysql.command") if e["mysql"]["command"] == "COM_QUERY"]


def test_mysqldump_all_databases_then_load_it_back(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy()
    dump = _client("mysqldump", port, "--all-databases", "--routines", "--events", "--triggers")
    assert dump.returncode == 0, dump.stderr
    out = dump.stdout
    assert "-- Dump completed" in out
    for db in ("app_prod", "billing"):
        assert f"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `{db}`" in out
    assert "CREATE TABLE `users` (" in out
    assert "  UNIQUE KEY `email` (`email`)" in out
    assert "  KEY `customer_id` (`customer_id`)" in out
    assert "LOCK TABLES `payment_methods` WRITE;" in out
    dumped = _queries(proc)
    assert any(q["query"].startswith("/*!40100 SET @@SQL_MODE=''") for q in dumped)
    assert any("SQL_NO_CACHE" in q["query"] and "`users`" in q["query"] for q in dumped)
    # The only errors are the ones MySQL gives this account too, which mysqldump passes over:
    # MariaDB's own /*M! comments are empty queries, and the mysql schema is not granted.
    errors = {(q.get("error_code"), q["query"]) for q in dumped if q.get("error_code")}
    assert {code for code, _q in errors} <= {1065, 1142}
    assert all("mysql." in q for code, q in errors if code == 1142), errors

    # Loaded back with rows added, as an attacker restores a dump taken elsewhere.
    extra = (
        "INSERT INTO `users` VALUES (1,'root@example.com','$2y$10$abc','admin',NULL,NOW()),"
        "(2,'ops@example.com','$2y$10$def','ops',NULL,NOW());\n"
    )
    text = out.replace("UNLOCK TABLES;", extra + "UNLOCK TABLES;", 1)
    before = len(dumped)
    load = _client("mysql", port, stdin=text)
    assert load.returncode == 0, load.stderr
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "session.closed" for d in docs) >= 2)
    loaded = _queries(proc)[before:]
    sent = [q["query"] for q in loaded]
    assert "DROP TABLE IF EXISTS `users`" in sent
    assert any(q.startswith("CREATE TABLE `users` (") for q in sent)
    assert any(q.startswith("INSERT INTO `users` VALUES (1,'root@example.com'") for q in sent)
    assert {q.get("error_code") for q in loaded} <= {None, 1065}
    # Acknowledged, not kept: the next connection sees the same empty table.
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="")
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM app_prod.users")
        assert cur.fetchall() == ((0,),)
    conn.close()


def test_oracle_mysqldump_statements(mysql_decoy: Callable[..., tuple[DecoyProcess, int]]) -> None:
    """What Oracle's mysqldump 8.0 sends that MariaDB's does not (client/mysqldump.cc)."""
    _proc, port = mysql_decoy()
    conn = pymysql.connect(
        host="127.0.0.1", port=port, user="root", password="", database="app_prod"
    )
    with conn.cursor() as cur:
        for statement in (
            "/*!80000 SET SESSION information_schema_stats_expiry=0 */",
            "SET SESSION NET_READ_TIMEOUT= 86400, SESSION NET_WRITE_TIMEOUT= 86400",
            "FLUSH /*!40101 LOCAL */ TABLES",
            "FLUSH TABLES WITH READ LOCK",
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */",
            "SAVEPOINT sp",
            "SET SQL_QUOTE_SHOW_CREATE=1",
            "SET SESSION character_set_results = 'binary'",
            "ROLLBACK TO SAVEPOINT sp",
            "RELEASE SAVEPOINT sp",
            "UNLOCK TABLES",
        ):
            cur.execute(statement)
        cur.execute("SHOW VARIABLES LIKE 'gtid\\_mode'")
        assert cur.fetchall() == (("gtid_mode", "OFF"),)
        cur.execute("show table status like 'users'")
        (status,) = cur.fetchall()
        assert status[:5] == ("users", "InnoDB", 10, "Dynamic", 0)
        cur.execute(
            "SELECT COLUMN_NAME, JSON_EXTRACT(HISTOGRAM, '$.\"number-of-buckets-specified\"') "
            "FROM information_schema.COLUMN_STATISTICS WHERE SCHEMA_NAME = 'app_prod' AND "
            "TABLE_NAME = 'users';"
        )
        assert cur.fetchall() == ()
        cur.execute("SHOW TRIGGERS LIKE 'users'")
        assert cur.fetchall() == ()
        assert [d[0] for d in cur.description][:3] == ["Trigger", "Event", "Table"]
        cur.execute("SELECT /*!40001 SQL_NO_CACHE */ * FROM `users`")
        assert [d[0] for d in cur.description][:2] == ["id", "email"]
    conn.close()


def _fields(port: int, query: str) -> dict[str, Any]:
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="")
    with conn.cursor() as cur:
        cur.execute(query)
        # PyMySQL keeps the column definitions on the result; description drops flags and charset.
        fields = {f.name: f for f in cur._result.fields}  # type: ignore[union-attr]
        fields["rows"] = cur.fetchall()
    conn.close()
    return fields


def test_information_schema_numbers_are_integers(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    _proc, port = mysql_decoy()
    got = _fields(
        port,
        "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS, DATA_LENGTH, VERSION "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'billing'",
    )
    assert sorted(got["rows"]) == [
        ("invoices", "BASE TABLE", 0, 16384, 10),
        ("payment_methods", "BASE TABLE", 0, 16384, 10),
    ]
    rows_field = got["TABLE_ROWS"]
    assert (rows_field.type_code, rows_field.length, rows_field.charsetnr) == (
        LONGLONG,
        20,
        BINARY_COLLATION,
    )
    assert rows_field.flags == UNSIGNED | BINARY | NUM  # nullable: no NOT_NULL
    assert (got["VERSION"].type_code, got["VERSION"].flags) == (LONG, BINARY | NUM)
    name = got["TABLE_NAME"]
    assert (name.type_code, name.length, name.flags) == (VAR_STRING, 256, NOT_NULL)
    assert name.org_table == "TABLES"
    assert name.db == b"information_schema"
    kind = got["TABLE_TYPE"]
    assert (kind.type_code, kind.flags) == (STRING, NOT_NULL | ENUM)

    got = _fields(
        port,
        "SELECT COLUMN_NAME, ORDINAL_POSITION FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = 'app_prod' AND TABLE_NAME = 'api_keys'",
    )
    assert [r[1] for r in got["rows"]] == [1, 2, 3, 4, 5]
    position = got["ORDINAL_POSITION"]
    assert (position.type_code, position.length) == (LONG, 10)
    assert position.flags == NOT_NULL | UNSIGNED | BINARY | NUM


def test_mysql_column_type_info_of_show_index(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    _proc, port = mysql_decoy()
    done = _client(
        "mysql", port, "--column-type-info", "-t", "-e", "SHOW INDEX FROM app_prod.users"
    )
    assert done.returncode == 0, done.stderr
    blocks = {
        block.split("`")[1]: block
        for block in done.stdout.split("Field ")
        if block.strip() and "`" in block
    }
    assert "Type:       LONG\n" in blocks["Non_unique"]
    assert "Flags:      NOT_NULL BINARY NUM" in blocks["Non_unique"]
    assert "Type:       LONGLONG\n" in blocks["Cardinality"]
    assert "Type:       VAR_STRING\n" in blocks["Key_name"]
    assert "| users | 0 | PRIMARY | 1 | id |" in " ".join(done.stdout.split())
