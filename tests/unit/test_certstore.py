"""The certificate kept in the state directory: an ACME-shaped leaf from an internal CA, issued
once, renewed when a third of its life is left, checked with openssl's own verifier."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tests.conftest import require_tool

from honeypods.core import certstore

NAMES = ("dashboard-internal-service", "dashboard-internal-service.ops.svc", "10.0.0.7")
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def _certs(folder: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates((folder / "tls.crt").read_bytes())


def test_shape_is_an_acme_leaf_from_an_internal_ca(tmp_path: Path) -> None:
    bundle = certstore.load_or_issue_in_child(tmp_path, certstore.Issue(NAMES, "Initech"))
    leaf, ca = _certs(tmp_path)
    assert bundle == (tmp_path / "tls.key").read_bytes() + (tmp_path / "tls.crt").read_bytes()
    # The leaf: 90 days, ECDSA P-256, CN the first name, every name in the SANs, serverAuth.
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == datetime.timedelta(days=90)
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert leaf.subject.rfc4514_string() == "CN=dashboard-internal-service"
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in sans] == list(NAMES)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # The issuer: "<Org> Internal CA", a CA that may sign leaves only, and longer-lived.
    assert leaf.issuer == ca.subject
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Initech Internal CA"
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Initech"
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    assert constraints.path_length == 0
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == datetime.timedelta(days=3650)
    # openssl's verifier accepts the chain for the server's names.
    openssl = require_tool("openssl")
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_bytes(_certs_pem(tmp_path)[0])
    proc = subprocess.run(
        [openssl, "verify", "-CAfile", str(tmp_path / "ca.crt"), "-purpose", "sslserver",
         "-verify_hostname", NAMES[1], str(leaf_file)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "tls.key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "ca.key").stat().st_mode & 0o077 == 0


def _certs_pem(folder: Path) -> list[bytes]:
    text = (folder / "tls.crt").read_bytes()
    end = b"-----END CERTIFICATE-----\n"
    return [part + end for part in text.split(end) if part.strip()]


def test_kept_until_a_third_of_its_life_is_left(tmp_path: Path) -> None:
    issue = certstore.Issue(NAMES, "Initech")
    first = certstore.load_or_issue(tmp_path, issue, NOW)
    ca = (tmp_path / "ca.crt").read_bytes()
    # 90 days from an hour before NOW: renewed once less than 30 days are left.
    assert certstore.load_or_issue(tmp_path, issue, NOW + datetime.timedelta(days=59)) == first
    renewed = certstore.load_or_issue(tmp_path, issue, NOW + datetime.timedelta(days=61))
    assert renewed != first
    assert (tmp_path / "ca.crt").read_bytes() == ca, "renewal keeps the CA"
    leaf = _certs(tmp_path)[0]
    assert leaf.not_valid_before_utc == NOW + datetime.timedelta(days=61, hours=-1)
    assert certstore.load_or_issue(tmp_path, issue, NOW + datetime.timedelta(days=62)) == renewed


@pytest.mark.parametrize(
    "change",
    [
        certstore.Issue(("other.internal",), "Initech"),
        certstore.Issue(NAMES, "Initech", days=30),
        certstore.Issue(NAMES, "Globex"),
    ],
)
def test_new_leaf_when_the_settings_change(tmp_path: Path, change: certstore.Issue) -> None:
    first = certstore.load_or_issue(tmp_path, certstore.Issue(NAMES, "Initech"), NOW)
    ca = (tmp_path / "ca.crt").read_bytes()
    assert certstore.load_or_issue(tmp_path, change, NOW) != first
    leaf, issuer = _certs(tmp_path)
    assert leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == change.ca_name
    assert ((tmp_path / "ca.crt").read_bytes() == ca) == (change.organization == "Initech")
    assert issuer.public_bytes(Encoding.PEM) == (tmp_path / "ca.crt").read_bytes()


def test_damaged_files_are_replaced(tmp_path: Path) -> None:
    issue = certstore.Issue(NAMES, "Initech")
    certstore.load_or_issue(tmp_path, issue, NOW)
    (tmp_path / "tls.key").write_bytes(b"not a key")
    (tmp_path / "ca.crt").write_bytes(b"")
    bundle = certstore.load_or_issue(tmp_path, issue, NOW)
    assert bundle.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert _certs(tmp_path)[1].subject == _certs(tmp_path)[0].issuer


def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="file"):
        certstore.load_or_issue_in_child(blocker / "web", certstore.Issue(NAMES, "Initech"))
