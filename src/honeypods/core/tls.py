"""The one certificate builder and loader every decoy uses.

Decoys differ in what their certificate looks like (nginx behind Debian's snakeoil pair, MySQL's
auto-generated CA and server certificate); how it is built and loaded is the same:

* ``make_pem`` builds RSA 2048 keys and certificates with ``cryptography`` (imported only here, and
  only when called). Given the install's seed, keys and serials are derived from it
  (``core.derivedkeys``) and RSA signatures are deterministic, so the same spec gives the same
  bytes on every start: a client that pinned the certificate sees it again.
* ``make_pem_in_child`` does the same in a child process: importing cryptography keeps about 9 MiB
  resident for the rest of the process's life, for one use at start.
* ``load_pem`` loads a PEM bundle that exists only in memory: the images' root filesystem is
  read-only with no /tmp, and ``ssl`` loads certificates only from paths (memfd gives one).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from honeypods.core import derivedkeys

KEY_BITS: Final = 2048  # what make-ssl-cert and MySQL make


@dataclass(frozen=True)
class CertSpec:
    """What the certificate says.

    Args:
        common_name: the subject's CN.
        sans: DNS names or IP addresses for subjectAltName; none, no extension.
        ca_common_name: the CN of a CA made alongside to sign it; empty, it is self-signed.
        not_before: start of validity (UTC).
        days: lifetime in days.
        seed: the install's seed; empty, keys and serials are random.
        label: names this certificate's keys in the derivation (``<label>.key``,
            ``<label>.ca_key``, ``<label>.serial``); needed with a seed.
    """

    common_name: str
    not_before: datetime.datetime
    days: int
    sans: tuple[str, ...] = ()
    ca_common_name: str = ""
    seed: str = field(default="", repr=False)
    label: str = ""

    def __post_init__(self) -> None:
        if self.seed and not self.label:
            raise ValueError("a seeded certificate needs a label")

    def key(self, role: str) -> Any:
        """The RSA 2048 key of ``role`` (``key`` or ``ca_key``): derived, or fresh."""
        if self.seed:
            return derivedkeys.rsa_key(self.seed, f"{self.label}.{role}", KEY_BITS)
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)

    def serial(self) -> int:
        from cryptography import x509

        if self.seed:
            return derivedkeys.serial(self.seed, f"{self.label}.serial")
        return x509.random_serial_number()


def prepare_keys(seed: str, label: str, *, with_ca: bool) -> None:
    """Find the primes of the keys a seeded ``CertSpec`` with this label will build
    (``core.derivedkeys`` keeps them), so that a decoy can do it at start, off the event loop."""
    for role in ("key", "ca_key") if with_ca else ("key",):
        derivedkeys.rsa_primes(seed, f"{label}.{role}", KEY_BITS)


def make_pem(spec: CertSpec) -> bytes:
    """Key, certificate and (with a CA) the CA certificate, as one PEM bundle in that order.

    With a CA the serials are 1 (CA) and 2 (server) and both carry BasicConstraints, as MySQL's
    auto-generated pair does; self-signed ones get a random serial and no constraints, as
    ``make-ssl-cert`` gives.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    end = spec.not_before + datetime.timedelta(days=spec.days)
    key = spec.key("key")
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(spec.common_name))
        .public_key(key.public_key())
        .not_valid_before(spec.not_before)
        .not_valid_after(end)
    )
    alt: list[x509.GeneralName] = []
    for san in spec.sans:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            alt.append(x509.DNSName(san))
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    bundle = [
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    ]
    if not spec.ca_common_name:
        cert = (
            builder.issuer_name(name(spec.common_name))
            .serial_number(spec.serial())
            .sign(key, hashes.SHA256())
        )
        bundle.append(cert.public_bytes(serialization.Encoding.PEM))
        return b"".join(bundle)
    ca_key = spec.key("ca_key")
    ca = (
        x509.CertificateBuilder()
        .subject_name(name(spec.ca_common_name))
        .issuer_name(name(spec.ca_common_name))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(spec.not_before)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        builder.issuer_name(name(spec.ca_common_name))
        .serial_number(2)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    bundle += [
        cert.public_bytes(serialization.Encoding.PEM),
        ca.public_bytes(serialization.Encoding.PEM),
    ]
    return b"".join(bundle)


def make_pem_in_child(spec: CertSpec, timeout: float = 120.0) -> bytes:
    """``make_pem`` in a child process of the same interpreter, so this one never loads
    cryptography. The spec goes on the child's stdin: its arguments are world-readable, and
    the seed is a secret."""
    text = json.dumps(
        {
            "common_name": spec.common_name,
            "not_before": spec.not_before.isoformat(),
            "days": spec.days,
            "sans": list(spec.sans),
            "ca_common_name": spec.ca_common_name,
            "seed": spec.seed,
            "label": spec.label,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "honeypods.core.tls"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=timeout,
    ).stdout


def split_pem(bundle: bytes) -> tuple[bytes, bytes]:
    """(certificates, key) of a bundle from ``make_pem``."""
    marker = b"-----END RSA PRIVATE KEY-----\n"
    key, _, certs = bundle.partition(marker)
    return certs, key + marker


def load_pem(context: ssl.SSLContext, bundle: bytes) -> None:
    """Load key and certificate chain from a PEM bundle held in memory."""
    if not hasattr(os, "memfd_create"):  # not Linux: a private temporary directory will do
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "bundle.pem")
            path.write_bytes(bundle)
            context.load_cert_chain(path)
        return
    fd = os.memfd_create("tls", os.MFD_CLOEXEC)
    try:
        view = memoryview(bundle)
        while view:
            view = view[os.write(fd, view) :]
        context.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


if __name__ == "__main__":
    # The child side of make_pem_in_child: the spec on stdin, the bundle on stdout.
    _spec = json.loads(sys.stdin.buffer.read())
    _spec["not_before"] = datetime.datetime.fromisoformat(_spec["not_before"])
    _spec["sans"] = tuple(_spec["sans"])
    sys.stdout.buffer.write(make_pem(CertSpec(**_spec)))
