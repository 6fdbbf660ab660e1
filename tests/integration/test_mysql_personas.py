"""The MySQL personas through real clients: each build's greeting, variables and errors, and the
names an install's seed gives (PyMySQL, the mysql CLI, mysqldump, openssl s_client).

MySQL cannot be installed here: the expected values are MySQL's documented ones (docs/personas.md).
"""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import pymysql
import pytest
from tests.conftest import DecoyProcess, free_port, require_tool

from honeypods.mysql.install import persona_for
from honeypods.mysql.personas import PERSONAS

pytestmark = pytest.mark.integration

# Capability flags every MySQL 8.0 and 8.4 build advertises (CLIENT_SSL aside).
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_QUERY_ATTRIBUTES = 1 << 27
CLIENT_SSL = 1 << 11

Start = Callable[..., DecoyProcess]


def _run(decoy_process: Start, **env: str) -> tuple[DecoyProcess, int]:
    port = free_port()
    full = {
        "HONEYPODS_MYSQL_PORT": str(port),
        "HONEYPODS_MYSQL_ACCEPT": "root:",
        **env,
    }
    return decoy_process(["mysql"], full), port


def _greeting(port: int) -> tuple[str, int, str]:
    """(server version, capability flags, auth plugin) of the HandshakeV10."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:3], "little"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    payload = data[4:]
    end = payload.index(b"\0", 1)
    lower = int.from_bytes(payload[end + 14 : end + 16], "little")
    upper = int.from_bytes(payload[end + 19 : end + 21], "little")
    plugin = payload[end + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 13 :].split(b"\0")[0]
    return payload[1:end].decode(), lower | upper << 16, plugin.decode()


def _query(port: int, sql: str) -> tuple[tuple[Any, ...], ...]:
    with pymysql.connect(
        host="127.0.0.1", port=port, user="root", password="", connect_timeout=10
    ) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        return tuple(cur.fetchall())


def _error(port: int, sql: str) -> tuple[Any, ...]:
    with pytest.raises(pymysql.err.MySQLError) as info:
        _query(port, sql)
    return tuple(info.value.args)


def _certificates(port: int) -> tuple[str, list[str]]:
    """The subject and the PEM chain openssl s_client reads after MySQL's STARTTLS."""
    tool = require_tool("openssl")
    done = subprocess.run(
        [tool, "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", "mysql", "-showcerts"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    m = re.search(r"^subject=(.*)$", done.stdout, re.M)
    assert m, done.stdout + done.stderr
    chain = re.findall(
        r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", done.stdout, re.S
    )
    assert len(chain) == 2, done.stdout  # the server's certificate, then the CA's
    return m.group(1), chain


def _subject(port: int) -> str:
    return _certificates(port)[0]


def _rsa_public_key(port: int) -> bytes:
    """The caching_sha2_password RSA key PyMySQL asks for when a login without TLS needs full
    authentication (a password the server's cache does not match)."""
    conn = pymysql.connect(
        host="127.0.0.1",
        port=port,
        user="root",
        password="not-the-password",  # a wrong one, to reach full authentication
        connect_timeout=10,
        ssl_disabled=True,
        defer_connect=True,
    )
    with pytest.raises(pymysql.err.OperationalError):
        conn.connect()
    key: bytes = conn.server_public_key
    assert key.startswith(b"-----BEGIN PUBLIC KEY-----"), key
    return key


def _login_args(port: int) -> list[str]:
    return ["-h", "127.0.0.1", "-P", str(port), "--skip-ssl", "-u", "root"]


def _cli(port: int, sql: str) -> str:
    done = subprocess.run(
        [require_tool("mysql"), *_login_args(port), "-N", "-B", "-e", sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# (persona, version, innodb_io_capacity, innodb_log_buffer_size, innodb_change_buffering,
#  innodb_adaptive_hash_index)
EXPECTED = [
    ("mysql-8.0.36", "8.0.36", 200, 16777216, "all", 1),
    ("mysql-8.0.40", "8.0.40", 200, 16777216, "all", 1),
    ("mysql-8.4.3", "8.4.3", 10000, 67108864, "none", 0),
]


@pytest.mark.parametrize("expected", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_persona_greets_answers_and_fails_as_its_build(
    decoy_process: Start, expected: tuple[str, str, int, int, str, int]
) -> None:
    persona, version, io, log_buffer, change, ahi = expected
    _proc, port = _run(decoy_process, HONEYPODS_MYSQL_PERSONA=persona)
    seen, flags, plugin = _greeting(port)
    assert (seen, plugin) == (version, "caching_sha2_password")
    wanted = CLIENT_PLUGIN_AUTH | CLIENT_QUERY_ATTRIBUTES | CLIENT_SSL
    assert flags & wanted == wanted
    assert _query(port, "SELECT VERSION(), @@version, @@innodb_version, @@version_comment") == (
        (version, version, version, "MySQL Community Server - GPL"),
    )
    assert _query(
        port,
        "SELECT @@innodb_io_capacity, @@innodb_log_buffer_size, @@innodb_change_buffering, "
        "@@innodb_adaptive_hash_index, @@authentication_policy",
    ) == ((io, log_buffer, change, ahi, "*,,"),)
    shown = dict(_query(port, "SHOW VARIABLES LIKE 'innodb_io_capacity%'"))
    # innodb_io_capacity_max: twice innodb_io_capacity, 2000 at least.
    assert shown == {
        "innodb_io_capacity": str(io),
        "innodb_io_capacity_max": str(max(2000, io * 2)),
    }
    # The certificate MySQL generates at first start names the version.
    assert f"MySQL_Server_{version}_Auto_Generated_Server_Certificate" in _subject(port)
    if version.startswith("8.0"):
        assert _query(port, "SELECT @@default_authentication_plugin, @@have_ssl") == (
            ("caching_sha2_password", "YES"),
        )
        assert _error(port, "SHOW MASTER STATUS") == (
            1227,
            "Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) "
            "for this operation",
        )
    else:
        # Removed in 8.4.0: the variables are unknown, the MASTER/SLAVE statements do not parse.
        for name in ("default_authentication_plugin", "have_ssl", "have_openssl"):
            assert _error(port, f"SELECT @@{name}") == (
                1193,
                f"Unknown system variable '{name}'",
            )
        code, message = _error(port, "SHOW MASTER STATUS")
        assert code == 1064
        assert message.endswith("near 'MASTER STATUS' at line 1")
        code, message = _error(port, "START SLAVE")
        assert (code, message.endswith("near 'SLAVE' at line 1")) == (1064, True)


def _seeds_with_different_personas() -> tuple[str, str]:
    seeds = [f"install-seed-{n:04d}" for n in range(50)]
    first = seeds[0]
    other = next(s for s in seeds if persona_for(s).name != persona_for(first).name)
    return first, other


def _observed(port: int) -> dict[str, Any]:
    """What a client sees of an install's identity: version, host, databases, tables, a dump."""
    version, _flags, _plugin = _greeting(port)
    ((hostname,),) = _query(port, "SELECT @@hostname")
    databases = [d for (d,) in _query(port, "SHOW DATABASES") if not d.endswith("_schema")]
    tables = {db: _cli(port, f"SHOW TABLES FROM `{db}`").split() for db in databases}
    dump = subprocess.run(
        [
            require_tool("mysqldump"),
            *_login_args(port),
            "--no-data",
            "--skip-dump-date",
            "-B",
            *databases,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dump.returncode == 0, dump.stderr
    return {
        "version": version,
        "hostname": hostname,
        "databases": databases,
        "tables": tables,
        "dump": dump.stdout,
        "subject": _subject(port),
        "certificates": _certificates(port)[1],
        "rsa_key": _rsa_public_key(port),
    }


def test_two_seeds_differ_and_one_seed_is_kept_across_restarts(decoy_process: Start) -> None:
    seed_a, seed_b = _seeds_with_different_personas()
    seen: dict[str, list[dict[str, Any]]] = {seed_a: [], seed_b: []}
    for seed in (seed_a, seed_b, seed_a):
        proc, port = _run(decoy_process, HONEYPODS_PERSONA_SEED=seed)
        seen[seed].append(_observed(port))
        proc.stop()
    a, b = seen[seed_a][0], seen[seed_b][0]
    assert a["version"] != b["version"]
    assert a["version"] in a["subject"]
    assert b["version"] in b["subject"]
    assert a["hostname"] != b["hostname"]
    assert re.fullmatch(r"[0-9a-f]{12}", a["hostname"])
    assert len(a["databases"]) == len(b["databases"]) == 2
    assert not set(a["databases"]) & set(b["databases"])
    assert any(d.endswith("_prod") for d in a["databases"])
    # The dump of each install names its own databases and tables.
    for db, tables in a["tables"].items():
        assert f"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `{db}`" in a["dump"]
        assert len(tables) in (2, 4)
        for table in tables:
            assert f"CREATE TABLE `{table}`" in a["dump"]
    assert a["dump"] != b["dump"]
    # Each install has its own certificates (server and CA) and RSA key.
    assert not set(a["certificates"]) & set(b["certificates"])
    assert a["rsa_key"] != b["rsa_key"]
    # A restart with the same seed: the same build, host, names, dump, certificates and key, as
    # a real server's data directory keeps them.
    again = seen[seed_a][1]
    for key in ("version", "hostname", "databases", "tables", "dump", "certificates", "rsa_key"):
        assert again[key] == a[key], key


def test_an_unseeded_start_draws_a_persona_it_logs(decoy_process: Start) -> None:
    # The seed drawn is logged; starting again with it gives the same build and names.
    proc, port = _run(decoy_process)
    (start,) = [e for e in proc.of("honeypods.start") if e["honeypod"]["decoy"] == "mysql"]
    seed = start["honeypod"]["persona_seed"]
    first = (_greeting(port)[0], _query(port, "SELECT @@hostname"), _query(port, "SHOW DATABASES"))
    proc.stop()
    _proc, port = _run(decoy_process, HONEYPODS_PERSONA_SEED=seed)
    again = (_greeting(port)[0], _query(port, "SELECT @@hostname"), _query(port, "SHOW DATABASES"))
    assert again == first
    assert first[0] == persona_for(seed).version
    assert first[0] in {p.version for p in PERSONAS.values()}
