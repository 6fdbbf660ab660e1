"""MySQL expressions over constants: values, NULL and type rules, result metadata, errors, bounds."""

from __future__ import annotations

import pytest

from honeypods.mysql.codec import Err, ResultSet
from honeypods.mysql.codec.constants import COLLATION_BINARY, FieldFlag, FieldType
from honeypods.mysql.sql import SqlSession, answer, default_variables
from honeypods.mysql.sql.expr import MAX_DEPTH
from honeypods.mysql.sql.text import MAX_ANALYSED

NOT_NULL = FieldFlag.NOT_NULL_FLAG
NUMBER = FieldFlag.BINARY_FLAG | FieldFlag.NUM_FLAG


def _session(database: str | None = None) -> SqlSession:
    variables = default_variables("8.0.36", "0123456789ab", 3306)
    return SqlSession("root", "10.0.0.9", 42, "8.0.36", variables, database=database)


def _result(query: str, s: SqlSession | None = None) -> ResultSet:
    reply = answer(query, s or _session())
    assert isinstance(reply, ResultSet), reply
    return reply


def _one(query: str) -> str | None:
    rows = _result(query).rows
    assert len(rows) == 1
    assert len(rows[0]) == 1
    return rows[0][0]


def _error(query: str, database: str | None = None) -> tuple[int, str]:
    reply = answer(query, _session(database))
    assert isinstance(reply, Err), reply
    return reply.code, reply.message


# What sqlmap's MySQL fingerprint asks (plugins/dbms/mysql/fingerprint.py), wrapped the way its
# direct-connection mode wraps a boolean check, and what MySQL 8.0 answers.
SQLMAP_CHECKS = [
    ("QUARTER(NULL XOR NULL) IS NULL", "1"),
    ("SESSION_USER() LIKE USER()", "1"),
    ("ISNULL(JSON_STORAGE_FREE(NULL))", "1"),
    ("ISNULL(TIMESTAMPADD(MINUTE,5,NULL))", "1"),
    ("VERSION() LIKE 0x254d61726961444225", "0"),  # '%MariaDB%'
    ("VERSION() LIKE 0x255469444225", "0"),  # '%TiDB%'
    ("@@VERSION_COMMENT LIKE 0x256472697a7a6c6525", "0"),  # '%drizzle%'
    ("@@VERSION_COMMENT LIKE '%Percona%'", "0"),
    ("CONNECTION_ID()=CONNECTION_ID()", "1"),
    ("USER()=USER()", "1"),
    ("DATABASE() LIKE SCHEMA()", "0"),  # NULL LIKE NULL: no database chosen yet
    ("STRCMP(LOWER(CURRENT_USER()), UPPER(CURRENT_USER()))=0", "1"),
    ("@@hostname=@@hostname", "1"),
    ("'W'=UPPER(MID(@@version_compile_os,1,1))", "0"),
    ("'/'=(SELECT MID(@@datadir, 1, 1))", "1"),
    ("4821=4821", "1"),
    ("4821=4822", "0"),
]


@pytest.mark.parametrize(("check", "expected"), SQLMAP_CHECKS)
def test_sqlmap_fingerprint_checks(check: str, expected: str) -> None:
    query = f"SELECT (CASE WHEN ({check}) THEN 1 ELSE 0 END)"
    result = _result(query)
    assert result.rows == ((expected,),)
    assert result.columns[0].name == f"(CASE WHEN ({check}) THEN 1 ELSE 0 END)"
    assert result.columns[0].type == FieldType.MYSQL_TYPE_LONGLONG


