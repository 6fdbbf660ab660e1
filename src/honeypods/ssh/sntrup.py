"""Streamlined NTRU Prime sntrup761, the encapsulating side only: what an SSH server does in
``sntrup761x25519-sha512@openssh.com``. Sans-IO, pure Python.

Why it is here: OpenSSH 8.5 and later offer this key exchange, from 9.0 first, and a modern client
picks it whenever the server offers it. The SSH library does it only with liboqs, which neither
Debian 12 nor PyPI (as a wheel that needs no build) provides; without it a persona of those builds
cannot finish a key exchange with the clients that matter. A server never makes an sntrup761 key
pair nor decapsulates: it encapsulates a fresh secret to the client's public key. That is one
polynomial product and a few hashes, small enough to write from the specification ("NTRU Prime:
round 3", 2020, the parameter set and encodings OpenSSH ships).

Rules this module keeps:

1. Parameters ``p = 761``, ``q = 4591``, ``w = 286``; ring ``Z[x]/(x^p - x - 1)``; Rq elements
   are kept centred in ``[-(q-1)/2, (q-1)/2]``.
2. Encodings are the specification's mixed-radix ``Encode``/``Decode``: a public key is 1158
   bytes, a ciphertext 1007 bytes of rounded polynomial plus a 32-byte confirmation.
3. ``Hash_prefix(b, x)`` is the first 32 bytes of SHA-512 over the byte ``b`` and ``x``.
4. Every public key of the right length decodes (as in OpenSSH); a wrong length is a
   ``ValueError``, the one exception this module raises, which the library turns into a
   protocol error.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Final

P: Final = 761
Q: Final = 4591
W: Final = 286
Q12: Final = (Q - 1) // 2
ROUNDED_M: Final = (Q + 2) // 3  # values of a rounded coefficient, (c + Q12) / 3

PUBLIC_KEY_BYTES: Final = 1158
CIPHERTEXT_BYTES: Final = 1039  # 1007 rounded + 32 confirm
SECRET_BYTES: Final = 32
SMALL_BYTES: Final = (P + 3) // 4

# Coefficient slot width for the Kronecker product: each slot sums at most W terms below 2^13.
_SLOT: Final = 24
_SLOT_BYTES: Final = _SLOT // 8


def encode(values: Sequence[int], moduli: Sequence[int]) -> bytes:
    """The specification's ``Encode``: ``values[i]`` in ``range(moduli[i])``, moduli below 2^14."""
    out = bytearray()
    r, m = list(values), list(moduli)
    while len(m) > 1:
        r2, m2 = [], []
        for i in range(0, len(m) - 1, 2):
            x, y = r[i] + r[i + 1] * m[i], m[i] * m[i + 1]
            while y >= 16384:
                out.append(x & 0xFF)
                x >>= 8
                y = (y + 255) >> 8
            r2.append(x)
            m2.append(y)
        if len(m) % 2:
            r2.append(r[-1])
            m2.append(m[-1])
        r, m = r2, m2
    x, y = r[0], m[0]
    while y > 1:
        out.append(x & 0xFF)
        x >>= 8
        y = (y + 255) >> 8
    return bytes(out)


