"""One password per account, drawn per install from the weak list; pinned ones as given."""

from __future__ import annotations

import functools

import pytest

from honeypods.core.seed import choose
from honeypods.mysql.codec.constants import CACHING_SHA2, NATIVE
from honeypods.mysql.install import weak_password
from honeypods.mysql.passwords import Accounts, scramble_caching_sha2, scramble_native
from honeypods.mysql.personas import WEAK_PASSWORDS

SALT = b"0123456789abcdefghij"


def _accepted(accounts: Accounts, user: bytes, plugin: str) -> list[str]:
    scramble = scramble_native if plugin == NATIVE else scramble_caching_sha2
    out = []
    for word in WEAK_PASSWORDS:
        response = scramble(word.encode(), SALT) if word else b""
        if accounts.check(user, plugin, response, SALT) is not None:
            out.append(word)
    return out


def test_each_account_has_exactly_one_weak_password() -> None:
    for seed in ("a", "b", "install-42", ""):
        accounts = Accounts(("root", "admin"), CACHING_SHA2, functools.partial(weak_password, seed))
        for user in ("root", "admin"):
            accepted = _accepted(accounts, user.encode(), CACHING_SHA2)
            assert accepted == [weak_password(seed, user)]
            assert _accepted(accounts, user.encode(), NATIVE) == accepted


def test_the_seed_decides_and_installs_differ() -> None:
    drawn = {weak_password(f"install-{i}", "root") for i in range(200)}
    assert drawn == set(WEAK_PASSWORDS)  # every listed one is reachable
    assert weak_password("x", "root") == weak_password("x", "root")
    # Drawn as every per-install choice is, by core.seed, under its own label per user.
    assert weak_password("x", "admin") == choose("x", "mysql.password/admin", WEAK_PASSWORDS)


def test_pinned_passwords_and_retain_current_password() -> None:
    accounts = Accounts(
        ("root:s3cret", "root:old", "bob:"), NATIVE, functools.partial(weak_password, "seed")
    )
    assert accounts.knows(b"root", b"s3cret")
    assert accounts.knows(b"root", b"old")
    assert not accounts.knows(b"root", weak_password("seed", "root").encode() or b"none")
    assert accounts.check(b"bob", NATIVE, b"", SALT) == b""


def test_a_bare_account_needs_a_weak_password() -> None:
    with pytest.raises(ValueError, match="root"):
        Accounts(("root",), NATIVE)
