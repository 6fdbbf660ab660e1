"""Honeytokens against the real decoys and real clients: an intruder crawls the dashboard, finds
the planted credentials, and uses them on the MySQL decoy (PyMySQL, the mysql CLI), the web API
(urllib) and the SSH lure (OpenSSH's ssh through sshpass). Each use is one ``honeytoken.used``
naming the token and every place it was planted; nothing else ever raises it.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pymysql
import pytest
from tests.conftest import MYSQL_REFERENCE, DecoyProcess, free_port, require_tool
from tests.integration.crawl import crawl

from honeypods.core.honeytokens import values
from honeypods.mysql.install import naming_for

pytestmark = pytest.mark.integration

SEED = "Zp4u0Jr9Wq2mXe7Kc5Nv8Hb1Ty6Ls3Dg"
SECRET = "decoys/internal-db-credentials"
DASHBOARD = ["dashboard:/.env", "dashboard:/config.js"]
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=20", "-o", "PubkeyAuthentication=no",
            "-o", "NumberOfPasswordPrompts=1"]  # fmt: skip

Start = Callable[..., DecoyProcess]


def _used(proc: DecoyProcess, count: int = 1) -> list[dict[str, Any]]:
    proc.wait_for(
        lambda docs: sum(d["event"]["action"] == "honeytoken.used" for d in docs) >= count
    )
    return proc.of("honeytoken.used")


def _web(decoy_process: Start, **env: str) -> tuple[DecoyProcess, str]:
    port = free_port()
    full = {"HONEYPODS_WEB_PORT": str(port), "HONEYPODS_WEB_TLS_PORT": "0", **env}
    return decoy_process(["web"], full), f"http://127.0.0.1:{port}"


def _mysql(decoy_process: Start, **env: str) -> tuple[DecoyProcess, int]:
    port = free_port()
    # The weak login these tests compare with: root's one password pinned.
    full = {"HONEYPODS_MYSQL_PORT": str(port), "HONEYPODS_MYSQL_ACCEPT": "root:root"}
    # The schema's reference names, which the queries use, unless the test draws them.
    full |= {} if env.pop("drawn_names", "") else MYSQL_REFERENCE
    return decoy_process(["mysql"], full | env), port


def _everything(conn: pymysql.connections.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """What an intruder who does not know the names reads: every table of every schema."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with conn.cursor() as cur:
        cur.execute("SHOW DATABASES")
        schemas = [r[0] for r in cur.fetchall()]
        for schema in schemas:
            if schema in ("information_schema", "performance_schema", "mysql", "sys"):
                continue
            cur.execute(f"SHOW TABLES FROM `{schema}`")
            for (table,) in cur.fetchall():
                cur.execute(f"SELECT * FROM `{schema}`.`{table}`")  # noqa: S608 - names the decoy sent
                out[f"{schema}.{table}"] = list(cur.fetchall())
    return out


def test_crawl_finds_the_database_login_and_it_lets_the_intruder_in(decoy_process: Start) -> None:
    env = {"HONEYPODS_PERSONA_SEED": SEED, "HONEYPODS_HONEYTOKEN_SECRET": SECRET}
    web, base = _web(decoy_process, **env)
    loot = crawl(base)
    assert loot.fetched["/config.js"] == 200  # linked from the page
    assert loot.fetched["/.env"] == 200
    ((user, password, host, dsn_port),) = loot.mysql  # the same login in both files
    assert loot.found_in[password] == {"/.env", "/config.js"}
    assert (host, dsn_port) == ("internal-backend", 3306)
    assert web.of("honeytoken.used") == []  # reading the leak is no use of it

    # The install names its schemas from the seed: the intruder lists them, as the DSN names none.
    db, port = _mysql(decoy_process, drawn_names="yes", **env)
    conn = pymysql.connect(
        host="127.0.0.1", port=port, user=user, password=password, connect_timeout=10
    )
    tables = _everything(conn)
    conn.close()
    assert "app_prod.users" not in tables  # names drawn from this seed, not the reference ones
    rows = [row for found in tables.values() for row in found]
    assert any("ops-admin@corp.internal" in row and "admin" in row for row in rows), tables
    assert any(values(SEED)["api_token"] in row for row in rows), tables
    (event,) = _used(db)
    assert event["rule"]["name"] == "honeypod.honeytoken.used"
    assert event["event"]["kind"] == "alert"
    token = event["honeytoken"]
    assert (token["name"], token["kind"], token["used_on"]) == ("db-login", "mysql_login", "mysql")
    assert token["placements"] == [*DASHBOARD, f"secret:{SECRET}"]
    assert token["secret_read"] is False
    assert event["user"]["name"] == user
    assert event["source"]["ip"] == "127.0.0.1"
    (login,) = db.of("mysql.login")
    assert login["event"]["outcome"] == "success"


