"""The SSH lure's decoy-wide policy: the sshd all connections talk to, its settings turned into
the answers ``policy.Lure`` gives, and the state sshd keeps across connections (the MaxStartups
count, the timing secret, the moduli file)."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from honeypods.core import honeytokens
from honeypods.core.seed import choose
from honeypods.ssh import moduli, timing
from honeypods.ssh.config import SshConfig, parse_max_startups
from honeypods.ssh.persona import (
    AUTH_METHODS,
    AUTH_METHODS_KBDINT,
    DEFAULT,
    PERSONAS,
    Persona,
)


def choose_persona(config: SshConfig, seed: str) -> Persona:
    """The persona HONEYPODS_SSH_PERSONA pins, or the one the install's seed draws."""
    if config.persona:
        return PERSONAS[config.persona]
    if not seed:
        return DEFAULT
    return PERSONAS[choose(seed, "ssh.persona", sorted(PERSONAS))]


class Policy:
    """What the decoy answers, shared by all its connections.

    Args:
        config: the decoy's settings.
        persona: the OpenSSH build answered as (``choose_persona``); without one, the one
            ``config.persona`` names, or ``persona.DEFAULT``.
        clock: monotonic seconds, for how long a request has taken.
        wall: Unix time, which seeds PAM's fail delay (``timing.pam_delay``).
        sleep: how the lure waits.
    """

    def __init__(
        self,
        config: SshConfig,
        *,
        persona: Persona | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.persona = persona or PERSONAS.get(config.persona, DEFAULT)
        self.accept = frozenset(tuple(c.split(":", 1)) for c in config.accept)
        methods = AUTH_METHODS_KBDINT if config.keyboard_interactive else AUTH_METHODS
        self.methods = tuple(m.encode("ascii") for m in methods)
        self.start, self.rate, self.full = parse_max_startups(config.max_startups)
        self.startups = 0
        version = config.server_version or self.persona.server_version
        self.banner = version.encode("ascii") + b"\r\n"
        # sshd draws its timing secret once at start: a user's minimum holds until a restart.
        self.timing_secret = secrets.token_bytes(16)
        self.clock, self.wall, self.sleep = clock, wall, sleep
        path = config.moduli_file
        text = (
            Path(path).read_text("ascii", "replace")
            if path
            else resources.files("honeypods.ssh").joinpath("moduli").read_text("ascii")
        )
        self.groups = moduli.parse(text)
        self.tokens = honeytokens.current()

    def planted(self, user: str, password: str) -> bool:
        """Whether this is the honeytoken login, planted where this install put it."""
        return self.tokens.live("bastion-login") and self.tokens.ssh_login(user, password)

    def drop_startup(self) -> bool:
        """sshd's ``drop_connection``: random early drop between start and full."""
        n = self.startups
        if n < self.start:
            return False
        if n >= self.full or self.rate == 100:
            return True
        p = self.rate + (100 - self.rate) * (n - self.start) // (self.full - self.start)
        return random.randrange(100) < p  # noqa: S311 - load shedding, not cryptography

    def user_delay(self, user: str) -> float:
        """auth2.c ``user_specific_delay``: a stable per-user minimum time for a failure."""
        return timing.user_delay(self.timing_secret, user)

    def dh_group(self, minimum: int, wanted: int, maximum: int) -> moduli.Group | int | None:
        """sshd's answer to a DH group exchange request (``moduli``).

        Returns:
            The group offered; the size of the RFC 3526 group sshd falls back to when its moduli
            have none in range; or None when sshd refuses the request and closes.
        """
        return moduli.answer(self.groups, minimum, wanted, maximum, secrets.randbelow)
