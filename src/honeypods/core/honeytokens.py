"""Honeytokens: credentials each install makes up and plants where an intruder looks.

Every install has three tokens: a MySQL login, an SSH login and an API token. Nothing legitimate
ever uses them, so any use of one is an intruder who found it, and where it was planted says
where they looked. Rules this module keeps:

* A token derives from the install's seed (``HONEYPODS_PERSONA_SEED``) and its label alone:
  ``sha256_hex(f"honeypods/v1/{label}/{seed}")``, cut and prefixed per token (``_DERIVED``). The
  chart computes the very same values with Helm's ``sha256sum`` for the Kubernetes Secret it
  plants (Helm has no HMAC); with the seed secret and last in the hashed text, one token reveals
  nothing of another.
* Where each token is planted is fixed here (``CANDIDATES``): the dashboard's leaked files hold
  the database login and the API token, the database decoy's API-key table the API token, and the
  chart's decoy Secret the database and bastion (SSH) logins. Core names no decoy: the places are
  ``dashboard``, ``database`` and ``secret``, and what a place is called in this install (the
  database's ``<database>.<table>``, which each install draws from its seed) comes from the decoy
  that plants there (``registry.Decoy.plants``), through ``Honeytokens.plants``, which the runner
  fills. An install turns placements on
  (``HONEYPODS_HONEYTOKEN_PLACEMENTS``, ``HONEYPODS_HONEYTOKEN_SECRET``); a token with no
  placement turned on is planted nowhere and its use is not reported.
* The bastion login is planted in the Secret only, so its use proves that someone read Secrets of the
  cluster; the event says so for every token whose only placement is the Secret.
* Pure: no I/O, no asyncio. The runner installs the process's ``Honeytokens`` once at start
  (``install``); decoys read it with ``current()``. Without a seed the runner makes a random one
  per start (the images keep no state), so tokens then change on every restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

EVENT: Final = "honeytoken.used"
RULE: Final = "honeypod.honeytoken.used"

# Where a token can be planted; the names HONEYPODS_HONEYTOKEN_PLACEMENTS takes.
DASHBOARD: Final = "dashboard"
DATABASE: Final = "database"
SECRET: Final = "secret"  # noqa: S105 - a placement name, not a password
PLACES: Final = (DASHBOARD, DATABASE, SECRET)

# What the web decoy serves the leak as: the dashboard placement's descriptions name them.
DASHBOARD_FILES: Final = ("/.env", "/config.js")
# What a place is called when no decoy described it (``Honeytokens.plants``): the table's name
# depends on the install, so only the decoy that plants there can name it.
GENERIC_PLANTS: Final[Mapping[str, str]] = {DATABASE: "the application's API-key table"}

# token name -> (kind, the places it can be planted).
CANDIDATES: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "db-login": ("mysql_login", (DASHBOARD, SECRET)),
    "bastion-login": ("ssh_login", (SECRET,)),
    "api-token": ("api_token", (DASHBOARD, DATABASE)),
}

# value -> (label hashed with the seed, prefix, hex digits kept). The chart repeats this table
# (templates/_helpers.tpl, honeypods.honeytoken); a chart test checks both agree.
_DERIVED: Final[Mapping[str, tuple[str, str, int]]] = {
    "mysql_user": ("mysql.user", "svc_reports_", 4),
    "mysql_password": ("mysql.password", "", 24),
    "ssh_user": ("ssh.user", "deploy-", 4),
    "ssh_password": ("ssh.password", "", 24),
    "api_token": ("api.token", "opc_live_", 40),
}


def derive(seed: str, label: str) -> str:
    """The hex digest a token's value is cut from."""
    return hashlib.sha256(f"honeypods/v1/{label}/{seed}".encode()).hexdigest()


def values(seed: str) -> dict[str, str]:
    """Every token value of an install with this seed: name -> value (``_DERIVED``'s keys)."""
    out = {}
    for name, (label, prefix, digits) in _DERIVED.items():
        out[name] = prefix + derive(seed, label)[:digits]
    return out


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