def test_weak_logins_see_the_api_token_but_raise_no_honeytoken(decoy_process: Start) -> None:
    mysql = require_tool("mysql")
    db, port = _mysql(decoy_process, HONEYPODS_PERSONA_SEED=SEED)
    base = [mysql, "-h", "127.0.0.1", "-P", str(port), "--skip-ssl", "--connect-timeout=10"]
    out = subprocess.run(
        [*base, "-u", "root", "--password=root", "-N", "-e",
         "SELECT secret FROM app_prod.api_keys; SELECT COUNT(*) FROM app_prod.users"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.split() == [values(SEED)["api_token"], "0"]
    user = values(SEED)["mysql_user"]
    wrong = subprocess.run(
        [*base, "-u", user, "--password=guess", "-e", "SELECT 1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert wrong.returncode == 1
    assert "ERROR 1045" in wrong.stderr
    db.wait_for(lambda docs: sum(d["event"]["action"] == "mysql.login" for d in docs) >= 2)
    assert db.of("honeytoken.used") == []


def test_the_mysql_cli_with_the_leaked_login_raises_it(decoy_process: Start) -> None:
    mysql = require_tool("mysql")
    db, port = _mysql(decoy_process, HONEYPODS_PERSONA_SEED=SEED)
    v = values(SEED)
    out = subprocess.run(
        [mysql, "-h", "127.0.0.1", "-P", str(port), "-u", v["mysql_user"],
         f"--password={v['mysql_password']}", "-N", "-e", "SELECT COUNT(*) FROM app_prod.users"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["3"]
    (event,) = _used(db)
    # No Secret in this install: the dashboard's leak is the only place it was planted.
    assert event["honeytoken"]["placements"] == DASHBOARD


def test_an_api_call_with_the_leaked_token_raises_it(decoy_process: Start) -> None:
    web, base = _web(decoy_process, HONEYPODS_PERSONA_SEED=SEED)
    (token,) = crawl(base).api_tokens
    for auth in ("Bearer not-the-token", f"Bearer {token}"):
        url, headers = base + "/api/v1/status", {"Authorization": auth}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
        assert info.value.code == 401  # nginx's auth_basic answers it as before
    (event,) = _used(web)
    assert event["honeytoken"]["name"] == "api-token"
    assert event["honeytoken"]["used_on"] == "web"
    # The web pod names the table the MySQL decoy of this install holds the token in: drawn
    # from the seed, not the reference app_prod.api_keys.
    naming = naming_for(SEED)
    database, table = naming.db("app_prod"), naming.table("api_keys")
    assert (database, table) != ("app_prod", "api_keys")
    assert event["honeytoken"]["placements"] == [*DASHBOARD, f"database:{database}.{table}"]

    # And that table is there, holding the token, on the install's MySQL decoy.
    mysql = require_tool("mysql")
    _db, port = _mysql(decoy_process, drawn_names="yes", HONEYPODS_PERSONA_SEED=SEED)
    sql = f"SHOW TABLES; SELECT '--'; SELECT secret FROM `{table}`"  # noqa: S608 - a drawn name
    out = subprocess.run(
        [mysql, "-h", "127.0.0.1", "-P", str(port), "--skip-ssl", "--connect-timeout=10",
         "-u", "root", "--password=root", "-N", "-D", database, "-e", sql],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    shown, _, secrets = out.stdout.partition("--")
    assert table in shown.split()
    assert secrets.split() == [token]


def test_without_a_seed_each_start_plants_other_tokens(decoy_process: Start) -> None:
    first = crawl(_web(decoy_process)[1]).api_tokens
    second = crawl(_web(decoy_process)[1]).api_tokens
    assert len(first) == len(second) == 1
    assert first != second


def test_placements_off_plant_nothing(decoy_process: Start) -> None:
    env = {"HONEYPODS_PERSONA_SEED": SEED, "HONEYPODS_HONEYTOKEN_PLACEMENTS": ""}
    _web_proc, base = _web(decoy_process, **env)
    loot = crawl(base)
    assert loot.fetched["/.env"] == 404
    assert "/config.js" not in loot.fetched  # not linked
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base + "/config.js", timeout=10)  # noqa: S310 - loopback
    assert info.value.code == 404
    assert not loot.mysql
    db, port = _mysql(decoy_process, **env)
    v = values(SEED)
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(
            host="127.0.0.1", port=port, user=v["mysql_user"],
            password=v["mysql_password"], connect_timeout=10,
        )  # fmt: skip
    assert info.value.args[0] == 1045
    assert db.of("honeytoken.used") == []


def _ssh(port: int, user: str, password: str) -> subprocess.CompletedProcess[bytes]:
    ssh, sshpass = require_tool("ssh"), require_tool("sshpass")
    return subprocess.run(
        [sshpass, "-p", password, ssh, *SSH_OPTS, "-p", str(port), f"{user}@127.0.0.1", "id"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_secrets_bastion_login_on_ssh_proves_secrets_were_read(decoy_process: Start) -> None:
    v = values(SEED)
    port = free_port()
    env = {
        "HONEYPODS_SSH_PORT": str(port),
        "HONEYPODS_SSH_PASSWORD_FAIL_DELAY": "0.05",
        "HONEYPODS_PERSONA_SEED": SEED,
        "HONEYPODS_HONEYTOKEN_SECRET": SECRET,
    }
    proc = decoy_process(["ssh"], env)
    _ssh(port, v["ssh_user"], v["ssh_password"])
    (event,) = _used(proc)
    token = event["honeytoken"]
    assert (token["name"], token["kind"], token["used_on"]) == ("bastion-login", "ssh_login", "ssh")
    assert token["placements"] == [f"secret:{SECRET}"]
    assert token["secret_read"] is True
    assert f"Kubernetes Secret {SECRET}" in token["meaning"]
    assert "someone read Secrets in the cluster" in token["meaning"]
    logins = proc.of("ssh.login")
    assert logins[-1]["event"]["outcome"] == "success"
    # Let in, and still no shell: the command is recorded, never run.
    proc.wait_for(lambda docs: any(d["event"]["action"] == "ssh.request" for d in docs))
    assert {e["ssh"]["request"] for e in proc.of("ssh.request")} <= {"exec", "pty-req", "env"}


def test_the_bastion_login_is_refused_where_no_secret_planted_it(decoy_process: Start) -> None:
    v = values(SEED)
    port = free_port()
    env = {
        "HONEYPODS_SSH_PORT": str(port),
        "HONEYPODS_SSH_PASSWORD_FAIL_DELAY": "0.05",
        "HONEYPODS_PERSONA_SEED": SEED,
    }
    proc = decoy_process(["ssh"], env)
    out = _ssh(port, v["ssh_user"], v["ssh_password"])
    assert out.returncode != 0
    assert b"Permission denied" in out.stderr
    proc.wait_for(lambda docs: any(d["event"]["action"] == "ssh.login" for d in docs))
    assert proc.of("ssh.login")[-1]["event"]["outcome"] == "failure"
    assert proc.of("honeytoken.used") == []
