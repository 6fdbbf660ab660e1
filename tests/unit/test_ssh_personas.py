"""The SSH personas, the seed's choices (persona, host keys) and the sntrup761 encapsulation."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from honeypods.core.settings import ConfigError, load
from honeypods.ssh import hostkeys, sntrup
from honeypods.ssh import persona as ssh_persona
from honeypods.ssh.config import SshConfig
from honeypods.ssh.sshd import Policy, choose_persona


def test_at_least_three_personas_of_distinct_builds() -> None:
    personas = ssh_persona.PERSONAS
    assert len(personas) >= 3
    assert len({p.server_version for p in personas.values()}) == len(personas)
    for name, p in personas.items():
        assert p.name == name
        version = p.server_version.removeprefix("SSH-2.0-OpenSSH_").split(" ")[0]
        assert name.startswith(f"openssh-{version}-"), name
        assert len(set(p.kex_algs)) == len(p.kex_algs)


def test_the_seed_picks_a_persona_and_the_setting_pins_it() -> None:
    names = {choose_persona(SshConfig(), f"seed-{i}").name for i in range(64)}
    assert names == set(ssh_persona.PERSONAS)
    assert choose_persona(SshConfig(), "install-a") == choose_persona(SshConfig(), "install-a")
    for name in ssh_persona.PERSONAS:
        assert choose_persona(SshConfig(persona=name), "install-a").name == name


def test_banner_is_the_personas_unless_server_version_is_set() -> None:
    p = ssh_persona.PERSONAS["openssh-9.2p1-debian12"]
    assert Policy(SshConfig(), persona=p).banner == p.server_version.encode() + b"\r\n"
    pinned = SshConfig(server_version="SSH-2.0-OpenSSH_9.2p1")
    assert Policy(pinned, persona=p).banner == b"SSH-2.0-OpenSSH_9.2p1\r\n"


def test_unknown_persona_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"HONEYPODS_SSH_PERSONA: 'openssh-7\.4p1' is none of"):
        load(["ssh"], env={"HONEYPODS_SSH_PERSONA": "openssh-7.4p1"})


@pytest.mark.parametrize("alg", ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"])
def test_host_keys_are_stable_per_seed_and_differ_between_seeds(alg: str) -> None:
    first = hostkeys.derived_key("install-a", alg, 3072)
    again = hostkeys.derived_key("install-a", alg, 3072)
    other = hostkeys.derived_key("install-b", alg, 3072)
    assert first.get_fingerprint() == again.get_fingerprint()
    assert first.get_fingerprint() != other.get_fingerprint()
    assert first.algorithm.decode() == alg
    if alg == "ssh-rsa":
        numbers = first.pyca_key.private_numbers()
        assert numbers.public_numbers.n.bit_length() == 3072
        assert numbers.public_numbers.e == 65537
        assert numbers.p * numbers.q == numbers.public_numbers.n
        # The key signs and verifies like any other.
        sig = first.sign(b"data", b"rsa-sha2-512")
        assert first.convert_to_public().verify(b"data", sig)


def test_sntrup_encoding_round_trips() -> None:
    values = [secrets.randbelow(sntrup.Q) for _ in range(sntrup.P)]
    data = sntrup.encode(values, [sntrup.Q] * sntrup.P)
    assert len(data) == sntrup.PUBLIC_KEY_BYTES
    assert sntrup.decode(data, [sntrup.Q] * sntrup.P) == values
    rounded = [v % sntrup.ROUNDED_M for v in values]
    assert len(sntrup.encode(rounded, [sntrup.ROUNDED_M] * sntrup.P)) == 1007
    with pytest.raises(ValueError, match="too short"):
        sntrup.decode(data[:-1], [sntrup.Q] * sntrup.P)


def test_sntrup_product_is_the_schoolbook_one() -> None:
    h = [secrets.randbelow(sntrup.Q) - sntrup.Q12 for _ in range(sntrup.P)]
    r = sntrup.short_random()
    assert sum(map(abs, r)) == sntrup.W
    assert set(r) <= {-1, 0, 1}
    full = [0] * (2 * sntrup.P - 1)
    for j, rj in enumerate(r):
        if rj:
            for i, hi in enumerate(h):
                full[i + j] += hi * rj
    for k in range(2 * sntrup.P - 2, sntrup.P - 1, -1):
        full[k - sntrup.P] += full[k]
        full[k - sntrup.P + 1] += full[k]
    expected = [(c + sntrup.Q12) % sntrup.Q - sntrup.Q12 for c in full[: sntrup.P]]
    assert sntrup.multiply(h, r) == expected


def test_sntrup_encapsulation_shapes_and_bad_input() -> None:
    pk = secrets.token_bytes(sntrup.PUBLIC_KEY_BYTES)
    secret, ciphertext = sntrup.encapsulate(pk)
    assert len(secret) == sntrup.SECRET_BYTES
    assert len(ciphertext) == sntrup.CIPHERTEXT_BYTES
    # Each encapsulation draws its own secret.
    assert sntrup.encapsulate(pk)[0] != secret
    assert sntrup.hash_prefix(1, b"x") == hashlib.sha512(b"\x01x").digest()[:32]
    for bad in (b"", pk[:-1], pk + b"\0"):
        with pytest.raises(ValueError, match="public key length"):
            sntrup.encapsulate(bad)