@dataclass(frozen=True)
class Honeytokens:
    """One install's tokens and where they are planted.

    Args:
        seed: the install's seed.
        placements: places turned on, of ``PLACES``; ``secret`` counts only with ``secret``.
        secret: ``namespace/name`` of the chart's decoy Secret, or empty when there is none.
        mysql_address: ``host:port`` the leaked files name for the MySQL login.
        plants: place -> what it is called in this install, as the decoy planting there
            describes it (``database`` -> ``<database>.<table>``); a place missing here is
            described by ``GENERIC_PLANTS``.
    """

    seed: str
    placements: tuple[str, ...] = (DASHBOARD, DATABASE)
    secret: str = ""
    mysql_address: str = "internal-backend:3306"
    plants: Mapping[str, str] = field(default_factory=dict)
    tokens: Mapping[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", values(self.seed))

    @property
    def mysql_user(self) -> str:
        return self.tokens["mysql_user"]

    @property
    def mysql_password(self) -> str:
        return self.tokens["mysql_password"]

    @property
    def ssh_user(self) -> str:
        return self.tokens["ssh_user"]

    @property
    def ssh_password(self) -> str:
        return self.tokens["ssh_password"]

    @property
    def api_token(self) -> str:
        return self.tokens["api_token"]

    def _on(self, place: str) -> bool:
        if place == SECRET:
            return bool(self.secret)
        return place in self.placements

    def places(self, token: str) -> list[str]:
        """Where ``token`` (a ``CANDIDATES`` name) is planted in this install, described."""
        out: list[str] = []
        for place in CANDIDATES[token][1]:
            if not self._on(place):
                continue
            if place == DASHBOARD:
                out.extend(f"{DASHBOARD}:{path}" for path in DASHBOARD_FILES)
            elif place == DATABASE:
                out.append(f"{DATABASE}:{self.plants.get(DATABASE, GENERIC_PLANTS[DATABASE])}")
            else:
                out.append(f"secret:{self.secret}")
        return out

    def planted(self, token: str, place: str) -> bool:
        """Whether ``token`` is planted at ``place`` (one of ``PLACES``) in this install."""
        return place in CANDIDATES[token][1] and self._on(place)

    def live(self, token: str) -> bool:
        """Whether the token is planted anywhere, so that its use means something."""
        return bool(self.places(token))

    def mysql_login(self, user: str, password: str) -> bool:
        return _same(user, self.mysql_user) and _same(password, self.mysql_password)

    def ssh_login(self, user: str, password: str) -> bool:
        return _same(user, self.ssh_user) and _same(password, self.ssh_password)

    def is_api_token(self, text: str) -> bool:
        return _same(text, self.api_token)

    def used(self, token: str, *, via: str) -> dict[str, Any]:
        """The fields of ``honeytoken.used`` for a use of ``token`` seen by decoy ``via``."""
        kind, _ = CANDIDATES[token]
        places = self.places(token)
        only_secret = bool(places) and all(p.startswith("secret:") for p in places)
        fields: dict[str, Any] = {
            "honeytoken.name": token,
            "honeytoken.kind": kind,
            "honeytoken.placements": places,
            "honeytoken.used_on": via,
            "honeytoken.secret_read": only_secret,
        }
        if only_secret:
            fields["honeytoken.meaning"] = (
                f"this credential exists only in the Kubernetes Secret {self.secret}: "
                "someone read Secrets in the cluster"
            )
        else:
            fields["honeytoken.meaning"] = (
                "this credential exists only in the decoys' planted files and data ("
                + ", ".join(places)
                + "): someone found and used it"
            )
        return fields


def random_seed() -> str:
    """A seed for an install that set none: tokens then live as long as the process."""
    return secrets.token_urlsafe(32)


def kept_seed(state_dir: str) -> str:
    """The seed drawn once for an install without a configured one and kept in its state
    directory (``make run``'s .state/), so its tokens and personas survive a restart."""
    path = Path(state_dir) / "persona-seed"
    with contextlib.suppress(FileNotFoundError):
        kept = path.read_text("ascii").strip()
        if len(kept) >= 16 and kept.isprintable():
            return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = random_seed()
    # Written whole or not at all: a second process reading it never sees half a seed.
    partial = path.with_suffix(".partial")
    partial.write_text(seed + "\n", "ascii")
    partial.chmod(0o600)
    partial.replace(path)
    return seed


_current: list[Honeytokens] = []


def install(tokens: Honeytokens) -> None:
    """Make ``tokens`` the process's (the runner does, once, at start)."""
    _current[:] = [tokens]


def current() -> Honeytokens:
    """The process's tokens; a random seed with the default placements if none was installed."""
    if not _current:
        _current.append(Honeytokens(random_seed()))
    return _current[0]
