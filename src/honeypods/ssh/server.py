"""SSH lure: asyncssh speaks SSH; the policy decides what the persona's sshd would answer.

This module wires the parts to core's guard and events:

* ``policy`` decides and records (``Policy`` for the decoy, ``Lure`` per connection);
* ``gate.Gate`` answers the identification exchange; ``asyncssh_shim.LureConnection`` takes over;
* ``session`` answers an accepted login's channels; ``wire`` reads client bytes; ``persona`` holds
  the OpenSSH builds, one of which is impersonated (``sshd.choose_persona``); ``hostkeys`` reads
  or derives the host keys.

Rules this module keeps:

1. Every TCP connection goes through the guard; its inner protocol is a ``Gate`` holding the
   connection's ``Lure``. The guard alone closes writers and emits lifecycle events.
2. Nothing the client receives names the library (the shim's docstring says how), and nothing of
   the policy depends on asyncssh's private names.
3. Start-up says, as ``honeypods.warning``, what makes this lure tell-tale: host keys random
   (no seed), persona algorithms this installation cannot offer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Final

import asyncssh

from honeypods.core import events
from honeypods.core.guard import Guard, Limits, ProxyProtocol, Running, Session
from honeypods.ssh import asyncssh_shim, hostkeys, options, persona
from honeypods.ssh.config import SshConfig
from honeypods.ssh.gate import Gate
from honeypods.ssh.policy import Lure, Policy
from honeypods.ssh.sshd import choose_persona

DECOY: Final = "ssh"
RULE: Final = "honeypod.network.ssh"


def load_host_keys(directory: str, seed: str = "") -> tuple[list[asyncssh.SSHKey], list[str]]:
    """Host keys in sshd's order, read from ``directory``, else derived from ``seed``
    (``hostkeys``), else random.

    Returns:
        The keys, and the names of those not read from ``directory``.
    """
    keys: list[asyncssh.SSHKey] = []
    generated: list[str] = []
    for name, alg, bits in persona.HOST_KEYS:
        path = Path(directory, name) if directory else None
        if path is not None and path.is_file():
            keys.append(asyncssh.read_private_key(str(path)))
            continue
        generated.append(name)
        if seed:
            keys.append(hostkeys.derived_key(seed, alg, bits))
        elif alg == "ssh-rsa":
            keys.append(asyncssh.generate_private_key(alg, key_size=bits))
        else:
            keys.append(asyncssh.generate_private_key(alg))
    return keys, generated


def _warn(message: str) -> None:
    events.emit("honeypods.warning", DECOY, {"error.message": message}, level="warning")


async def start(
    config: SshConfig,
    *,
    limits: Limits,
    host: str,
    metrics_port: int = 0,
    policy: Policy | None = None,
    proxy: ProxyProtocol | None = None,
    persona_seed: str = "",
) -> Running:
    """Start the SSH lure.

    Args:
        config: the decoy's settings.
        limits: connection limits for its guard.
        proxy: PROXY protocol from load balancers in front of it; off when None.
        host: address to bind.
        metrics_port: unused; part of every decoy's signature.
        policy: the policy, when a caller brings its own clocks and sleep (tests); its persona
            is the one served.
        persona_seed: the install's seed (HONEYPODS_PERSONA_SEED, or the runner's draw): it picks
            the persona unless HONEYPODS_SSH_PERSONA does, and the host keys not in
            HONEYPODS_SSH_HOST_KEY_DIR.
    """
    del metrics_port
    loop = asyncio.get_running_loop()
    build = policy.persona if policy else choose_persona(config, persona_seed)
    keys, generated = await loop.run_in_executor(
        None, load_host_keys, config.host_key_dir, persona_seed
    )
    if generated and not persona_seed:
        _warn(
            "generated SSH host keys "
            + ", ".join(generated)
            + ": they change on every restart, which a returning client notices; set "
            "HONEYPODS_PERSONA_SEED or mount them through HONEYPODS_SSH_HOST_KEY_DIR"
        )
    missing = options.missing_algorithms(build)
    if missing:
        _warn(
            "the SSH persona cannot offer "
            + ", ".join(missing)
            + ": its algorithm lists differ from the real build's (umac needs libnettle)"
        )
    policy = policy or Policy(config, persona=build)
    lure_options = await options.build_options(config, keys, build)
    template = asyncssh_shim.Template(lure_options, build)

    def gate(session: Session) -> Gate:
        return Gate(Lure(session, policy), template)

    guard = Guard(DECOY, limits, RULE, proxy=proxy)
    factory: Callable[[], asyncio.Protocol] = guard.protocol_factory(gate)
    return await guard.start(host, [(factory, config.port)])
