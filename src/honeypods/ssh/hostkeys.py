"""The SSH lure's host keys: read from HONEYPODS_SSH_HOST_KEY_DIR, or derived from the install's
seed (HONEYPODS_PERSONA_SEED).

Why derived: a returning client checks the host key it saw before, so keys must not change on a
restart or an upgrade of one install, and must differ between installs. Keys computed from the
seed need no volume and no Secret besides the seed's own; a mounted key still wins.

Rules this module keeps:

1. Each key type has its own label (``ssh.host_key.<type>``), so one key never depends on another.
2. Ed25519: the 32 seed bytes are the private key. ECDSA P-256: the scalar is 40 derived bytes
   reduced into ``[1, n-1]`` (the 64 extra bits make the bias negligible).
3. RSA 3072 as ``ssh-keygen -A`` makes it: e = 65537, two 1536-bit primes with their top two bits
   set (so n has exactly 3072 bits), each the first probable prime at or after a derived odd start
   (sieved by the primes below 2^16, then Miller-Rabin with 5 bases drawn from the seed); a prime p
   with gcd(e, p - 1) > 1 is skipped. Deterministic, and about a second of CPU at start, run
   outside the event loop.
4. With no seed (a caller that passes none) every key is random, as before.
"""

from __future__ import annotations

from math import gcd
from typing import Final

import asyncssh
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from honeypods.core.seed import derive

RSA_E: Final = 65537
_SIEVE_BOUND: Final = 1 << 16


def _odd_primes_below(bound: int) -> tuple[int, ...]:
    sieve = bytearray([1]) * bound
    for n in range(2, int(bound**0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, bound, n)))
    return tuple(n for n in range(3, bound, 2) if sieve[n])


_SMALL_PRIMES: Final = _odd_primes_below(_SIEVE_BOUND)
# Candidates are drawn, not chosen by anyone: FIPS 186-5 (B.3) asks 4 rounds for 1536-bit primes
# at 2^-100; one more.
_MR_ROUNDS: Final = 5
_WINDOW: Final = 4096  # offsets sieved at a time
# Order of the P-256 group (SEC 2, secp256r1 n).
_P256_N: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _probable_prime(n: int, seed: str, label: str) -> bool:
    """Miller-Rabin with bases drawn from the seed, for a candidate that passed the sieve."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    stream = derive(seed, label + ".bases", _MR_ROUNDS * 24)
    for i in range(_MR_ROUNDS):
        a = 2 + int.from_bytes(stream[i * 24 : (i + 1) * 24], "big") % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(seed: str, label: str, bits: int) -> int:
    """The first probable prime at or after a derived odd start, stepping by 2 (rule 3)."""
    start = int.from_bytes(derive(seed, label, bits // 8), "big") | (3 << (bits - 2)) | 1
    # One residue per small prime, then each offset is sieved without big-number arithmetic.
    residues = [(p, start % p) for p in _SMALL_PRIMES]
    for window in range(64):
        base = start + 2 * _WINDOW * window
        composite = bytearray(_WINDOW)
        for p, r in residues:
            # base + 2k = 0 (mod p)  <=>  k = -(base mod p) / 2 (mod p)
            first = (-(r + 2 * _WINDOW * window) * pow(2, -1, p)) % p
            composite[first::p] = b"\1" * len(range(first, _WINDOW, p))
        for k in range(_WINDOW):
            n = base + 2 * k
            if composite[k] or gcd(RSA_E, n - 1) != 1:
                continue
            if _probable_prime(n, seed, f"{label}.{window}.{k}"):
                return n
    raise RuntimeError("no prime found")  # pragma: no cover - density of primes says otherwise


def rsa_key(seed: str, bits: int = 3072) -> rsa.RSAPrivateKey:
    """Rule 3."""
    p = _prime(seed, "ssh.host_key.rsa.p", bits // 2)
    q = _prime(seed, "ssh.host_key.rsa.q", bits // 2)
    if p == q:  # pragma: no cover - two 1536-bit draws do not collide
        raise RuntimeError("equal primes")
    d = pow(RSA_E, -1, (p - 1) * (q - 1) // gcd(p - 1, q - 1))
    public = rsa.RSAPublicNumbers(RSA_E, p * q)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key()


def derived_key(seed: str, alg: str, bits: int) -> asyncssh.SSHKey:
    """The host key of type ``alg`` for the install whose seed is ``seed`` (rules 1 to 3)."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if alg == "ssh-ed25519":
        key = ed25519.Ed25519PrivateKey.from_private_bytes(derive(seed, "ssh.host_key.ed25519"))
    elif alg == "ecdsa-sha2-nistp256":
        scalar = int.from_bytes(derive(seed, "ssh.host_key.ecdsa", 40), "big") % (_P256_N - 1)
        key = ec.derive_private_key(scalar + 1, ec.SECP256R1())
    elif alg == "ssh-rsa":
        key = rsa_key(seed, bits)
    else:
        raise ValueError(f"no derivation for {alg}")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return asyncssh.import_private_key(pem)
