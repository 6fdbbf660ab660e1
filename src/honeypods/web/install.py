"""What one install of the web decoy is: its nginx persona, site name, release and host name.

Rules this module keeps:

* Every choice a setting leaves empty is drawn from the install's seed (HONEYPODS_PERSONA_SEED)
  with its own label (``core.seed``), so two installs differ and one install stays the same
  across restarts, replicas and upgrades; a setting given explicitly always wins.
* Without a seed (a decoy built directly, as tests do) nothing is drawn: the persona is
  ``persona.DEFAULT`` and the site keeps the first entries of the tables, the names this decoy
  always had.
* The result is a ``WebConfig`` with no empty identity field left, so the rest of the decoy
  reads ``config.product`` or ``config.server_version`` and never needs to know about seeds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from honeypods.core import seed as seeds
from honeypods.web.config import WebConfig
from honeypods.web.persona import DEFAULT, HOST_PREFIXES, HOST_ZONES, PERSONAS, SITES, NginxPersona
from honeypods.web.site import Build


@dataclass(frozen=True)
class Install:
    """The decoy's settings with every identity filled in, and what goes with them."""

    config: WebConfig
    persona: NginxPersona
    build: Build


def resolve(config: WebConfig, seed: str) -> Install:
    """The install ``seed`` gives for ``config``; fields set in ``config`` are kept as they are.

    Args:
        config: the decoy's settings, empty identity fields meaning "drawn".
        seed: the install's seed; empty means the built-in defaults.
    """
    if config.persona:
        persona = PERSONAS[config.persona]
    elif seed:
        persona = seeds.choose(seed, "web.persona", list(PERSONAS.values()))
    else:
        persona = PERSONAS[DEFAULT]
    product, title = seeds.choose(seed, "web.site", SITES) if seed else SITES[0]
    host = config.tls_common_name or _host(seed)
    build = _build(seed) if seed else Build()
    filled = dataclasses.replace(
        config,
        persona=persona.name,
        server_version=config.server_version or persona.server,
        product=config.product or product,
        title=config.title or title,
        tls_common_name=host,
        tls_sans=config.tls_sans or (host, "localhost"),
    )
    return Install(filled, persona, build)


def _host(seed: str) -> str:
    if not seed:
        return "dashboard.internal"
    prefix = seeds.choose(seed, "web.host.prefix", HOST_PREFIXES)
    zone = seeds.choose(seed, "web.host.zone", HOST_ZONES)
    return f"{prefix}.{zone}"


def _build(seed: str) -> Build:
    # A release people would ship: 2.x to 6.x, and the short commit hash a CI pipeline bakes in.
    raw = seeds.derive(seed, "web.build", 8)
    version = f"{2 + raw[0] % 5}.{raw[1] % 24}.{raw[2] % 10}"
    return Build(version=version, commit=raw[3:7].hex()[:7])
