"""A serving certificate from an internal CA, kept in the state directory across restarts.

What a configured server in a company network has: a short-lived certificate whose SANs are the
names it serves, issued by the company's own CA, renewed before it runs out. A certificate that
changes on every restart, or a self-signed one valid for ten years, is neither.

Rules this module keeps:

* The shape is an ACME client's (certbot 2, cert-manager): ECDSA P-256 keys; a 90-day leaf whose
  subject is the first name and whose subjectAltName lists them all, serverAuth only, backdated
  one hour; issued by "<organization> Internal CA", a ten-year root (path length 0). The chain
  served is the leaf, then the CA.
* Files live in ``<state dir>/<name>/``: ``ca.crt``, ``ca.key``, ``tls.crt`` (leaf and CA),
  ``tls.key``; written to a temporary name and renamed, keys and the folder readable only by
  the owner.
* Renewal happens when the files are read, i.e. at start: a leaf with less than a third of its
  lifetime left (an ACME client's rule), for other names, or from another CA gets a new key and
  certificate from the same CA; the CA is made anew only when it is missing, unreadable, expired
  or named otherwise. A process running past its leaf's end serves it expired until restarted.
* cryptography is imported only in a child process (``load_or_issue_in_child``), as in
  ``core.tls``: it would stay resident for the process's life for one use at start.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

LEAF_DAYS: Final = 90  # Let's Encrypt's and certbot's lifetime
CA_DAYS: Final = 3650
BACKDATE: Final = datetime.timedelta(hours=1)  # Let's Encrypt backdates notBefore one hour


@dataclass(frozen=True)
class Issue:
    """What to issue.

    Args:
        names: DNS names (or IP addresses) of the server; the first is the subject's CN.
        organization: the CA is "<organization> Internal CA" with O=<organization>.
        days: the leaf's lifetime.
    """

    names: tuple[str, ...]
    organization: str
    days: int = LEAF_DAYS

    @property
    def ca_name(self) -> str:
        """The CA's common name."""
        return f"{self.organization} Internal CA"


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _san_list(names: tuple[str, ...]) -> list[Any]:
    import ipaddress

    from cryptography import x509

    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _load_ca(folder: Path, spec: Issue, now: datetime.datetime) -> tuple[Any, Any] | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_pem, key_pem = _read(folder / "ca.crt"), _read(folder / "ca.key")
    if cert_pem is None or key_pem is None:
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, None)
    except ValueError:
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if (
        not isinstance(key, ec.EllipticCurvePrivateKey)
        or key.public_key() != cert.public_key()
        or [n.value for n in names] != [spec.ca_name]
        or cert.not_valid_after_utc <= now + datetime.timedelta(days=spec.days)
    ):
        return None
    return cert, key


def _make_ca(spec: Issue, now: datetime.datetime) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization),
            x509.NameAttribute(NameOID.COMMON_NAME, spec.ca_name),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now - BACKDATE + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf_is_good(folder: Path, spec: Issue, ca: Any, now: datetime.datetime) -> bytes | None:
    """The stored bundle (key, leaf, CA) when the leaf may be served on; else None."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    chain, key_pem = _read(folder / "tls.crt"), _read(folder / "tls.key")
    if chain is None or key_pem is None:
        return None
    try:
        certs = x509.load_pem_x509_certificates(chain)
        key = serialization.load_pem_private_key(key_pem, None)
        sans = certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    leaf = certs[0]
    life = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    if (
        key.public_key() != leaf.public_key()
        or leaf.issuer != ca.subject
        or certs[1:] != [ca]
        or list(sans) != _san_list(spec.names)
        or life != datetime.timedelta(days=spec.days)
        or leaf.not_valid_after_utc - now < life / 3
    ):
        return None
    return key_pem + chain


def _make_leaf(spec: Issue, ca: Any, ca_key: Any, now: datetime.datetime) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    start = now - BACKDATE
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=spec.days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(_san_list(spec.names)), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(pem) + ca.public_bytes(pem)


def load_or_issue(folder: Path, spec: Issue, now: datetime.datetime | None = None) -> bytes:
    """The bundle to serve (leaf key, leaf, CA) from ``folder``, issued or renewed as needed.

    Raises:
        OSError: the folder cannot be made or written.
    """
    from cryptography.hazmat.primitives import serialization

    now = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_pair = _load_ca(folder, spec, now)
    if ca_pair is None:
        ca_pair = _make_ca(spec, now)
        ca, ca_key = ca_pair
        pem = serialization.Encoding.PEM
        _write(
            folder / "ca.key",
            ca_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            0o600,
        )
        _write(folder / "ca.crt", ca.public_bytes(pem), 0o644)
    ca, ca_key = ca_pair
    bundle = _leaf_is_good(folder, spec, ca, now)
    if bundle is not None:
        return bundle
    key_pem, chain = _make_leaf(spec, ca, ca_key, now)
    _write(folder / "tls.key", key_pem, 0o600)
    _write(folder / "tls.crt", chain, 0o644)
    return key_pem + chain


def load_or_issue_in_child(folder: Path, spec: Issue, timeout: float = 120.0) -> bytes:
    """``load_or_issue`` in a child process of the same interpreter.

    Raises:
        OSError: the child could not read or write the folder (its message says why).
    """
    args = [str(folder), spec.organization, str(spec.days), *spec.names]
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "honeypods.core.certstore", *args],
        capture_output=True,
        check=False,  # its stderr says why; raised below as OSError
        timeout=timeout,
    )
    if proc.returncode:
        lines = proc.stderr.decode(errors="backslashreplace").strip().splitlines()
        raise OSError(lines[-1] if lines else f"certificate issuer exited {proc.returncode}")
    return proc.stdout


if __name__ == "__main__":
    # The child side of load_or_issue_in_child: the bundle on stdout.
    _folder, _org, _days, *_names = sys.argv[1:]
    try:
        _bundle = load_or_issue(Path(_folder), Issue(tuple(_names), _org, int(_days)))
    except OSError as _exc:
        sys.exit(f"{_folder}: {_exc.strerror or _exc}")
    sys.stdout.buffer.write(_bundle)
