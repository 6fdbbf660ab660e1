"""Keys, serials and dates derived from the install's seed: well formed, and the same forever.

The pinned values below are what an install with that seed serves today. A change to a label or
to the derivation changes every install's host keys, certificates and weak passwords at its next
upgrade, which a returning client notices: such a change must be deliberate, and shows up here.
"""

from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization

from honeypods.core import derivedkeys, tls
from honeypods.core.seed import moment
from honeypods.mysql import install as mysql_install
from honeypods.mysql import personas as mysql_personas
from honeypods.mysql import tls as mysql_tls
from honeypods.ssh import hostkeys
from honeypods.web import https
from honeypods.web import persona as web_persona

SEED = "pinned-seed-0000000001"
# The day this derivation was written: every persona's derived dates must be past by then.
WRITTEN = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)


def _fermat(n: int) -> bool:
    # An independent check of the Miller-Rabin result (bases unrelated to the seed's).
    return all(pow(a, n - 1, n) == 1 for a in (2, 3, 5, 7, 11, 13))


@pytest.mark.parametrize("bits", [2048, 3072])
def test_rsa_primes_are_prime_of_half_the_size_and_make_a_valid_key(bits: int) -> None:
    p, q = derivedkeys.rsa_primes(SEED, f"test.rsa.{bits}", bits)
    assert p != q
    for prime in (p, q):
        assert prime.bit_length() == bits // 2
        assert prime >> (bits // 2 - 2) == 0b11  # top two bits set: n has exactly `bits`
        assert _fermat(prime)
        assert (prime - 1) % derivedkeys.RSA_E != 0
    key = derivedkeys.rsa_key(SEED, f"test.rsa.{bits}", bits)  # cryptography checks the numbers
    assert key.key_size == bits
    assert key.public_key().public_numbers().e == 65537


def test_p256_scalar_in_range_and_labels_independent() -> None:
    a = derivedkeys.p256_key(SEED, "test.ec.a").private_numbers().private_value
    b = derivedkeys.p256_key(SEED, "test.ec.b").private_numbers().private_value
    assert a != b
    assert 1 <= a < derivedkeys._P256_N
    assert derivedkeys.p256_key(SEED, "test.ec.a").private_numbers().private_value == a


def test_serials_are_159_bits_drawn_as_openssl_draws_them() -> None:
    serials = [derivedkeys.serial(SEED, f"test.serial.{i}") for i in range(64)]
    assert all(0 < s < 1 << 159 for s in serials)
    # Not forced to a fixed length: about half have their top bit clear, as random ones do.
    short = sum(s < 1 << 158 for s in serials)
    assert 16 <= short <= 48
    assert derivedkeys.serial(SEED, "test.serial.0") == serials[0]


def test_moment_is_within_its_span_and_stable() -> None:
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    span = datetime.timedelta(days=10)
    times = {moment(f"seed-{i}", "test.moment", start, span) for i in range(50)}
    assert all(start <= t < start + span for t in times)
    assert len(times) == 50
    assert moment("seed-1", "test.moment", start, span) in times


def test_no_persona_dates_a_certificate_after_this_code_was_written() -> None:
    # A derived date past "now" would be clamped to a date that moves with each start, and the
    # certificate would change on every restart. A persona released too recently for its span
    # must wait, or get a shorter span.
    for web in web_persona.PERSONAS.values():
        assert web.released + https.SNAKEOIL_SPAN + datetime.timedelta(days=3) < WRITTEN, web.name
    for mysql in mysql_personas.PERSONAS.values():
        margin = datetime.timedelta(days=30)
        assert mysql.released + mysql_tls.DATADIR_SPAN + margin < WRITTEN, mysql.name


def test_pinned_values_of_one_seed() -> None:
    fingerprints = {
        alg: hostkeys.derived_key("test-seed-0123456789", alg, bits).get_fingerprint()
        for alg, bits in (("ssh-ed25519", 0), ("ecdsa-sha2-nistp256", 0), ("ssh-rsa", 3072))
    }
    assert fingerprints == {
        "ssh-ed25519": "SHA256:6YX+0SkrA+Gt5VpmFNLguismwkexpEVJLB/Tj0qBAjM",
        "ecdsa-sha2-nistp256": "SHA256:foTpYlauQ5T+35kXhrRah4W5tFEPfDeNjzaKi61X7Ow",
        "ssh-rsa": "SHA256:xOtxa3dYS4VPCgQwMp+wcpNw8AUDVOx7wQQvZWgy+cM",
    }
    rsa = derivedkeys.rsa_key(SEED, "mysql.rsa_key", 2048).public_key()
    der = rsa.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert hashlib.sha256(der).hexdigest() == (
        "f3e005f03e7658dd0f5b0ee4954ef1bdee23b13405d7a2d5f83f6d36c2aac71a"
    )
    debian = web_persona.PERSONAS["nginx-1.22.1-debian12"]
    spec = https._certificate("web01.corp.internal", ("web01.corp.internal",), debian, SEED)
    assert spec.not_before.isoformat() == "2024-05-23T15:16:53+00:00"
    pem = tls.make_pem(spec)
    assert tls.make_pem(spec) == pem  # RSA signatures are deterministic: the same bytes
    assert hashlib.sha256(pem).hexdigest() == (
        "89865d38451e9849c6e20a181c9abb079efaf211324da507c0d31f928b8e9779"
    )
    weak = [mysql_install.weak_password(SEED, u) for u in ("root", "admin")]
    assert weak == ["123456", "qwerty"]
