"""The MySQL builds the decoy can be, and the names one install gives its data.

Policy, pure data: no asyncio, nothing of ``honeypods.core``; ``mysql.install`` draws from it.
A persona is one real MySQL Community Server build (the official ``mysql`` container image, which reports
``version_compile_os`` Linux): its version, the system variables whose defaults differ between
the builds, the variables it no longer has, and the statements it no longer parses. What the
three share (the greeting's capabilities, caching_sha2_password as the default plugin, the error
texts of the statements both parse) lives in the modules that build them.

Sources, as docs/personas.md lists them (MySQL cannot be installed here, so each difference comes
from MySQL's documentation): "What Is New in MySQL 8.4 since MySQL 8.0" (the InnoDB defaults
table, mysql_native_password no longer enabled by default), "Option and Variable Changes for
MySQL 8.4" (default_authentication_plugin, have_ssl, have_openssl removed in 8.4.0) and the 8.4
removal of the MASTER/SLAVE statements (SHOW MASTER STATUS is a syntax error there).

The install's names (``Naming``) are drawn by ``mysql.install`` from HONEYPODS_PERSONA_SEED, one
label per choice, so two installs differ and one install keeps its names across restarts; its
``api_key_table`` names the table holding the planted API token, for the honeytoken events of
every decoy of the install.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True)
class Persona:
    """One real MySQL build."""

    name: str
    version: str
    # What the build is, for docs/personas.md.
    build: str
    # Variables whose value differs from the 8.0 defaults in sql/variables.py.
    variables: Mapping[str, str | int | bool] = field(default_factory=dict)
    # Variables this build does not have: @@name and SET give error 1193.
    removed: frozenset[str] = frozenset()
    # Statements this build no longer parses (a 1064 syntax error), as regexes on the text.
    removed_syntax: tuple[str, ...] = ()
    # The release day (UTC): a seeded install's data directory, and with it the auto-generated
    # certificates and RSA key pair, is dated some months after it.
    released: datetime.datetime = field(kw_only=True)


# InnoDB defaults MySQL 8.0 ships (8.0.36 to 8.0.40 share them), as SHOW VARIABLES prints them
# on a 2-CPU container with the default 128 MiB buffer pool.
_INNODB_80: Final[Mapping[str, str | int | bool]] = {
    "innodb_adaptive_hash_index": True,
    "innodb_buffer_pool_in_core_file": True,
    "innodb_buffer_pool_instances": 1,
    "innodb_buffer_pool_size": 134217728,
    "innodb_change_buffering": "all",
    "innodb_doublewrite_pages": 4,
    "innodb_io_capacity": 200,
    "innodb_io_capacity_max": 2000,
    "innodb_log_buffer_size": 16777216,
    "innodb_numa_interleave": False,
    "innodb_page_cleaners": 1,
    "innodb_use_fdatasync": False,
    "temptable_max_mmap": 1073741824,
    "temptable_use_mmap": True,
}
# MySQL 8.4's new defaults ("InnoDB system variable default values in MySQL 8.4 differing from
# MySQL 8.0"); the buffer pool stays 128 MiB, so one instance and one page cleaner.
_INNODB_84: Final[Mapping[str, str | int | bool]] = {
    **_INNODB_80,
    "innodb_adaptive_hash_index": False,
    "innodb_buffer_pool_in_core_file": False,
    "innodb_change_buffering": "none",
    "innodb_doublewrite_pages": 128,
    "innodb_io_capacity": 10000,
    "innodb_io_capacity_max": 20000,
    "innodb_log_buffer_size": 67108864,
    "innodb_numa_interleave": True,
    "innodb_use_fdatasync": True,
    "temptable_max_mmap": 0,
    "temptable_use_mmap": False,
}

PERSONAS: Final[Mapping[str, Persona]] = {
    p.name: p
    for p in (
        Persona(
            "mysql-8.0.36",
            "8.0.36",
            "MySQL Community Server 8.0.36 (mysql:8.0.36, Oracle Linux 8)",
            _INNODB_80,
            released=datetime.datetime(2024, 1, 16, tzinfo=datetime.UTC),
        ),
        Persona(
            "mysql-8.0.40",
            "8.0.40",
            "MySQL Community Server 8.0.40 (mysql:8.0.40, Oracle Linux 9)",
            _INNODB_80,
            released=datetime.datetime(2024, 10, 15, tzinfo=datetime.UTC),
        ),
        Persona(
            "mysql-8.4.3",
            "8.4.3",
            "MySQL Community Server 8.4.3 LTS (mysql:8.4.3, Oracle Linux 9)",
            _INNODB_84,
            released=datetime.datetime(2024, 10, 15, tzinfo=datetime.UTC),
            removed=frozenset(("default_authentication_plugin", "have_openssl", "have_ssl")),
            removed_syntax=(
                r"show\s+(master\s+(status|logs)|slave\s+(status|hosts))\b",
                r"(start|stop|reset)\s+slave\b",
                r"reset\s+master\b",
                r"change\s+master\b",
                r"purge\s+master\b",
            ),
        ),
    )
}
# The persona of an install without a seed, and of every install before personas existed.
REFERENCE: Final = "mysql-8.0.36"


# What an account listed without a password gets, one per install and user (HONEYPODS_MYSQL_ACCEPT):
# the passwords brute-force lists try first against MySQL.
WEAK_PASSWORDS: Final = (
    "",
    "root",
    "123456",
    "password",
    "mysql",
    "toor",
    "admin",
    "12345678",
    "qwerty",
    "changeme",
    "root123",
    "P@ssw0rd",
)


# The product an install's database belongs to: ``<product>_prod``.
PRODUCTS: Final = (
    "app",
    "shop",
    "crm",
    "portal",
    "orders",
    "inventory",
    "helpdesk",
    "checkout",
    "ledger",
    "booking",
    "partners",
    "members",
    "loyalty",
    "catalog",
    "fleet",
    "claims",
    "tickets",
    "storefront",
    "marketplace",
    "subscriptions",
)
# The second database, where the money is; ``{}`` is the product.
BILLING: Final = ("billing", "{}_billing", "billing_prod", "payments", "finance", "invoicing")
# Each table of sql/schema.py by its reference name, and what other installs call it.
TABLES: Final[Mapping[str, Sequence[str]]] = {
    "users": ("users", "accounts", "app_users", "user_accounts"),
    "customers": ("customers", "clients", "contacts", "customer_profiles"),
    "api_keys": ("api_keys", "api_tokens", "access_tokens", "service_tokens"),
    "sessions": ("sessions", "user_sessions", "auth_sessions", "login_sessions"),
    "payment_methods": ("payment_methods", "credit_cards", "payment_cards", "stored_cards"),
    "invoices": ("invoices", "bills", "invoice_items", "charges"),
}


@dataclass(frozen=True)
class Naming:
    """What one install calls its host, its databases and its tables.

    ``databases`` maps the reference names (``app_prod``, ``billing``) to the install's, and
    ``tables`` each reference table name to the install's; sql/schema.py's ``named_schemas``
    applies them. Rows planted by reference name are found with ``db()`` and ``table()``.
    """

    hostname: str
    databases: Mapping[str, str]
    tables: Mapping[str, str]

    def db(self, reference: str) -> str:
        return self.databases.get(reference, reference)

    def table(self, reference: str) -> str:
        return self.tables.get(reference, reference)
