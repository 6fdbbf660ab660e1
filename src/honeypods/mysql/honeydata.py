"""The rows the MySQL persona shows beside its empty tables: where honeytokens are planted.

Policy, pure data: every account sees the dashboard's API token in ``app_prod.api_keys`` (the
MySQL placement of core/honeytokens.py; rows are keyed by reference names, which the server maps
to the install's, and ``install.api_key_table`` names that table in the events). The planted
service account (the login leaked by the dashboard and the decoy Secret) sees a slightly richer database, as an application's own account
would: the staff in ``app_prod.users`` and more keys, so that whoever stole it finds it worth
having and keeps going. No value here is a secret of anything real.
"""

from __future__ import annotations

from typing import Final

Rows = dict[tuple[str, str], tuple[tuple[str | None, ...], ...]]

# Fixed, so that a returning intruder sees the same data; the dates are the schema's era.
_KEY_ROW_DATE: Final = "2024-05-02 07:41:09"
_STAFF: Final = (
    ("1", "ops-admin@corp.internal", "admin", "2024-03-11 09:20:02"),
    ("2", "j.moreau@corp.internal", "operator", "2024-03-18 14:02:55"),
    ("3", "ci-reporting@corp.internal", "service", "2024-04-29 16:47:31"),
)


def _bcrypt_like(seed_hex: str, n: int) -> str:
    # A bcrypt-shaped hash: 53 characters of its alphabet after the cost, never a real one.
    body = (seed_hex * 4)[n : n + 53]
    return f"$2y$12${body}"


def planted_rows(api_token: str, *, richer: bool, filler: str) -> Rows:
    """The rows of an account.

    Args:
        api_token: the install's API token, or empty when it is not planted in MySQL.
        richer: the account is the planted service account.
        filler: hex text of the install (any token's digest), to vary the fake hashes per install.
    """
    rows: Rows = {}
    keys: list[tuple[str | None, ...]] = []
    if api_token:
        keys.append(("1", "3", "opsconsole-reporting", api_token, _KEY_ROW_DATE))
    if richer:
        keys.append(("2", "1", "deploy-hook (revoked)", None, "2024-03-19 10:05:44"))
        rows["app_prod", "users"] = tuple(
            (uid, email, _bcrypt_like(filler, i), role, None, created)
            for i, (uid, email, role, created) in enumerate(_STAFF)
        )
    if keys:
        rows["app_prod", "api_keys"] = tuple(keys)
    return rows
