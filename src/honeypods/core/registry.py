"""The decoy registry: which decoys exist, and what core needs to know of each.

Rules this module keeps:

* Core knows decoys only by name, through ``NAMES``. Each name is a package ``honeypods.<name>``
  whose ``__init__`` defines ``DECOY``, a ``Decoy``; importing it is cheap (settings and event
  catalogue only), so the registry can describe every decoy without loading any protocol library.
* Adding a decoy is a new package plus its name in ``NAMES``: settings, docs, metrics and the
  runner read everything else from its ``Decoy``.
* Components that are not decoys but run the same way (``honeypods run enricher``) are in
  ``SERVICES``: the same entry, the same settings and events, but ``honeypods run`` without names
  starts the decoys only.
* A decoy that plants a honeytoken names the place as the install calls it (``plants``), from
  the seed alone when the decoy runs in another process: the chart runs each decoy in its own
  pod, and every pod's ``honeytoken.used`` must name the same places.
* Constructing a ``Decoy`` adds its events to the catalogue, so a decoy's events are known as soon
  as anything of the decoy is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from honeypods.core import events

if TYPE_CHECKING:
    from honeypods.core.limits import Limits

# In the order the docs, the metrics and `honeypods run` list them.
NAMES: Final = ("portscan", "web", "mysql", "ssh")
SERVICES: Final = ("enricher",)
ALL: Final = NAMES + SERVICES


class Started(Protocol):
    """What a started decoy or service hands the runner."""

    addresses: list[str]

    @property
    def counts(self) -> Mapping[str, int]:
        """Counter name -> value since start, for ``honeypods.summary``."""
        ...

    async def stop(self, timeout: float = 3.0) -> None:
        """Stop serving; end what is open within ``timeout`` seconds."""
        ...


class Start(Protocol):
    """A decoy's ``server.start``: listen with these settings and return what is running.

    A ``seeded`` decoy's also takes ``persona_seed``; the others are never passed it.
    """

    async def __call__(
        self, config: Any, *, limits: Limits, host: str, metrics_port: int = 0, **seeded: str
    ) -> Started: ...


@dataclass(frozen=True)
class Decoy:
    """What core knows of one decoy.

    Args:
        name: the decoy's name in events, metrics, settings (``HONEYPODS_<NAME>_*``) and the CLI.
        title: one line for the docs.
        config: the frozen dataclass of its settings; see ``core.settings`` for what it provides.
        events: its event ids and their specs, added to the catalogue.
        rules: the alerts it can raise; their series exist at 0 from start.
        logins: whether it counts login attempts (``honeypods_login_attempts_total``).
        limits: connection limits that differ from ``Limits``' defaults, as the real service has.
        needs: top-level modules its server imports beyond the core (its pip extra).
        proxy_protocol: whether it can sit behind a load balancer sending a PROXY protocol
            header; its ``start`` then takes ``proxy``, a ``ProxyProtocol``.
        seeded: its persona draws per-install choices from HONEYPODS_PERSONA_SEED; its ``start``
            takes ``persona_seed``.
        keeps_state: its ``start`` takes ``state_dir`` (HONEYPODS_STATE_DIR).
        plants: honeytoken place (``core.honeytokens.PLACES``) -> ``describe(seed, config)``,
            what this install calls the place where the decoy plants tokens there; ``config`` is
            the decoy's settings when it runs in this process, None when it runs elsewhere (the
            description then comes from the seed alone). Cheap and pure: the runner calls it for
            every registered decoy at start.
    """

    name: str
    title: str
    config: type
    events: Mapping[str, events.EventSpec]
    rules: tuple[str, ...]
    logins: bool = True
    limits: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    proxy_protocol: bool = False
    seeded: bool = False
    keeps_state: bool = False
    plants: Mapping[str, Callable[[str, Any], str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        events.register(self.name, self.events)

    @property
    def prefix(self) -> str:
        """The prefix of its environment variables."""
        return f"HONEYPODS_{self.name.upper()}_"

    def installed(self) -> bool:
        """Whether this installation carries the libraries its server needs."""
        return all(importlib.util.find_spec(name) is not None for name in self.needs)

    def start(self) -> Start:
        """Its server's ``start``; imports the server and the libraries it needs."""
        module: Any = importlib.import_module(f"honeypods.{self.name}.server")
        return module.start  # type: ignore[no-any-return]


def get(name: str) -> Decoy:
    """The registered decoy or service called ``name``.

    Raises:
        KeyError: nothing has that name.
    """
    if name not in ALL:
        raise KeyError(name)
    decoy: Decoy = importlib.import_module(f"honeypods.{name}").DECOY
    return decoy


def every() -> tuple[Decoy, ...]:
    """All registered decoys, then the services, in ``ALL`` order."""
    return tuple(get(name) for name in ALL)