def test_sqlmap_union_marker_is_a_binary_string() -> None:
    query = "SELECT CONCAT(0x7178766271,(CASE WHEN (5=5) THEN 1 ELSE 0 END),0x7176706a71)"
    result = _result(query)
    assert result.rows == (("qxvbq1qvpjq",),)
    col = result.columns[0]
    assert (col.type, col.collation, col.flags & FieldFlag.BINARY_FLAG) == (
        FieldType.MYSQL_TYPE_VAR_STRING,
        COLLATION_BINARY,
        FieldFlag.BINARY_FLAG,
    )


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("SELECT 1+1", "2"),
        ("SELECT 7 DIV 2, 7 MOD 3, -7 % 3, 2 * 3 - 1", None),
        ("SELECT 1/2", "0.5000"),
        ("SELECT 1.50 + 1", "2.50"),
        ("SELECT 1/0", None),
        ("SELECT 0.1e0 + 0.2e0", "0.30000000000000004"),
        ("SELECT '3abc' + 1", "4"),
        ("SELECT 'abc' = 'ABC'", "1"),
        ("SELECT 'a' = 'a '", "0"),
        ("SELECT BINARY 'a' = 'A'", "0"),
        ("SELECT 'Ärger' LIKE 'arg%'", "1"),
        ("SELECT 'a_c' LIKE 'a\\_c', 'abc' LIKE 'a\\_c'", None),
        ("SELECT 'x%y' LIKE 'x|%y' ESCAPE '|'", "1"),
        ("SELECT NULL = NULL", None),
        ("SELECT NULL <=> NULL", "1"),
        ("SELECT 1 IN (2, NULL)", None),
        ("SELECT 1 IN (1, NULL)", "1"),
        ("SELECT 2 NOT BETWEEN 1 AND 3", "0"),
        ("SELECT NULL AND 0, NULL OR 1, NULL XOR 1, NOT NULL", None),
        ("SELECT IF(NULL, 'y', 'n')", "n"),
        ("SELECT IFNULL(NULL, 'z')", "z"),
        ("SELECT NULLIF(1, 1)", None),
        ("SELECT COALESCE(NULL, NULL, 3)", "3"),
        ("SELECT CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", "two"),
        ("SELECT CASE WHEN 1=0 THEN 1 ELSE 'x' END", "x"),
        ("SELECT CONCAT('a', NULL)", None),
        ("SELECT CONCAT_WS(',', 'a', NULL, 'b')", "a,b"),
        ("SELECT LENGTH('é'), CHAR_LENGTH('é')", None),
        ("SELECT SUBSTRING('abcdef', 2, 3)", "bcd"),
        ("SELECT SUBSTRING('abcdef' FROM -2)", "ef"),
        ("SELECT MID('abc', 0, 1)", ""),
        ("SELECT ASCII('A'), ORD('A')", None),
        ("SELECT CHAR(77,121,83,81,76)", "MySQL"),
        ("SELECT HEX('abc'), HEX(255)", None),
        ("SELECT UNHEX('4d7953514c')", "MySQL"),
        ("SELECT MD5('a')", "0cc175b9c0f1b6a831c399e269772661"),
        ("SELECT SHA1('a')", "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"),
        ("SELECT LOWER('ÀB'), UPPER('x')", None),
        ("SELECT QUARTER('2024-05-17')", "2"),
        ("SELECT QUARTER(NULL)", None),
        ("SELECT ORD(MID((SELECT IFNULL(CAST(DATABASE() AS NCHAR),0x20)),1,1))>64", "0"),
        ("SELECT 18446744073709551615 & 1", "1"),
        ("SELECT 1 << 70", "0"),
        ("SELECT _utf8mb4'ab' 'cd'", "abcd"),
        ("SELECT X'4142', 0b0100001", None),
        ("SELECT 'it''s', \"dq\", 'a\\nb'", None),
    ],
)
def test_values(query: str, value: str | None) -> None:
    result = _result(query)
    if value is not None or len(result.columns) == 1:
        assert result.rows == ((value,),)


def test_several_values_at_once() -> None:
    rows = _result("SELECT 7 DIV 2, 7 MOD 3, -7 % 3, NULL AND 0, NULL OR 1, NOT NULL").rows
    assert rows == (("3", "1", "-1", "0", "1", None),)
    rows = _result("SELECT LENGTH('é'), CHAR_LENGTH('é'), HEX('abc'), HEX(255), X'4142'").rows
    assert rows == (("2", "1", "616263", "FF", "AB"),)


def test_column_types_as_mysql_8_sends_them() -> None:
    result = _result("SELECT 1, 'a', NULL, 1.5, 1e0, NOW(), CONNECTION_ID(), DATABASE()")
    described = [(c.name, c.type, c.length, int(c.flags), c.decimals) for c in result.columns]
    assert described == [
        ("1", FieldType.MYSQL_TYPE_LONGLONG, 1, NOT_NULL | NUMBER, 0),
        ("a", FieldType.MYSQL_TYPE_VAR_STRING, 4, NOT_NULL, 31),
        ("NULL", FieldType.MYSQL_TYPE_NULL, 0, FieldFlag.BINARY_FLAG, 0),
        ("1.5", FieldType.MYSQL_TYPE_NEWDECIMAL, 4, NOT_NULL | NUMBER, 1),
        ("1e0", FieldType.MYSQL_TYPE_DOUBLE, 23, NOT_NULL | NUMBER, 31),
        ("NOW()", FieldType.MYSQL_TYPE_DATETIME, 19, NOT_NULL | FieldFlag.BINARY_FLAG, 0),
        ("CONNECTION_ID()", FieldType.MYSQL_TYPE_LONGLONG, 10, NOT_NULL | NUMBER | 32, 0),
        ("DATABASE()", FieldType.MYSQL_TYPE_VAR_STRING, 256, 0, 31),
    ]
    assert result.columns[1].collation is None  # the connection's utf8mb4
    assert {c.collation for i, c in enumerate(result.columns) if i not in (1, 7)} == {63}


