"""The SSH lure's host keys: read from HONEYPODS_SSH_HOST_KEY_DIR, or derived from the install's
seed (HONEYPODS_PERSONA_SEED).

Why derived: a returning client checks the host key it saw before, so keys must not change on a
restart or an upgrade of one install, and must differ between installs. Keys computed from the
seed need no volume and no Secret besides the seed's own; a mounted key still wins.

Rules this module keeps:

1. Each key type has its own label (``ssh.host_key.<type>``), so one key never depends on another;
   the keys themselves are ``core.derivedkeys``'.
2. Ed25519: the 32 seed bytes are the private key. ECDSA P-256 and RSA 3072 as
   ``core.derivedkeys`` makes them (RSA as ``ssh-keygen -A`` does: about a second of CPU at start,
   run outside the event loop).
3. With no seed (a caller that passes none) every key is random, as before.
"""

from __future__ import annotations

import asyncssh
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from honeypods.core import derivedkeys
from honeypods.core.seed import derive


def derived_key(seed: str, alg: str, bits: int) -> asyncssh.SSHKey:
    """The host key of type ``alg`` for the install whose seed is ``seed`` (rules 1 and 2)."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if alg == "ssh-ed25519":
        key = ed25519.Ed25519PrivateKey.from_private_bytes(derive(seed, "ssh.host_key.ed25519"))
    elif alg == "ecdsa-sha2-nistp256":
        key = derivedkeys.p256_key(seed, "ssh.host_key.ecdsa")
    elif alg == "ssh-rsa":
        key = derivedkeys.rsa_key(seed, "ssh.host_key.rsa", bits)
    else:
        raise ValueError(f"no derivation for {alg}")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return asyncssh.import_private_key(pem)
