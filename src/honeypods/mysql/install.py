"""What one MySQL install is: its persona, names and weak passwords, drawn from its seed.

Each choice comes from HONEYPODS_PERSONA_SEED under its own label (``core.seed``), from the
tables of ``mysql.personas``; a setting that pins one wins. The empty seed gives the reference
persona and names, which the unit tests use.
"""

from __future__ import annotations

from collections.abc import Sequence

from honeypods.core.seed import choose, derive
from honeypods.mysql.personas import (
    BILLING,
    PERSONAS,
    PRODUCTS,
    REFERENCE,
    TABLES,
    WEAK_PASSWORDS,
    Naming,
    Persona,
)


def persona_for(seed: str, pinned: str = "") -> Persona:
    """The pinned persona, or the one the seed picks (the reference one for the empty seed)."""
    if pinned:
        return PERSONAS[pinned]
    if not seed:
        return PERSONAS[REFERENCE]
    return choose(seed, "mysql.persona", tuple(PERSONAS.values()))


def weak_password(seed: str, user: str) -> str:
    """The password of ``user`` in the install whose seed is ``seed``: one of WEAK_PASSWORDS."""
    return choose(seed, f"mysql.password/{user}", WEAK_PASSWORDS)


def naming_for(
    seed: str,
    *,
    hostname: str = "",
    databases: Sequence[str] = (),
    tables: Sequence[str] = (),
) -> Naming:
    """The install's names: each pinned one as given, the others drawn from the seed.

    Args:
        seed: HONEYPODS_PERSONA_SEED; the empty seed gives the reference names.
        hostname: pins @@hostname.
        databases: pins the two databases (application, billing).
        tables: pins the six tables, in the order of ``TABLES``.
    """
    # A container's hostname is 12 hex digits of its id.
    host = hostname or derive(seed, "mysql.hostname", 6).hex()
    if databases:
        app, billing = databases
    elif not seed:
        app, billing = "app_prod", "billing"
    else:
        product = choose(seed, "mysql.product", PRODUCTS)
        app = f"{product}_prod"
        billing = choose(seed, "mysql.billing", BILLING).format(product)
    if tables:
        names = dict(zip(TABLES, tables, strict=True))
    else:
        names = {
            ref: options[0] if not seed else choose(seed, f"mysql.table.{ref}", options)
            for ref, options in TABLES.items()
        }
    return Naming(host, {"app_prod": app, "billing": billing}, names)


def api_key_table(seed: str, *, databases: Sequence[str] = (), tables: Sequence[str] = ()) -> str:
    """``<database>.<table>`` of the install's API keys (the reference ``app_prod.api_keys``),
    where mysql.honeydata plants the API token; ``databases`` and ``tables`` as ``naming_for``'s.
    """
    naming = naming_for(seed, databases=databases, tables=tables)
    return f"{naming.db('app_prod')}.{naming.table('api_keys')}"
