"""Every HONEYPODS_MYSQL_* setting, set through the real CLI (``python -m honeypods run mysql
--set NAME=VALUE``), has its documented effect; a bad value stops the process naming it.

Two decoy processes carry all the settings between them: one with every setting away from its
default and TLS off, one with TLS on. The client is PyMySQL, plus a raw socket where the bytes of
the greeting or a silent client are the point. ``test_every_setting_is_exercised`` in
``test_settings_common.py`` fails for a setting no such file names.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pymysql
import pytest
from tests.conftest import DecoyProcess, free_port

from honeypods.mysql.install import weak_password

pytestmark = pytest.mark.integration

Start = Callable[..., DecoyProcess]
CLIENT_SSL = 0x800
# CLIENT_LONG_PASSWORD | PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH, plus CLIENT_SSL.
SSL_REQUEST_FLAGS = 0x1 | 0x200 | 0x8000 | 0x80000 | CLIENT_SSL


def run(decoy_process: Start, settings: dict[str, str]) -> DecoyProcess:
    """The MySQL decoy with ``settings`` as ``--set`` flags, once it listens."""
    args = ["mysql"]
    for name, value in settings.items():
        args += ["--set", f"{name}={value}"]
    proc = decoy_process(args, wait=False)
    proc.expected = 1  # the fixture counts every argument as a decoy
    proc.wait_ready()
    return proc


def refused(setting: str) -> str:
    """Run the MySQL decoy with one ``--set`` flag; it must refuse to start. Returns stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONEYPODS_")}
    args = [sys.executable, "-m", "honeypods", "run", "mysql", "--set", setting]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False, env=env)
    assert out.returncode == 2, out.stderr
    return out.stderr


def _read_packet(sock: socket.socket | ssl.SSLSocket) -> bytes:
    head = _recv_exactly(sock, 4)
    return _recv_exactly(sock, int.from_bytes(head[:3], "little"))


