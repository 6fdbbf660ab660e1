"""Private keys and serial numbers derived from the install's seed (HONEYPODS_PERSONA_SEED).

Why derived: a client that comes back checks the key it saw before (an SSH host key, a TLS
certificate, MySQL's RSA key), so an install's keys must not change on a restart or an upgrade,
and must differ between installs. Keys computed from the seed need no volume and no Secret
besides the seed's own.

Rules this module keeps:

1. Every key has its own label, so one key never depends on another and adding a key changes
   none of the others. The bytes come from ``core.seed.derive`` (HMAC-SHA256 of the label).
2. RSA as OpenSSL and ssh-keygen make it: e = 65537, two primes of half the size with their top
   two bits set (so n has exactly the size asked for), each the first probable prime at or after
   a derived odd start (sieved by the primes below 2^16, then Miller-Rabin with 5 bases drawn from
   the seed); a prime p with gcd(e, p - 1) > 1 is skipped. Pure integer arithmetic: about 0.1 s
   of CPU for 2048 bits and a second for 3072.
3. ECDSA P-256: the scalar is 40 derived bytes reduced into ``[1, n-1]`` (the 64 extra bits make
   the bias negligible).
4. A certificate serial is 159 derived bits, as ``x509.random_serial_number`` and ``openssl req
   -x509`` draw theirs (so 20 DER bytes about half the time, fewer otherwise); never zero.
5. cryptography is imported only by the functions that build key objects: the primes are plain
   integers.
"""

from __future__ import annotations

import functools
from math import gcd
from typing import TYPE_CHECKING, Final

from honeypods.core.seed import derive

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

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
    """The first probable prime at or after a derived odd start, stepping by 2 (rule 2)."""
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


@functools.cache
def rsa_primes(seed: str, label: str, bits: int) -> tuple[int, int]:
    """Rule 2: the primes (p, q) of the RSA key ``label``; labels ``<label>.p`` and ``.q``.

    Kept once found, so that a decoy can find them at start, off the event loop, and build the
    key when a client first needs it."""
    p = _prime(seed, f"{label}.p", bits // 2)
    q = _prime(seed, f"{label}.q", bits // 2)
    if p == q:  # pragma: no cover - two draws of half the key size do not collide
        raise RuntimeError("equal primes")
    return p, q


def rsa_key(seed: str, label: str, bits: int) -> rsa.RSAPrivateKey:
    """Rule 2, as a cryptography key."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    p, q = rsa_primes(seed, label, bits)
    d = pow(RSA_E, -1, (p - 1) * (q - 1) // gcd(p - 1, q - 1))
    public = rsa.RSAPublicNumbers(RSA_E, p * q)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key()


def p256_key(seed: str, label: str) -> ec.EllipticCurvePrivateKey:
    """Rule 3."""
    from cryptography.hazmat.primitives.asymmetric import ec

    scalar = int.from_bytes(derive(seed, label, 40), "big") % (_P256_N - 1)
    return ec.derive_private_key(scalar + 1, ec.SECP256R1())


def serial(seed: str, label: str) -> int:
    """Rule 4."""
    return (int.from_bytes(derive(seed, label, 20), "big") >> 1) or 1
