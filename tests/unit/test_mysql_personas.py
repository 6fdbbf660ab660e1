"""The install's names and persona from its seed: stable per seed, different between seeds."""

from __future__ import annotations

import pytest

from honeypods.core.seed import choose, derive
from honeypods.mysql.install import naming_for, persona_for
from honeypods.mysql.personas import PERSONAS, REFERENCE, TABLES
from honeypods.mysql.sql import answer
from honeypods.mysql.sql.schema import named_schemas
from honeypods.mysql.sql.session import SqlSession


def test_derive_and_choose_depend_on_seed_and_label_only() -> None:
    assert derive("s", "a") == derive("s", "a")
    assert derive("s", "a") != derive("s", "b") != derive("t", "a")
    assert len(derive("s", "a", 80)) == 80
    assert derive("s", "a", 80)[:32] == derive("s", "a")
    assert {choose(f"seed-{n}", "x", "abc") for n in range(40)} == set("abc")
    with pytest.raises(ValueError, match="no options"):
        choose("s", "x", [])


def test_the_empty_seed_is_the_reference_install() -> None:
    names = naming_for("")
    assert names.databases == {"app_prod": "app_prod", "billing": "billing"}
    assert names.tables == {t: t for t in TABLES}
    assert persona_for("") is PERSONAS[REFERENCE]


def test_seeds_spread_over_personas_and_names() -> None:
    seeds = [f"install-{n}" for n in range(60)]
    assert {persona_for(s).name for s in seeds} == set(PERSONAS)
    namings = [naming_for(s) for s in seeds]
    assert len({n.hostname for n in namings}) == len(seeds)
    assert len({n.db("app_prod") for n in namings}) > 10
    for n in namings:
        assert n.db("app_prod").endswith("_prod")
        assert n.db("app_prod") != n.db("billing")
    assert naming_for("install-1") == naming_for("install-1")


def test_pins_win_over_the_seed() -> None:
    assert persona_for("install-1", "mysql-8.4.3").version == "8.4.3"
    names = naming_for("x", hostname="db1", databases=("a", "b"), tables=tuple("uvwxyz"))
    assert (names.hostname, names.db("billing"), names.table("invoices")) == ("db1", "b", "z")


def test_a_session_sees_the_install_names() -> None:
    names = naming_for("install-7")
    s = SqlSession(
        "root", "10.0.0.1", 9, "8.4.3", {}, schemas=named_schemas(names.databases, names.tables)
    )
    app = names.db("app_prod")
    shown = answer("SHOW DATABASES", s)
    assert (app,) in shown.rows  # type: ignore[union-attr]
    tables = answer(f"SHOW TABLES FROM {app}", s)
    assert (names.table("users"),) in tables.rows  # type: ignore[union-attr]
