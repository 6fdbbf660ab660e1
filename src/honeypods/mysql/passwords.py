"""The persona's accounts and MySQL's password arithmetic: salts, scrambles, the RSA key pair.

Rules this module keeps:

* A scramble is checked the way the server checks it, against each accepted password of that
  user, with a constant-time comparison; the two salt-independent hashes of each password are
  worked out once per process, so one check costs one hash.
* One RSA key pair serves the whole process, as MySQL 8.0's auto-generated one does. It is made
  on first use (a fraction of a second, once), so scanners that never ask for it never pay for
  ``cryptography``; without ``cryptography`` there is no key, as on a server without one.
* An account has one password, as a real one has (two with RETAIN CURRENT PASSWORD), so a
  brute-forcer that goes on after its first hit still finds one. An account listed without a
  password gets the one the caller's ``weak`` gives it: the install's draw from
  ``personas.WEAK_PASSWORDS`` (``install.weak_password``), so every replica and restart of one
  install agrees.
* Pure functions and objects: no asyncio, nothing of ``honeypods.core``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from typing import Any, Final

from honeypods.mysql.codec.constants import CACHING_SHA2, NATIVE

# Byte b -> b & 0x7F, with NUL and '$' moved up by one: one C call per salt on the accept path.
_SALT_TABLE: Final = bytes((b & 0x7F) + ((b & 0x7F) in (0, 0x24)) for b in range(256))
# What a client sends for an empty password: nothing, or a lone NUL.
EMPTY_RESPONSES: Final = (b"", b"\0")


def make_salt() -> bytes:
    """20 bytes as MySQL's generate_user_salt makes them: 7-bit, never NUL or '$'."""
    return os.urandom(20).translate(_SALT_TABLE)


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _stages(plugin: str, password: bytes) -> tuple[bytes, bytes]:
    """The two salt-independent hashes of a password: H(password) and H(H(password))."""
    digest = hashlib.sha1 if plugin == NATIVE else hashlib.sha256
    stage1 = digest(password).digest()
    return stage1, digest(stage1).digest()


def _mix(plugin: str, stage2: bytes, salt: bytes) -> bytes:
    if plugin == NATIVE:
        return hashlib.sha1(salt + stage2).digest()  # noqa: S324 - the protocol's hash
    return hashlib.sha256(stage2 + salt).digest()


def scramble_native(password: bytes, salt: bytes) -> bytes:
    """SHA1(password) XOR SHA1(salt + SHA1(SHA1(password)))."""
    stage1, stage2 = _stages(NATIVE, password)
    return _xor(stage1, _mix(NATIVE, stage2, salt))


def scramble_caching_sha2(password: bytes, salt: bytes) -> bytes:
    """SHA256(password) XOR SHA256(SHA256(SHA256(password)) + salt)."""
    stage1, stage2 = _stages(CACHING_SHA2, password)
    return _xor(stage1, _mix(CACHING_SHA2, stage2, salt))


class Accounts:
    """The logins the persona lets in, and the plugin its accounts use.

    Args:
        accept: ``user:password`` strings (an empty password is ``user:``), or a bare ``user``,
            whose password is ``weak(user)``.
        plugin: ``caching_sha2_password`` or ``mysql_native_password``.
        weak: the password of an account listed bare; without it a bare user is refused.

    Raises:
        ValueError: a bare user and no ``weak``.
    """

    def __init__(
        self, accept: Iterable[str], plugin: str, weak: Callable[[str], str] | None = None
    ) -> None:
        self.plugin = plugin
        self.passwords: dict[bytes, list[bytes]] = {}
        for cred in accept:
            user, pinned, password = cred.partition(":")
            if not pinned:
                if weak is None:
                    raise ValueError(f"{user}: an account without a password and no weak one")
                password = weak(user)
            self.passwords.setdefault(user.encode(), []).append(password.encode())
        # (plugin, password) -> its two salt-independent hashes.
        self._stages: dict[tuple[str, bytes], tuple[bytes, bytes]] = {}

    def knows(self, user: bytes, password: bytes) -> bool:
        """Whether this plaintext password is accepted for the user."""
        return password in self.passwords.get(user, ())

    def check(self, user: bytes, plugin: str, response: bytes, salt: bytes) -> bytes | None:
        """The accepted password the scramble proves, or None."""
        candidates = self.passwords.get(user, ())
        if response in EMPTY_RESPONSES:
            return b"" if b"" in candidates else None
        if plugin not in (NATIVE, CACHING_SHA2):
            return None
        for password in candidates:
            if not password:
                continue
            stages = self._stages.get((plugin, password))
            if stages is None:
                stages = self._stages[plugin, password] = _stages(plugin, password)
            stage1, stage2 = stages
            if hmac.compare_digest(_xor(stage1, _mix(plugin, stage2, salt)), response):
                return password
        return None


class RsaKeys:
    """caching_sha2_password's key pair: the PEM public key, and decryption of full-auth data.

    MySQL makes the pair (RSA 2048) when its data directory is initialised and keeps it; a
    seeded install passes ``derive``, which makes the private key from the seed, so a client that
    pinned the public key (``--server-public-key-path``) finds it again after a restart. Without
    it the pair is fresh per process.
    """

    def __init__(self, derive: Callable[[], Any] | None = None) -> None:
        self._derive = derive
        # The RSA private key and its OAEP padding, and the public key in PEM; made on first use.
        self._rsa: tuple[Any, Any] | None = None
        self._pem = b""
        self._tried = False

    def public_key(self) -> bytes:
        """The PEM public key, or b"" when this process cannot do RSA."""
        if not self._tried:
            self._tried = True
            self._rsa, self._pem = _rsa_keys(self._derive)
        return self._pem

    def decrypt(self, data: bytes, salt: bytes) -> bytes | None:
        """The password in a full-authentication packet (RSA-OAEP of password+NUL XOR salt)."""
        if not self.public_key() or self._rsa is None:
            return None
        key, oaep = self._rsa
        try:
            plain = key.decrypt(data, oaep)
        except ValueError:
            return None
        password = bytes(b ^ salt[i % len(salt)] for i, b in enumerate(plain))
        return password[:-1] if password.endswith(b"\0") else password


def _rsa_keys(derive: Callable[[], Any] | None) -> tuple[tuple[Any, Any] | None, bytes]:
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:
        return None, b""
    if derive is not None:
        key = derive()
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # MySQL 8.0 pads with RSA_PKCS1_OAEP_PADDING: OAEP with SHA-1 and MGF1-SHA-1.
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303 - the protocol's choice
    return (key, oaep), pem
