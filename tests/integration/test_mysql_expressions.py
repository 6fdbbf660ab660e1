"""Constant expressions through a real client over a real socket: sqlmap's fingerprint, result
metadata as PyMySQL reads it, and time-based probes held for as long as asked, up to the cap."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pymysql
import pytest
from pymysql.constants import FIELD_TYPE
from tests.conftest import DecoyProcess

pytestmark = pytest.mark.integration

# sqlmap's MySQL checks (plugins/dbms/mysql/fingerprint.py) and what MySQL 8.0.36 answers.
FINGERPRINT = [
    ("QUARTER(NULL XOR NULL) IS NULL", 1),
    ("SESSION_USER() LIKE USER()", 1),
    ("ISNULL(JSON_STORAGE_FREE(NULL))", 1),
    ("VERSION() LIKE 0x254d61726961444225", 0),
    ("VERSION() LIKE 0x255469444225", 0),
    ("@@VERSION_COMMENT LIKE 0x256472697a7a6c6525", 0),
    ("'W'=UPPER(MID(@@version_compile_os,1,1))", 0),
]


def test_sqlmap_fingerprint_and_metadata_through_pymysql(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy()
    with pymysql.connect(host="127.0.0.1", port=port, user="root", password="") as conn:
        cur = conn.cursor()
        for check, expected in FINGERPRINT:
            cur.execute(f"SELECT (CASE WHEN ({check}) THEN 1 ELSE 0 END)")
            assert cur.fetchall() == ((expected,),), check
        cur.execute("SELECT CONCAT(0x7178766271,(CASE WHEN (1=1) THEN 1 ELSE 0 END),0x7176706a71)")
        assert cur.fetchall() == ((b"qxvbq1qvpjq",),)  # binary, as from MySQL
        cur.execute("SELECT 1, 'a', NULL, 1.5, 1/3, 2e0, NOW() IS NOT NULL, HEX(255)")
        row = cur.fetchone()
        assert row is not None
        assert row[:6] == (1, "a", None, Decimal("1.5"), Decimal("0.3333"), 2.0)
        assert row[6:] == (1, "FF")
        types = [d[1] for d in cur.description]
        assert types == [
            FIELD_TYPE.LONGLONG,
            FIELD_TYPE.VAR_STRING,
            FIELD_TYPE.NULL,
            FIELD_TYPE.NEWDECIMAL,
            FIELD_TYPE.NEWDECIMAL,
            FIELD_TYPE.DOUBLE,
            FIELD_TYPE.LONGLONG,
            FIELD_TYPE.VAR_STRING,
        ]
        assert [d[0] for d in cur.description][:3] == ["1", "a", "NULL"]
        with pytest.raises(pymysql.err.OperationalError) as info:
            cur.execute("SELECT AURORA_VERSION()")
        assert info.value.args == (1046, "No database selected")
    commands = proc.wait_for(
        lambda docs: sum(d["event"]["action"] == "mysql.command" for d in docs) >= 10
    )
    assert commands


def test_sleep_is_held_up_to_the_cap_and_logged(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy(HONEYPODS_MYSQL_MAX_SLEEP="1")
    with pymysql.connect(host="127.0.0.1", port=port, user="root", password="") as conn:
        cur = conn.cursor()
        started = time.monotonic()
        cur.execute("SELECT SLEEP(5)")
        assert cur.fetchall() == ((0,),)
        # Held for the cap at least (never timed from above: a slow machine must not fail it).
        assert time.monotonic() - started >= 1.0
        cur.execute("SELECT IF(1=2, SLEEP(5), 7)")
        assert cur.fetchall() == ((7,),)
        cur.execute("SELECT 1")  # a reply after a held one comes in order
        assert cur.fetchall() == ((1,),)

    def queries(docs: list[dict[str, object]]) -> list[dict[str, object]]:
        return [d for d in docs if d["event"]["action"] == "mysql.command"]  # type: ignore[index]

    docs = queries(proc.wait_for(lambda d: len(queries(d)) >= 4))
    slept = [d for d in docs if "sleep" in d["mysql"]]  # type: ignore[operator]
    assert [
        (d["mysql"]["query"], d["mysql"]["sleep"], d["mysql"]["sleep_capped"]) for d in slept
    ] == [  # type: ignore[index]
        ("SELECT SLEEP(5)", 5.0, True)
    ]
