"""The MySQL decoy against real clients and tools: PyMySQL, aiomysql, the mysql CLI, nmap, hydra.

Each test starts the real runner (``python -m honeypods run mysql``) on a free port and checks
both sides: what the client saw, and the events the decoy wrote.
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest
from tests.conftest import DecoyProcess, free_port, require_tool

from honeypods.mysql.install import weak_password
from honeypods.mysql.personas import WEAK_PASSWORDS

pytestmark = pytest.mark.integration

DENIED = "Access denied for user '{}'@'127.0.0.1' (using password: YES)"


def _logins(proc: DecoyProcess, count: int) -> list[dict[str, Any]]:
    proc.wait_for(lambda docs: _count(docs, "mysql.login") >= count)
    return proc.of("mysql.login")


def _count(docs: list[dict[str, Any]], action: str) -> int:
    return sum(d["event"]["action"] == action for d in docs)


def test_pymysql_session_and_wrong_password(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy()
    conn = pymysql.connect(
        host="127.0.0.1", port=port, user="root", password="", connect_timeout=10
    )
    with conn.cursor() as cur:
        cur.execute("SHOW DATABASES")
        assert ("app_prod",) in cur.fetchall()
        cur.execute("SELECT VERSION()")
        assert cur.fetchall() == (("8.0.36",),)
        cur.execute("USE app_prod")
        cur.execute("SELECT id, email FROM users")
        assert cur.fetchall() == ()
        assert [d[0] for d in cur.description] == ["id", "email"]
        cur.execute("SELECT DATABASE(), @@version_comment")
        assert cur.fetchall() == (("app_prod", "MySQL Community Server - GPL"),)
        with pytest.raises(pymysql.err.ProgrammingError) as info:
            cur.execute("SELECT * FROM secrets")
        assert info.value.args == (1146, "Table 'app_prod.secrets' doesn't exist")
        with pytest.raises(pymysql.err.ProgrammingError) as info:
            cur.execute("SELEC 1")
        assert info.value.args[0] == 1064
        assert "near 'SELEC 1' at line 1" in info.value.args[1]
        with pytest.raises(pymysql.err.OperationalError) as info:
            cur.execute("DELETE FROM mysql.user")
        assert info.value.args[0] == 1142
    conn.close()
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(
            host="127.0.0.1", port=port, user="root", password="nope", connect_timeout=10
        )
    assert info.value.args == (1045, DENIED.format("root"))

    logins = _logins(proc, 2)
    assert [e["event"]["outcome"] for e in logins] == ["success", "failure"]
    ok, bad = logins
    assert ok["user"]["name"] == "root"
    assert ok["mysql"]["auth_plugin"] == "caching_sha2_password"
    assert ok["mysql"]["connect_attrs"]["_client_name"] == "pymysql"
    assert len(ok["mysql"]["salt_hex"]) == 40
    assert ok["rule"]["name"] == "honeypod.vuln.svc"
    # The wrong password went through full authentication: decrypted, so logged in plaintext.
    assert bad["mysql"]["password"] == "nope"
    assert bad["mysql"]["error_code"] == 1045
    assert bad["mysql"]["salt_hex"] != ok["mysql"]["salt_hex"]
    proc.wait_for(lambda docs: _count(docs, "session.closed") >= 2)
    queries = [e["mysql"].get("query") for e in proc.of("mysql.command")]
    assert "SELECT * FROM secrets" in queries
    assert "USE app_prod" in queries


def test_pymysql_multi_statements(mysql_decoy: Callable[..., tuple[DecoyProcess, int]]) -> None:
    proc, port = mysql_decoy()
    flags = pymysql.constants.CLIENT.MULTI_STATEMENTS
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", client_flag=flags)
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(); USE billing; SHOW TABLES")
        results = [list(cur.fetchall())]
        while cur.nextset():
            results.append(list(cur.fetchall()))
        assert results == [[("8.0.36",)], [], [("invoices",), ("payment_methods",)]]
        cur.execute("SELECT 1; SELECT * FROM nope; SELECT 3")
        assert cur.fetchall() == ((1,),)
        with pytest.raises(pymysql.err.ProgrammingError) as info:
            cur.nextset()
        assert info.value.args[0] == 1146
        cur.execute("SELECT 4")
        assert cur.fetchall() == ((4,),)
    conn.close()
    proc.wait_for(lambda docs: _count(docs, "session.closed") >= 1)


async def test_aiomysql_session(mysql_decoy: Callable[..., tuple[DecoyProcess, int]]) -> None:
    aiomysql = pytest.importorskip("aiomysql")
    proc, port = mysql_decoy(HONEYPODS_MYSQL_ACCEPT="root:root")
    conn = await aiomysql.connect(host="127.0.0.1", port=port, user="root", password="root")
    async with conn.cursor() as cur:
        await cur.execute("SHOW DATABASES")
        assert ("billing",) in await cur.fetchall()
        await cur.execute("SELECT VERSION()")
        assert await cur.fetchall() == (("8.0.36",),)
        await cur.select_db("billing") if hasattr(cur, "select_db") else await conn.select_db(
            "billing"
        )
        await cur.execute("SELECT COUNT(*) FROM invoices")
        assert await cur.fetchall() == ((0,),)
    conn.close()
    with pytest.raises(pymysql.err.OperationalError) as info:
        await aiomysql.connect(host="127.0.0.1", port=port, user="admin", password="x")
    assert info.value.args[0] == 1045
    logins = _logins(proc, 2)
    assert [(e["user"]["name"], e["event"]["outcome"]) for e in logins] == [
        ("root", "success"),
        ("admin", "failure"),
    ]
    assert logins[0]["mysql"]["password"] == "root"
    commands = [e["mysql"]["command"] for e in proc.of("mysql.command")]
    assert "COM_INIT_DB" in commands


def test_native_password_via_auth_switch(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy(
        HONEYPODS_MYSQL_ACCEPT="root:password", HONEYPODS_MYSQL_AUTH_PLUGIN="mysql_native_password"
    )
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="password")
    with conn.cursor() as cur:
        cur.execute("SELECT USER()")
        assert cur.fetchall() == (("root@127.0.0.1",),)
    conn.close()
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(host="127.0.0.1", port=port, user="root", password="bad")
    assert info.value.args == (1045, DENIED.format("root"))
    logins = _logins(proc, 2)
    assert [e["mysql"]["auth_plugin"] for e in logins] == ["mysql_native_password"] * 2
    assert [e["event"]["outcome"] for e in logins] == ["success", "failure"]
    assert len(logins[1]["mysql"]["auth_response_hex"]) == 40


def test_mysql_connector_prepared_statements(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    connector = pytest.importorskip("mysql.connector")
    proc, port = mysql_decoy(HONEYPODS_MYSQL_ACCEPT="root:root,admin:admin")
    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "use_pure": True}
    conn = connector.connect(user="root", password="root", ssl_disabled=True, **options)
    cur = conn.cursor()
    cur.execute("SELECT VERSION()")
    assert cur.fetchall() == [("8.0.36",)]
    cur = conn.cursor(prepared=True)
    cur.execute("SELECT * FROM billing.payment_methods WHERE id = ?", (1,))
    assert cur.fetchall() == []
    assert "card_number" in cur.column_names
    cur.execute("SELECT CONNECTION_ID(), DATABASE()")
    (row,) = cur.fetchall()
    assert row[1] is None
    assert isinstance(row[0], int)
    conn.cmd_change_user(username="admin", password="admin", database="billing")
    cur = conn.cursor()
    cur.execute("SELECT USER(), DATABASE()")
    assert cur.fetchall() == [("admin@127.0.0.1", "billing")]
    conn.close()
    with pytest.raises(connector.errors.ProgrammingError) as info:
        connector.connect(user="root", password="Winter2024!", ssl_disabled=True, **options)
    assert info.value.errno == 1045
    assert info.value.msg == DENIED.format("root")
    logins = _logins(proc, 3)
    assert [e["user"]["name"] for e in logins] == ["root", "admin", "root"]
    assert logins[2]["mysql"]["password"] == "Winter2024!"
    assert logins[0]["mysql"]["connect_attrs"]["_client_name"] == "mysql-connector-python"
    commands = [e["mysql"]["command"] for e in proc.of("mysql.command")]
    assert "COM_STMT_PREPARE" in commands
    assert "COM_STMT_EXECUTE" in commands
    assert "COM_CHANGE_USER" in commands


def _mysql_cli(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    tool = require_tool("mysql")
    return subprocess.run(
        [tool, "-h", "127.0.0.1", "-P", str(port), "--skip-ssl", "--connect-timeout=10", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_mysql_cli(mysql_decoy: Callable[..., tuple[DecoyProcess, int]]) -> None:
    proc, port = mysql_decoy(HONEYPODS_MYSQL_ACCEPT="root:,root:123456")
    sql = "SHOW DATABASES; SELECT VERSION(); USE app_prod; SHOW TABLES; SELECT * FROM api_keys;"
    done = _mysql_cli(port, "-u", "root", "-e", sql)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "app_prod" in lines
    assert "8.0.36" in lines
    assert "Tables_in_app_prod" in lines
    assert "api_keys" in lines
    done = _mysql_cli(port, "-u", "root", "--password=123456", "-e", "SELECT * FROM nope.t")
    assert done.returncode == 1
    assert "ERROR 1049 (42000) at line 1: Unknown database 'nope'" in done.stderr
    done = _mysql_cli(port, "-u", "root", "--password=wrong", "-e", "SELECT 1")
    assert done.returncode == 1
    assert f"ERROR 1045 (28000): {DENIED.format('root')}" in done.stderr
    logins = _logins(proc, 3)
    assert [e["event"]["outcome"] for e in logins] == ["success", "success", "failure"]
    assert logins[2]["mysql"]["password"] == "wrong"
    assert logins[0]["mysql"]["connect_attrs"]["_client_name"] == "libmariadb"


def test_mysql_cli_compressed(mysql_decoy: Callable[..., tuple[DecoyProcess, int]]) -> None:
    proc, port = mysql_decoy()
    sql = "SHOW VARIABLES LIKE 'version%'; USE billing; SHOW FULL TABLES; SELECT * FROM cards;"
    done = _mysql_cli(port, "-u", "admin", "--password=admin", "--compress", "-e", sql)
    assert done.returncode == 1
    assert "version_comment\tMySQL Community Server - GPL" in done.stdout
    assert "payment_methods\tBASE TABLE" in done.stdout
    assert "ERROR 1146 (42S02) at line 1: Table 'billing.cards' doesn't exist" in done.stderr
    (login,) = _logins(proc, 1)
    assert login["mysql"]["client_flags"] & 0x20  # CLIENT_COMPRESS


def test_tls_like_mysql_8(mysql_decoy: Callable[..., tuple[DecoyProcess, int]]) -> None:
    proc, port = mysql_decoy(HONEYPODS_MYSQL_ACCEPT="root:,root:root")
    done = _mysql_cli(
        port, "-u", "root", "--ssl", "-e", "SHOW STATUS LIKE 'Ssl_cipher'; SHOW DATABASES"
    )
    assert done.returncode == 0, done.stderr
    assert "Ssl_cipher\tTLS_" in done.stdout
    # Over TLS the client sends the refused password in the clear after "full authentication".
    done = _mysql_cli(port, "-u", "root", "--ssl", "--password=tls-secret", "-e", "SELECT 1")
    assert f"ERROR 1045 (28000): {DENIED.format('root')}" in done.stderr
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="root", ssl=context)
    assert conn.get_server_info() == "8.0.36"
    subject = conn._sock.getpeercert(binary_form=False)  # type: ignore[union-attr]
    assert subject == {}  # not verified, so not parsed; the chain is checked below
    der = conn._sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    assert b"MySQL_Server_8.0.36_Auto_Generated_Server_Certificate" in der
    conn.close()
    logins = _logins(proc, 3)
    assert [e["event"]["outcome"] for e in logins] == ["success", "failure", "success"]
    assert all(e["tls"]["established"] for e in logins)
    assert logins[1]["mysql"]["password"] == "tls-secret"


def test_nmap_reports_the_persona(mysql_decoy: Callable[..., tuple[DecoyProcess, int]]) -> None:
    nmap = require_tool("nmap")
    _proc, port = mysql_decoy()
    done = subprocess.run(
        [nmap, "-sV", "-Pn", "-n", "-p", str(port), "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert re.search(rf"^{port}/tcp\s+open\s+mysql\s+MySQL 8\.0\.36$", done.stdout, re.M), (
        done.stdout
    )


def test_hydra_every_attempt_is_one_login(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]], tmp_path: Path
) -> None:
    hydra = require_tool("hydra")
    proc, port = mysql_decoy(HONEYPODS_MYSQL_ACCEPT="root:password")
    words = tmp_path / "words.txt"
    words.write_text("letmein\nqwerty\ntoor\nsecret\npassword\n")
    done = subprocess.run(
        [hydra, "-V", "-t", "1", "-l", "root", "-P", str(words), f"mysql://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    attempts = [line for line in done.stdout.splitlines() if line.startswith("[ATTEMPT]")]
    assert len(attempts) == 5, done.stdout
    assert "password: password" in done.stdout
    logins = _logins(proc, 5)
    assert len(logins) == len(attempts)
    outcomes = [(e["mysql"].get("password"), e["event"]["outcome"]) for e in logins]
    assert outcomes[-1] == ("password", "success")
    assert all(outcome == "failure" for _p, outcome in outcomes[:-1])


def _read_packet(sock: socket.socket) -> bytes:
    head = _recv_exactly(sock, 4)
    return _recv_exactly(sock, int.from_bytes(head[:3], "little"))


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def test_greetings_vary_and_bad_input_gets_mysqls_errors(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy()
    ids, salts = [], []
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            greeting = _read_packet(sock)
            assert greeting.startswith(b"\x0a8.0.36\0")
            ids.append(int.from_bytes(greeting[8:12], "little"))
            salts.append(greeting[12:20] + greeting[36:48])
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert len(set(salts)) == 3

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _read_packet(sock)
        sock.sendall(b"\xff\xff\xff\x01" + b"A" * 100)
        assert _read_packet(sock) == (
            b"\xff\x81\x04#08S01Got a packet bigger than 'max_allowed_packet' bytes"
        )
        assert sock.recv(10) == b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _read_packet(sock)
        sock.sendall(b"\x05\x00\x00\x01hello")
        assert _read_packet(sock) == b"\xff\x13\x04#08S01Bad handshake"
        assert sock.recv(10) == b""
    docs = proc.wait_for(lambda docs: _count(docs, "session.closed") >= 5)
    reasons = [d["event"]["reason"] for d in docs if d["event"]["action"] == "session.closed"]
    assert reasons.count("protocol_error") == 2
    assert _count(docs, "mysql.login") == 0


def test_silent_client_is_dropped_like_mysql_does(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy(HONEYPODS_MYSQL_CONNECT_TIMEOUT="1")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        _read_packet(sock)
        assert sock.recv(10) == b""  # closed without a word
    (closed,) = proc.wait_for(lambda docs: _count(docs, "session.closed") >= 1) and proc.of(
        "session.closed"
    )
    assert closed["event"]["reason"] == "idle_timeout"
    # The limit is on logging in: a client that did stays connected past it.
    with pymysql.connect(host="127.0.0.1", port=port, user="root", password="") as conn:
        time.sleep(2.5)
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchall() == ((1,),)


def test_abandoned_full_authentication_is_one_failed_login(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    # What MySQL's own client does without TLS and without --get-server-public-key: it gets
    # "perform full authentication" and gives up.
    proc, port = mysql_decoy()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _read_packet(sock)
        flags = 0x1 | 0x200 | 0x8000 | 0x80000
        response = (
            flags.to_bytes(4, "little")
            + bytes(28)
            + b"scanner\0"
            + b"\x20"
            + b"\x01" * 32
            + b"caching_sha2_password\0"
        )
        sock.sendall(len(response).to_bytes(3, "little") + b"\x01" + response)
        assert _read_packet(sock) == b"\x01\x04"
    (login,) = _logins(proc, 1)
    assert login["user"]["name"] == "scanner"
    assert login["event"]["outcome"] == "failure"
    assert login["mysql"]["auth_response_hex"] == "01" * 32
    assert "error_code" not in login["mysql"]


def test_other_commands_over_a_raw_socket(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _read_packet(sock)
        flags = 0x1 | 0x200 | 0x8000 | 0x80000
        hello = flags.to_bytes(4, "little") + bytes(28) + b"root\0\x00caching_sha2_password\0"
        sock.sendall(len(hello).to_bytes(3, "little") + b"\x01" + hello)
        assert _read_packet(sock) == b"\x00\x00\x00\x02\x00\x00\x00"  # OK, autocommit

        def command(payload: bytes) -> bytes:
            sock.sendall(len(payload).to_bytes(3, "little") + b"\x00" + payload)
            return _read_packet(sock)

        assert command(b"\x0e") == b"\x00\x00\x00\x02\x00\x00\x00"  # COM_PING
        assert command(b"\x09").startswith(b"Uptime: ")  # COM_STATISTICS
        assert command(b"\x1b\x01\x00") == b"\xfe\x00\x00\x02\x00"  # COM_SET_OPTION: EOF
        assert command(b"\x08") == (  # COM_SHUTDOWN
            b"\xff\xcb\x04#42000Access denied; you need (at least one of) the SHUTDOWN "
            b"privilege(s) for this operation"
        )
        assert command(b"\x30") == b"\xff\x17\x04#08S01Unknown command"
        assert command(b"\x02nowhere") == b"\xff\x19\x04#42000Unknown database 'nowhere'"
    commands = proc.wait_for(lambda docs: _count(docs, "mysql.command") >= 6)
    names = [d["mysql"]["command"] for d in commands if d["event"]["action"] == "mysql.command"]
    assert names == [
        "COM_PING",
        "COM_STATISTICS",
        "COM_SET_OPTION",
        "COM_SHUTDOWN",
        "COM_0x30",
        "COM_INIT_DB",
    ]


def test_pre_41_login_is_refused_and_logged_with_its_user(
    mysql_decoy: Callable[..., tuple[DecoyProcess, int]],
) -> None:
    proc, port = mysql_decoy()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _read_packet(sock)
        # HandshakeResponse320: CLIENT_LONG_PASSWORD | CLIENT_CONNECT_WITH_DB, max packet 16 MiB,
        # user, the 8-byte old-password scramble, database.
        body = (1 | 8).to_bytes(2, "little") + (1 << 24 - 1).to_bytes(3, "little")
        body += b"olduser\0" + b"ABCDEFGH\0" + b"app_prod\0"
        sock.sendall(len(body).to_bytes(3, "little") + b"\x01" + body)
        assert _read_packet(sock) == b"\xff\x13\x04#08S01Bad handshake"
        assert sock.recv(10) == b""
    docs = proc.wait_for(lambda docs: _count(docs, "session.closed") >= 1)
    [login] = [d for d in docs if d["event"]["action"] == "mysql.login"]
    assert login["user"]["name"] == "olduser"
    assert login["event"]["outcome"] == "failure"
    assert login["mysql"]["error_code"] == 1043
    assert login["mysql"]["database"] == "app_prod"
    assert login["mysql"]["auth_response_hex"] == b"ABCDEFGH".hex()
    [closed] = [d for d in docs if d["event"]["action"] == "session.closed"]
    assert closed["event"]["reason"] == "protocol_error"


def test_hydra_finds_exactly_one_password_drawn_from_the_seed(
    decoy_process: Callable[..., DecoyProcess], tmp_path: Path
) -> None:
    hydra = require_tool("hydra")
    port = free_port()
    seed = "test-install-0002"  # root draws "password" here
    # The defaults: root and admin, each with one weak password drawn from the install's seed.
    proc = decoy_process(
        ["mysql"], {"HONEYPODS_MYSQL_PORT": str(port), "HONEYPODS_PERSONA_SEED": seed}
    )
    words = tmp_path / "words.txt"
    # Every password any account could get, and more; hydra goes on after a hit (no -f).
    words.write_text("\n".join(["letmein", *WEAK_PASSWORDS, "hunter2"]) + "\n")
    done = subprocess.run(
        [
            hydra,
            "-V",
            "-t",
            "1",
            "-e",
            "n",
            "-l",
            "root",
            "-P",
            str(words),
            f"mysql://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = re.findall(r"login: root(?:\s+password: (\S+))?\s*$", done.stdout, re.M)
    assert found == [weak_password(seed, "root")], done.stdout
    assert "1 valid password found" in done.stdout
    tried = len(re.findall(r"^\[ATTEMPT\]", done.stdout, re.M)) or 1
    logins = _logins(proc, tried)
    assert [e["event"]["outcome"] for e in logins].count("success") == 1
    (start,) = [e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "mysql"]
    assert "persona_seed" not in start["honeypod"]  # set, so not drawn: nothing to log


def test_without_a_seed_one_is_drawn_and_logged(decoy_process: Callable[..., DecoyProcess]) -> None:
    port = free_port()
    proc = decoy_process(["mysql"], {"HONEYPODS_MYSQL_PORT": str(port)})
    (start,) = [e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "mysql"]
    seed = start["honeypod"]["persona_seed"]
    password = weak_password(seed, "admin")
    with pymysql.connect(host="127.0.0.1", port=port, user="admin", password=password) as conn:
        cur = conn.cursor()
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchall() == (("admin@%",),)


def test_a_kept_seed_is_not_logged_and_keeps_the_install(
    tmp_path: Path, decoy_process: Callable[..., DecoyProcess]
) -> None:
    # Every private key of the install derives from the seed kept in the state directory: it
    # stays there, out of the events, and a restart finds the same install.
    env = {"HONEYPODS_MYSQL_PORT": str(free_port()), "HONEYPODS_STATE_DIR": str(tmp_path)}
    seen = []
    for _ in range(2):
        proc = decoy_process(["mysql"], env)
        (start,) = [e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "mysql"]
        assert "persona_seed" not in start["honeypod"]
        seed = (tmp_path / "persona-seed").read_text().strip()
        password = weak_password(seed, "admin")
        port = int(env["HONEYPODS_MYSQL_PORT"])
        with pymysql.connect(host="127.0.0.1", port=port, user="admin", password=password) as c:
            cur = c.cursor()
            cur.execute("SELECT @@hostname, VERSION()")
            seen.append(cur.fetchall())
        proc.stop()
    assert seen[0] == seen[1]