def _recv_exactly(sock: socket.socket | ssl.SSLSocket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _greeting(port: int) -> tuple[str, int]:
    """(server version, capability flags) of the HandshakeV10 the decoy sends."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        payload = _read_packet(sock)
    end = payload.index(b"\0", 1)
    lower = int.from_bytes(payload[end + 14 : end + 16], "little")
    upper = int.from_bytes(payload[end + 19 : end + 21], "little")
    return payload[1:end].decode(), lower | upper << 16


def _certificate(port: int) -> bytes:
    """The DER certificate the decoy presents after an SSLRequest."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        _read_packet(raw)
        request = SSL_REQUEST_FLAGS.to_bytes(4, "little") + (1 << 24).to_bytes(4, "little")
        request += b"\xff" + bytes(23)
        raw.sendall(len(request).to_bytes(3, "little") + b"\x01" + request)
        with context.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def _connect(port: int, user: str, password: str, **kw: Any) -> pymysql.Connection[Any]:
    return pymysql.connect(
        host="127.0.0.1", port=port, user=user, password=password, connect_timeout=10, **kw
    )


def _query(conn: pymysql.Connection[Any], sql: str) -> tuple[tuple[Any, ...], ...]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return tuple(cur.fetchall())


def _logins(proc: DecoyProcess, count: int) -> list[dict[str, Any]]:
    proc.wait_for(lambda docs: sum(d["event"]["action"] == "mysql.login" for d in docs) >= count)
    return proc.of("mysql.login")


def test_every_mysql_setting_away_from_its_default(decoy_process: Start) -> None:
    port = free_port()
    proc = run(
        decoy_process,
        {
            "HONEYPODS_MYSQL_PORT": str(port),
            "HONEYPODS_MYSQL_PERSONA": "mysql-8.0.40",
            "HONEYPODS_MYSQL_SERVER_VERSION": "5.7.44-log",
            "HONEYPODS_MYSQL_HOSTNAME": "db-primary-2",
            "HONEYPODS_MYSQL_DATABASES": "wiki_live,wiki_payments",
            "HONEYPODS_MYSQL_TABLES": "members,patrons,tokens,logins,cards,receipts",
            "HONEYPODS_MYSQL_ACCEPT": "alice:s3cret,bob:",
            "HONEYPODS_MYSQL_AUTH_PLUGIN": "mysql_native_password",
            "HONEYPODS_MYSQL_MAX_PACKET_SIZE": "4096",
            "HONEYPODS_MYSQL_TLS": "false",
            "HONEYPODS_MYSQL_CONNECT_TIMEOUT": "0.8",
            "HONEYPODS_MYSQL_MAX_SLEEP": "0",
        },
    )
    # HONEYPODS_MYSQL_PORT: the listener, and what @@port reports.
    (start,) = [e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "mysql"]
    assert start["honeypod"]["addresses"] == [f"127.0.0.1:{port}"]
    # HONEYPODS_MYSQL_SERVER_VERSION in the greeting; HONEYPODS_MYSQL_TLS=false: no CLIENT_SSL.
    version, flags = _greeting(port)
    assert version == "5.7.44-log"
    assert not flags & CLIENT_SSL

    # HONEYPODS_MYSQL_ACCEPT: these logins and no others; HONEYPODS_MYSQL_AUTH_PLUGIN: PyMySQL
    # answers the greeting with caching_sha2_password and is switched to mysql_native_password.
    with _connect(port, "alice", "s3cret") as conn:
        assert _query(conn, "SELECT VERSION(), @@port, @@have_ssl") == (
            ("5.7.44-log", port, "DISABLED"),
        )
        # HONEYPODS_MYSQL_HOSTNAME, HONEYPODS_MYSQL_DATABASES and HONEYPODS_MYSQL_TABLES: the
        # names; HONEYPODS_MYSQL_PERSONA: 8.0's defaults, which an explicit version keeps.
        assert _query(conn, "SELECT @@hostname, @@innodb_io_capacity") == (("db-primary-2", 200),)
        assert _query(conn, "SHOW DATABASES LIKE 'wiki%'") == (("wiki_live",), ("wiki_payments",))
        assert _query(conn, "SHOW TABLES FROM wiki_live") == (
            ("logins",),
            ("members",),
            ("patrons",),
            ("tokens",),
        )
        assert _query(conn, "SHOW TABLES FROM wiki_payments") == (("cards",), ("receipts",))
        # HONEYPODS_MYSQL_MAX_PACKET_SIZE: a query under it is answered...
        assert _query(conn, f"SELECT '{'a' * 3000}'") == (("a" * 3000,),)
        # ...and one over it is refused as MySQL refuses a packet over max_allowed_packet.
        with pytest.raises(pymysql.err.OperationalError) as info:
            _query(conn, f"SELECT '{'b' * 5000}'")
        assert info.value.args == (1153, "Got a packet bigger than 'max_allowed_packet' bytes")
    with _connect(port, "bob", "") as conn:
        assert _query(conn, "SELECT USER()") == (("bob@127.0.0.1",),)
        # HONEYPODS_MYSQL_MAX_SLEEP=0: SLEEP answers at once (the event says it was asked).
        assert _query(conn, "SELECT SLEEP(600)") == ((0,),)
    for user, password in (("root", ""), ("alice", "root")):
        with pytest.raises(pymysql.err.OperationalError) as info:
            _connect(port, user, password)
        assert info.value.args[0] == 1045
    logins = _logins(proc, 4)
    assert [(e["user"]["name"], e["event"]["outcome"]) for e in logins] == [
        ("alice", "success"),
        ("bob", "success"),
        ("root", "failure"),
        ("alice", "failure"),
    ]
    assert {e["mysql"]["auth_plugin"] for e in logins} == {"mysql_native_password"}
    assert "tls" not in logins[0]

    # HONEYPODS_MYSQL_CONNECT_TIMEOUT: a client that does not log in is dropped without a word.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _read_packet(sock)
        started = time.monotonic()
        assert sock.recv(10) == b""
        assert 0.7 < time.monotonic() - started < 5
        local = sock.getsockname()[1]
    closes = proc.wait_for(
        lambda docs: any(
            d["event"]["action"] == "session.closed" and d["source"]["port"] == local for d in docs
        )
    )
    (closed,) = [
        d
        for d in closes
        if d["event"]["action"] == "session.closed" and d["source"]["port"] == local
    ]
    assert closed["event"]["reason"] == "idle_timeout"


def test_tls_on_with_its_auto_generated_certificate(decoy_process: Start) -> None:
    port = free_port()
    proc = run(
        decoy_process,
        {
            "HONEYPODS_MYSQL_PORT": str(port),
            "HONEYPODS_MYSQL_TLS": "true",
            "HONEYPODS_MYSQL_PERSONA": "mysql-8.0.40",
            "HONEYPODS_MYSQL_SERVER_VERSION": "8.0.39",
            "HONEYPODS_MYSQL_AUTH_PLUGIN": "caching_sha2_password",
            "HONEYPODS_MYSQL_ACCEPT": "root:toor",
        },
    )
    _version, flags = _greeting(port)
    assert flags & CLIENT_SSL
    assert b"MySQL_Server_8.0.39_Auto_Generated_Server_Certificate" in _certificate(port)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with _connect(port, "root", "toor", ssl=context) as conn:
        assert _query(conn, "SELECT @@have_ssl") == (("YES",),)
        ((_name, cipher),) = _query(conn, "SHOW STATUS LIKE 'Ssl_cipher'")
        assert cipher.startswith("TLS_")
    (login,) = _logins(proc, 1)
    assert login["event"]["outcome"] == "success"
    assert login["mysql"]["auth_plugin"] == "caching_sha2_password"
    assert login["tls"]["established"] is True


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("HONEYPODS_MYSQL_PORT=70000", "HONEYPODS_MYSQL_PORT=70000: a port is 0-65535"),
        (
            "HONEYPODS_MYSQL_ACCEPT=root:a,root:b,root:c",
            "HONEYPODS_MYSQL_ACCEPT: 'root' has 3 passwords; a MySQL account has one",
        ),
        ("HONEYPODS_MYSQL_ACCEPT=:x", "HONEYPODS_MYSQL_ACCEPT: an entry without a user name"),
        ("HONEYPODS_MYSQL_MAX_SLEEP=-1", "HONEYPODS_MYSQL_MAX_SLEEP: 0 to 3600 seconds"),
        ("HONEYPODS_MYSQL_AUTH_PLUGIN=sha256_password", "HONEYPODS_MYSQL_AUTH_PLUGIN"),
        ("HONEYPODS_MYSQL_PERSONA=mysql-5.7", "HONEYPODS_MYSQL_PERSONA: one of mysql-8.0.36"),
        ("HONEYPODS_MYSQL_DATABASES=app_prod", "HONEYPODS_MYSQL_DATABASES: two different names"),
        ("HONEYPODS_MYSQL_TABLES=a,b,c", "HONEYPODS_MYSQL_TABLES: 6 different names"),
        ("HONEYPODS_MYSQL_HOSTNAME=a b", "HONEYPODS_MYSQL_HOSTNAME: letters, digits"),
        ("HONEYPODS_MYSQL_MAX_PACKET_SIZE=100", "HONEYPODS_MYSQL_MAX_PACKET_SIZE: 1024 to"),
        ("HONEYPODS_MYSQL_TLS=maybe", "HONEYPODS_MYSQL_TLS='maybe': expected true or false"),
        ("HONEYPODS_MYSQL_CONNECT_TIMEOUT=0", "HONEYPODS_MYSQL_CONNECT_TIMEOUT must be positive"),
        ("HONEYPODS_MYSQL_SERVER_VERSIONS=8", "HONEYPODS_MYSQL_SERVER_VERSIONS: unknown setting"),
    ],
)
def test_a_bad_value_stops_the_process_naming_the_setting(setting: str, message: str) -> None:
    assert message in refused(setting)


def test_persona_seed_draws_the_account_passwords(decoy_process: Start) -> None:
    # HONEYPODS_PERSONA_SEED: two processes of one install agree on root's one password.
    seed = "install-settings-test"
    password = weak_password(seed, "root")
    for _ in range(2):
        port = free_port()
        proc = run(
            decoy_process, {"HONEYPODS_MYSQL_PORT": str(port), "HONEYPODS_PERSONA_SEED": seed}
        )
        with _connect(port, "root", password) as conn:
            assert _query(conn, "SELECT CURRENT_USER()") == (("root@%",),)
        (start,) = [e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "mysql"]
        assert "persona_seed" not in start["honeypod"]
        proc.stop()