def test_names_aliases_and_where_limit() -> None:
    result = _result("SELECT 1 AS one, 2 two, 'x' AS `three`, 1 + 1")
    assert [c.name for c in result.columns] == ["one", "two", "three", "1 + 1"]
    assert _result("SELECT 1 FROM DUAL WHERE 5!=5").rows == ()
    assert _result("SELECT 1 FROM DUAL WHERE 5=5").rows == (("1",),)
    assert _result("SELECT 1 LIMIT 1, 1").rows == ()
    assert _result("SELECT 1 LIMIT 0, 1").rows == (("1",),)
    assert _result("SELECT 1 LIMIT 1 OFFSET 0").rows == (("1",),)
    assert _result("SELECT @@version_comment limit 1").rows == (("MySQL Community Server - GPL",),)


def test_sleep_and_benchmark_ask_for_a_delay_and_only_when_evaluated() -> None:
    s = _session()
    assert _result("SELECT SLEEP(3)", s).rows == (("0",),)
    assert s.take_sleep() == 3.0
    assert s.take_sleep() == 0.0
    _result("SELECT IF(1=2, SLEEP(5), 0), CASE WHEN 1 THEN 0 ELSE SLEEP(7) END", s)
    _result("SELECT SLEEP(9) FROM DUAL WHERE 1=0", s)
    _result("SELECT 0 AND SLEEP(4), 1 OR SLEEP(4)", s)
    assert s.take_sleep() == 0.0
    _result("SELECT 1234 FROM (SELECT(SLEEP(2)))abc", s)
    assert s.take_sleep() == 2.0
    assert _result("SELECT BENCHMARK(5000000,MD5(0x41))", s).rows == (("0",),)
    assert 0.5 < s.take_sleep() < 5


@pytest.mark.parametrize(
    ("query", "database", "code", "message"),
    [
        (
            "SELECT AURORA_VERSION()",
            "app_prod",
            1305,
            "FUNCTION app_prod.AURORA_VERSION does not exist",
        ),
        ("SELECT GEOGRAPHY_AREA(NULL)", None, 1046, "No database selected"),
        (
            "SELECT SUBSTR('a')",
            None,
            1582,
            "Incorrect parameter count in the call to native function 'SUBSTR'",
        ),
        (
            "SELECT 9223372036854775807 * 2",
            None,
            1690,
            "BIGINT value is out of range in '(9223372036854775807 * 2)'",
        ),
        ("SELECT nope", None, 1054, "Unknown column 'nope' in 'field list'"),
        ("SELECT 1 WHERE nope", None, 1054, "Unknown column 'nope' in 'where clause'"),
        ("SELECT @@nope", None, 1193, "Unknown system variable 'nope'"),
        ("SELECT (SELECT 1, 2)", None, 1241, "Operand should contain 1 column(s)"),
        ("SELECT SLEEP(-1)", None, 1210, "Incorrect arguments to sleep"),
        ("SELECT 'a' REGEXP '(a+)+b'", None, 3699, "Timeout exceeded in regular expression match."),
    ],
)
def test_errors_mysql_gives(query: str, database: str | None, code: int, message: str) -> None:
    assert _error(query, database) == (code, message)


@pytest.mark.parametrize(
    ("query", "near"),
    [
        ("SELECT 1 +", ""),
        ("SELECT CASE WHEN 1 END", "END"),
        ("SELECT (1", ""),
        ("SELECT 1 FROM DUAL WHERE", ""),
        ("SELECT 'unclosed", "'unclosed"),
    ],
)
def test_syntax_errors_quote_where_mysql_stops(query: str, near: str) -> None:
    code, message = _error(query)
    assert code == 1064
    assert f"near '{near}' at line 1" in message


def test_bad_input_stays_bounded() -> None:
    deep = "SELECT " + "(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5)
    assert _error(deep)[0] == 1064
    assert _one("SELECT REPEAT('a', 1000000000)") is None  # over the string cap: NULL
    assert _one("SELECT LENGTH(REPEAT('ab', 1000))") == "2000"
    # Many wildcards against a long subject: matched without backtracking.
    subject = "a" * (MAX_ANALYSED // 2)
    assert _one(f"SELECT '{subject}' LIKE '{'%a' * 200}%b'") == "0"
