"""asyncssh's server options for a persona: its lists, cut to what this installation supports,
and sshd's host key order. Public asyncssh names only; the private ones are ``asyncssh_shim``'s."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import asyncssh
from asyncssh.compression import get_compression_algs
from asyncssh.encryption import get_encryption_algs
from asyncssh.kex import get_kex_algs
from asyncssh.mac import get_mac_algs
from asyncssh.public_key import get_public_key_algs

from honeypods.ssh import asyncssh_shim  # noqa: F401 - registers sntrup761 before get_kex_algs
from honeypods.ssh.config import SshConfig
from honeypods.ssh.persona import Persona


def _supported(
    p: Persona,
) -> tuple[tuple[Sequence[str], Callable[[], Sequence[bytes]], str], ...]:
    """Each persona list, what asyncssh can do of it, and the option it goes into."""
    return (
        (p.kex_algs, get_kex_algs, "kex_algs"),
        (p.ciphers, get_encryption_algs, "encryption_algs"),
        (p.macs, get_mac_algs, "mac_algs"),
        (p.compression, get_compression_algs, "compression_algs"),
        (p.server_sig_algs, get_public_key_algs, "signature_algs"),
    )


def available(wanted: Sequence[str], supported: Sequence[bytes]) -> list[str]:
    """The persona's algorithms this installation can do, in the persona's order."""
    have = set(supported)
    return [alg for alg in wanted if alg.encode() in have]


def missing_algorithms(p: Persona) -> list[str]:
    """Persona algorithms the SSH library cannot do here (umac needs libnettle, for one)."""
    out: list[str] = []
    for wanted, supported, _option in _supported(p):
        have = set(supported())
        out += [alg for alg in wanted if alg.encode() not in have]
    return out


async def build_options(
    config: SshConfig, keys: list[asyncssh.SSHKey], p: Persona
) -> asyncssh.SSHServerConnectionOptions:
    """asyncssh server options with every list set to the persona's."""
    lists = {option: available(wanted, supported()) for wanted, supported, option in _supported(p)}
    version = config.server_version or p.server_version
    options: asyncssh.SSHServerConnectionOptions = (
        await asyncssh.SSHServerConnectionOptions.construct(
            server_version=version.removeprefix("SSH-2.0-"),
            server_host_keys=keys,
            send_server_host_keys=True,
            **lists,
            # LoginGraceTime is the policy's, so that its close carries a reason.
            login_timeout=None,
            keepalive_interval=0,
            gss_host=None,
            allow_scp=False,
            x11_forwarding=False,
            agent_forwarding=False,
            encoding=None,
            line_editor=False,
        )
    )
    # asyncssh orders host key algorithms its own way; sshd's order is the persona's.
    by_alg, order = options.server_host_keys, [alg.encode() for alg in p.host_key_algs]
    options.server_host_keys = OrderedDict((alg, by_alg[alg]) for alg in order if alg in by_alg)
    return options
