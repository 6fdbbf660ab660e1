"""Honeytokens: derivation from the seed, placements, the event's fields, the settings, the leak
files, the MySQL rows and the Alertmanager annotations (core/honeytokens.py and its users)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from honeypods.__main__ import plants
from honeypods.core import alerting, honeytokens
from honeypods.core.honeytokens import Honeytokens, values
from honeypods.core.settings import ConfigError, load
from honeypods.mysql.codec import ResultSet
from honeypods.mysql.honeydata import planted_rows
from honeypods.mysql.install import api_key_table, naming_for
from honeypods.mysql.sql import SqlSession, answer, default_variables

SEED = "k3VZ8bq0rM2wY7pT4sX9nL1cF6hJ5dGa"
SECRET = "decoys/internal-db-credentials"


def test_tokens_derive_from_the_seed_alone() -> None:
    one, again, other = values(SEED), values(SEED), values(SEED + "x")
    assert one == again
    assert all(one[name] != other[name] for name in one)
    assert re.fullmatch(r"svc_reports_[0-9a-f]{4}", one["mysql_user"])
    assert re.fullmatch(r"deploy-[0-9a-f]{4}", one["ssh_user"])
    assert re.fullmatch(r"[0-9a-f]{24}", one["mysql_password"])
    assert re.fullmatch(r"opc_live_[0-9a-f]{40}", one["api_token"])
    # No value is a piece of another: one leaked token tells nothing of the rest.
    assert len({v.split("_")[-1].split("-")[-1] for v in one.values()}) == len(one)


def test_without_the_secret_the_bastion_login_is_planted_nowhere() -> None:
    tokens = Honeytokens(SEED)
    assert tokens.places("db-login") == ["dashboard:/.env", "dashboard:/config.js"]
    assert tokens.places("api-token") == [
        "dashboard:/.env",
        "dashboard:/config.js",
        "database:the application's API-key table",  # no decoy described it
    ]
    assert not tokens.live("bastion-login")
    assert Honeytokens(SEED, ()).places("db-login") == []


@pytest.mark.parametrize("seed", [SEED, "Zp4u0Jr9Wq2mXe7Kc5Nv8Hb1Ty6Ls3Dg"])
def test_the_database_placement_names_the_installs_own_table(seed: str) -> None:
    naming = naming_for(seed)
    table = f"{naming.db('app_prod')}.{naming.table('api_keys')}"
    assert table != "app_prod.api_keys"  # both seeds draw other names than the reference ones
    # Any process of the install, whichever decoys it runs, describes it so.
    for decoys in (["web"], ["mysql"], ["ssh"], ["web", "mysql"]):
        described = plants(load(decoys, env={"HONEYPODS_PERSONA_SEED": seed}), seed)
        assert described == {"database": table}, decoys
        tokens = Honeytokens(seed, plants=described)
        assert tokens.places("api-token")[-1] == f"database:{table}"
        assert tokens.used("api-token", via="web")["honeytoken.placements"][-1] == (
            f"database:{table}"
        )


def test_pinned_names_reach_only_the_mysql_decoys_own_process() -> None:
    env = {
        "HONEYPODS_PERSONA_SEED": SEED,
        "HONEYPODS_MYSQL_DATABASES": "crm_live,billing",
        "HONEYPODS_MYSQL_TABLES": "users,customers,tokens,sessions,cards,invoices",
    }
    assert plants(load(["mysql"], env=env), SEED) == {"database": "crm_live.tokens"}
    assert plants(load(["web", "mysql"], env=env), SEED) == {"database": "crm_live.tokens"}
    # A pod without the MySQL decoy knows the seed's names only (docs/honeytokens.md).
    assert plants(load(["web"], env=env), SEED) == {"database": api_key_table(SEED)}


def test_a_token_found_only_in_the_secret_says_secrets_were_read() -> None:
    tokens = Honeytokens(SEED, ("dashboard", "database"), SECRET)
    ssh = tokens.used("bastion-login", via="ssh")
    assert ssh["honeytoken.placements"] == [f"secret:{SECRET}"]
    assert ssh["honeytoken.secret_read"] is True
    assert "someone read Secrets in the cluster" in ssh["honeytoken.meaning"]
    assert SECRET in ssh["honeytoken.meaning"]
    db = tokens.used("db-login", via="mysql")
    assert db["honeytoken.placements"] == [
        "dashboard:/.env",
        "dashboard:/config.js",
        f"secret:{SECRET}",
    ]
    assert db["honeytoken.secret_read"] is False
    # With the dashboard off, the database login too is in the Secret only.
    only = Honeytokens(SEED, ("database",), SECRET).used("db-login", via="mysql")
    assert only["honeytoken.secret_read"] is True


def test_logins_match_exactly() -> None:
    t = Honeytokens(SEED)
    assert t.mysql_login(t.mysql_user, t.mysql_password)
    assert not t.mysql_login(t.mysql_user, t.mysql_password + "x")
    assert not t.mysql_login("root", t.mysql_password)
    assert t.ssh_login(t.ssh_user, t.ssh_password)
    assert not t.ssh_login(t.ssh_user, t.mysql_password)
    assert t.is_api_token(t.api_token)
    assert not t.is_api_token(t.api_token[:-1])


def test_settings() -> None:
    env = {
        "HONEYPODS_PERSONA_SEED": SEED,
        "HONEYPODS_HONEYTOKEN_PLACEMENTS": "dashboard",
        "HONEYPODS_HONEYTOKEN_SECRET": SECRET,
        "HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS": "db.decoys.svc:3306",
    }
    c = load(["portscan"], env=env).common
    assert (c.persona_seed, c.honeytoken_placements) == (SEED, ("dashboard",))
    assert (c.honeytoken_secret, c.honeytoken_mysql_address) == (SECRET, "db.decoys.svc:3306")
    off = load(["portscan"], env={"HONEYPODS_HONEYTOKEN_PLACEMENTS": ""}).common
    assert off.honeytoken_placements == ()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HONEYPODS_HONEYTOKEN_PLACEMENTS", "dashboard,wiki", "HONEYPODS_HONEYTOKEN_PLACEMENTS"),
        ("HONEYPODS_HONEYTOKEN_SECRET", "no-slash", "HONEYPODS_HONEYTOKEN_SECRET"),
        ("HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS", "db", "HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS"),
        ("HONEYPODS_PERSONA_SEED", "short", "HONEYPODS_PERSONA_SEED"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(["portscan"], env={name: value})


def test_current_falls_back_to_a_random_seed_and_install_replaces_it() -> None:
    saved = list(honeytokens._current)
    try:
        honeytokens._current.clear()
        first = honeytokens.current()
        assert honeytokens.current() is first
        assert len(first.seed) >= 32
        honeytokens.install(Honeytokens(SEED))
        assert honeytokens.current().seed == SEED
    finally:
        honeytokens._current[:] = saved


# -- the dashboard's leak ---------------------------------------------------------------------------


def test_the_leak_is_linked_from_the_index_and_holds_the_tokens() -> None:
    pytest.importorskip("aiohttp")
    from honeypods.web.config import WebConfig
    from honeypods.web.leak import api_token_in, with_leak
    from honeypods.web.site import site_files

    tokens = Honeytokens(SEED)
    plain = site_files(WebConfig())
    files = with_leak(plain, tokens, "OpsConsole")
    assert b'<script src="/config.js"></script>' in files["/index.html"].body
    assert b"config.js" not in plain["/index.html"].body
    script = files["/config.js"].body.decode()
    dsn = f"mysql://{tokens.mysql_user}:{tokens.mysql_password}@internal-backend:3306/"
    assert dsn in script
    assert tokens.api_token in script
    env = files["/.env"].body.decode()
    assert f"DB_PASSWORD={tokens.mysql_password}\n" in env
    assert f"OPSCONSOLE_API_TOKEN={tokens.api_token}\n" in env
    assert with_leak(plain, Honeytokens(SEED, ()), "OpsConsole") == plain

    basic = base64.b64encode(f"ci:{tokens.api_token}".encode()).decode()
    for headers, query in (
        ({"Authorization": f"Bearer {tokens.api_token}"}, {}),
        ({"X-Api-Key": tokens.api_token}, {}),
        ({"Authorization": f"Basic {basic}"}, {}),
        ({}, {"token": tokens.api_token}),
    ):
        assert api_token_in(headers, query, tokens), headers
    assert not api_token_in({"Authorization": "Bearer nope"}, {}, tokens)
    assert not api_token_in({"Authorization": "Basic !!!"}, {}, tokens)
    assert not api_token_in({"X-Api-Key": tokens.api_token}, {}, Honeytokens(SEED, ()))


# -- the database's rows ----------------------------------------------------------------------------


def _select(query: str, rows: Any) -> ResultSet:
    variables = default_variables("8.0.36", "0123456789ab", 3306)
    s = SqlSession("svc", "10.0.0.9", 42, "8.0.36", variables, database="app_prod", rows=rows)
    reply = answer(query, s)
    assert isinstance(reply, ResultSet), reply
    return reply


def test_every_account_sees_the_api_token_and_the_planted_one_more() -> None:
    token = values(SEED)["api_token"]
    anyone = planted_rows(token, richer=False, filler="ab" * 32)
    assert _select("SELECT secret FROM api_keys", anyone).rows == ((token,),)
    assert _select("SELECT COUNT(*) FROM users", anyone).rows == (("0",),)
    richer = planted_rows(token, richer=True, filler="ab" * 32)
    users = _select("SELECT * FROM app_prod.users", richer)
    assert len(users.rows) == 3
    assert [c.name for c in users.columns][:2] == ["id", "email"]
    assert all(str(r[2]).startswith("$2y$12$") for r in users.rows)
    assert len(_select("SELECT name FROM api_keys", richer).rows) == 2
    assert _select("SELECT email FROM users WHERE role = 'admin'", richer).rows == (
        ("ops-admin@corp.internal",),
    )
    assert planted_rows("", richer=False, filler="ab" * 32) == {}


# -- direct alerting --------------------------------------------------------------------------------


def test_alertmanager_alert_names_the_token_and_says_the_secret_was_read() -> None:
    tokens = Honeytokens(SEED, ("dashboard",), SECRET)
    event = {
        "@timestamp": "2025-01-01T00:00:00.000000Z",
        "event.action": "honeytoken.used",
        "rule.name": "honeypod.honeytoken.used",
        "honeypod.decoy": "ssh",
        "host.name": "internal-bastion-7b9c",
        "source.ip": "10.1.2.3",
        "user.name": tokens.ssh_user,
        **tokens.used("bastion-login", via="ssh"),
    }
    (alert,) = json.loads(alerting.alertmanager_body([event], {}, "critical"))
    notes = alert["annotations"]
    assert alert["labels"]["alertname"] == "honeypod.honeytoken.used"
    assert notes["honeytokens"] == "bastion-login"
    assert notes["honeytoken_placements"] == f"secret:{SECRET}"
    assert notes["secret_read"] == "true"
    assert notes["description"].startswith("this credential exists only in the Kubernetes Secret")