def decode(data: bytes, moduli: Sequence[int]) -> list[int]:
    """The specification's ``Decode``: the inverse of ``encode``; every value reduced into range.

    Raises:
        ValueError: ``data`` is shorter than the moduli need.
    """
    levels: list[tuple[list[int], list[int], list[int]]] = []
    pos, m = 0, list(moduli)
    # Down: the bytes each pair contributes at each level, read in encode's order.
    while len(m) > 1:
        bottom_r, bottom_t, m2 = [], [], []
        for i in range(0, len(m) - 1, 2):
            y = m[i] * m[i + 1]
            if y > 256 * 16383:
                bottom_t.append(65536)
                bottom_r.append(_byte(data, pos) | _byte(data, pos + 1) << 8)
                pos += 2
                m2.append((((y + 255) >> 8) + 255) >> 8)
            elif y >= 16384:
                bottom_t.append(256)
                bottom_r.append(_byte(data, pos))
                pos += 1
                m2.append((y + 255) >> 8)
            else:
                bottom_t.append(1)
                bottom_r.append(0)
                m2.append(y)
        if len(m) % 2:
            m2.append(m[-1])
        levels.append((m, bottom_r, bottom_t))
        m = m2
    top = m[0]
    if top == 1:
        r = [0]
    elif top <= 256:
        r = [_byte(data, pos) % top]
    else:
        r = [(_byte(data, pos) | _byte(data, pos + 1) << 8) % top]
    # Up: split each value back into its pair.
    for m, bottom_r, bottom_t in reversed(levels):
        out: list[int] = []
        for k in range(len(m) // 2):
            x = bottom_r[k] + bottom_t[k] * r[k]
            mi = m[2 * k]
            out.append(x % mi)
            out.append((x // mi) % m[2 * k + 1])
        if len(m) % 2:
            out.append(r[-1])
        r = out
    return r


def _byte(data: bytes, pos: int) -> int:
    if pos >= len(data):
        raise ValueError("sntrup761: encoding too short")
    return data[pos]


def hash_prefix(b: int, data: bytes) -> bytes:
    """Rule 3."""
    return hashlib.sha512(bytes((b,)) + data).digest()[:32]


def small_encode(r: Sequence[int]) -> bytes:
    """Four coefficients in {-1, 0, 1} to a byte, the last alone."""
    out = bytearray()
    for i in range(0, P - 1, 4):
        out.append((r[i] + 1) | (r[i + 1] + 1) << 2 | (r[i + 2] + 1) << 4 | (r[i + 3] + 1) << 6)
    out.append(r[P - 1] + 1)
    return bytes(out)


def short_random() -> list[int]:
    """A polynomial with exactly W coefficients in {-1, 1} and the rest 0."""
    r = [0] * P
    positions = list(range(P))
    for i in range(W):
        j = i + secrets.randbelow(P - i)
        positions[i], positions[j] = positions[j], positions[i]
        r[positions[i]] = 1 if secrets.randbits(1) else -1
    return r


def _pack(coeffs: Sequence[int]) -> int:
    return int.from_bytes(b"".join(c.to_bytes(_SLOT_BYTES, "little") for c in coeffs), "little")


def multiply(h: Sequence[int], r: Sequence[int]) -> list[int]:
    """``h * r`` in Rq, ``h`` centred mod q and ``r`` small: one big-integer product per sign."""
    # Kronecker substitution needs non-negative slots: h + Q12 >= 0, and the offset is taken
    # back with the same product of the all-Q12 polynomial.
    shifted = _pack([c + Q12 for c in h])
    offset = _pack([Q12] * P)
    plus = _pack([1 if c == 1 else 0 for c in r])
    minus = _pack([1 if c == -1 else 0 for c in r])
    a = shifted * plus + offset * minus
    b = shifted * minus + offset * plus
    size = (2 * P - 1) * _SLOT_BYTES
    abytes, bbytes = a.to_bytes(size + 8, "little"), b.to_bytes(size + 8, "little")
    full = [
        int.from_bytes(abytes[k : k + _SLOT_BYTES], "little")
        - int.from_bytes(bbytes[k : k + _SLOT_BYTES], "little")
        for k in range(0, size, _SLOT_BYTES)
    ]
    # x^p = x + 1: fold the top down, highest first.
    for k in range(2 * P - 2, P - 1, -1):
        c = full[k]
        full[k - P] += c
        full[k - P + 1] += c
    return [(c + Q12) % Q - Q12 for c in full[:P]]


def encapsulate(public_key: bytes) -> tuple[bytes, bytes]:
    """A fresh shared secret and its ciphertext for ``public_key``.

    Returns:
        (secret, ciphertext): 32 and 1039 bytes.

    Raises:
        ValueError: the public key is not 1158 bytes.
    """
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise ValueError("sntrup761: bad public key length")
    h = [c - Q12 for c in decode(public_key, [Q] * P)]
    r = short_random()
    r_enc = small_encode(r)
    product = multiply(h, r)
    # Round to the nearest multiple of 3, then encode the thirds.
    rounded = [c - ((c + 1) % 3 - 1) for c in product]
    c = encode([(x + Q12) // 3 for x in rounded], [ROUNDED_M] * P)
    cache = hash_prefix(4, public_key)
    confirm = hash_prefix(2, hash_prefix(3, r_enc) + cache)
    ciphertext = c + confirm
    secret = hash_prefix(1, hash_prefix(3, r_enc) + ciphertext)
    return secret, ciphertext
