"""Settings of the web decoy: ``HONEYPODS_WEB_*``, their defaults and their validation."""

from __future__ import annotations

import ipaddress
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from honeypods.core.settings import ConfigError
from honeypods.web.persona import PERSONAS


@dataclass(frozen=True)
class WebConfig:
    """Fake internal dashboard behind an nginx persona."""

    # Plain HTTP port.
    port: int = 8080
    # HTTPS port; 0 turns HTTPS off.
    tls_port: int = 8443
    # The nginx build it passes for (docs/personas.md): nginx-1.18.0-ubuntu22.04,
    # nginx-1.22.1-debian12 or nginx-1.24.0-ubuntu24.04. Empty: drawn from HONEYPODS_PERSONA_SEED.
    persona: str = ""
    # What follows "nginx/" in Server and on the error pages. Empty: the persona's.
    server_version: str = ""
    # Title of the login page. Empty: drawn from HONEYPODS_PERSONA_SEED with the product.
    title: str = ""
    # Product name shown on the login page. Empty: drawn from HONEYPODS_PERSONA_SEED.
    product: str = ""
    # PEM files for HTTPS (a Secret in the chart); when unset, a self-signed pair is made at start.
    tls_cert: str = ""
    # PEM private key matching the certificate.
    tls_key: str = ""
    # Host name of the site: the generated certificate's common name, shown on the login page.
    # Empty: drawn from HONEYPODS_PERSONA_SEED.
    tls_common_name: str = ""
    # DNS names of the generated certificate. Empty: the host name and localhost.
    tls_sans: tuple[str, ...] = ()
    # Seconds before a failed login answers, as a real password check would take.
    login_delay: float = 0.4
    # Refuse a TLS handshake whose SNI is none of the server names, or that sends no SNI, with an
    # unrecognized_name alert: nginx's `ssl_reject_handshake on` in the default server.
    tls_reject_handshake: bool = False
    # DNS names of the HTTPS server (nginx's server_name) that tls_reject_handshake lets through;
    # empty: the DNS names of tls_sans.
    tls_server_names: tuple[str, ...] = ()
    # With HONEYPODS_STATE_DIR: the certificate is issued by "<organization> Internal CA".
    tls_organization: str = "Corp"
    # With HONEYPODS_STATE_DIR: lifetime in days of the issued certificate, renewed at start when
    # less than a third is left. Its names: tls_server_names, else tls_sans; the first is its CN.
    tls_days: int = 90

    def listens(self) -> list[tuple[str, int]]:
        """(setting, port) for every port it binds; 0 is off."""
        return [("HONEYPODS_WEB_PORT", self.port), ("HONEYPODS_WEB_TLS_PORT", self.tls_port)]

    def check(self) -> None:
        """Raises:
        ConfigError: the certificate and key are not both given, a file is missing or not a
        PEM pair, or a value could not be written where nginx would write it."""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("HONEYPODS_WEB_TLS_CERT and HONEYPODS_WEB_TLS_KEY go together")
        for name in (self.tls_cert, self.tls_key):
            if name and not Path(name).is_file():
                raise ConfigError(f"HONEYPODS_WEB_TLS_CERT/KEY: no file {name}")
        if self.tls_cert:
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(self.tls_cert, self.tls_key)
            except OSError as exc:  # ssl.SSLError included: not PEM, or a key of another cert
                raise ConfigError(
                    f"HONEYPODS_WEB_TLS_CERT/KEY: not a readable PEM certificate and its key ({exc})"
                ) from None
        else:
            # Only the generated certificate uses these; cryptography would refuse them at start.
            if self.tls_common_name and not _COMMON_NAME.fullmatch(self.tls_common_name):
                raise ConfigError(
                    "HONEYPODS_WEB_TLS_COMMON_NAME: 1 to 64 printable ASCII characters"
                )
            for san in self.tls_sans:
                if not _is_san(san):
                    raise ConfigError(f"HONEYPODS_WEB_TLS_SANS: {san!r} is not a DNS name or an IP")
        if self.persona and self.persona not in PERSONAS:
            raise ConfigError(f"HONEYPODS_WEB_PERSONA: one of {', '.join(PERSONAS)}")
        # It follows "nginx/" in the Server header and on every error page.
        if self.server_version and not _VERSION.fullmatch(self.server_version):
            raise ConfigError(
                "HONEYPODS_WEB_SERVER_VERSION: a version such as 1.22.1 or 1.18.0 (Ubuntu)"
                " (letters, digits, . - _, a space, parentheses)"
            )
        # The product is also the quoted realm of WWW-Authenticate, a header written as Latin-1.
        if not _REALM.fullmatch(self.product):
            raise ConfigError('HONEYPODS_WEB_PRODUCT: printable Latin-1 text without " or \\')
        if not 0 <= self.login_delay <= 60:
            raise ConfigError("HONEYPODS_WEB_LOGIN_DELAY: 0 to 60 seconds")
        for name in self.tls_server_names:
            if _is_ip(name) or not _is_san(name):
                raise ConfigError(f"HONEYPODS_WEB_TLS_SERVER_NAMES: {name!r} is not a DNS name")
        if self.tls_reject_handshake and not self.server_names():
            raise ConfigError(
                "HONEYPODS_WEB_TLS_REJECT_HANDSHAKE: needs HONEYPODS_WEB_TLS_SERVER_NAMES "
                "or DNS names in HONEYPODS_WEB_TLS_SANS"
            )
        # The CA's CN, "<organization> Internal CA", must stay within RFC 5280's 64 characters.
        if not _COMMON_NAME.fullmatch(self.tls_organization) or len(self.tls_organization) > 52:
            raise ConfigError("HONEYPODS_WEB_TLS_ORGANIZATION: 1 to 52 printable ASCII characters")
        if not 1 <= self.tls_days <= 398:  # CA/Browser Forum's longest leaf lifetime
            raise ConfigError("HONEYPODS_WEB_TLS_DAYS: 1 to 398 days")

    def certificate_names(self) -> tuple[str, ...]:
        """The names of the certificate issued into the state directory."""
        return self.tls_server_names or self.tls_sans

    def server_names(self) -> frozenset[str]:
        """The names SNI is matched against: lower case, without a trailing dot."""
        names = self.tls_server_names or tuple(s for s in self.tls_sans if not _is_ip(s))
        return frozenset(n.lower().rstrip(".") for n in names)


_VERSION: Final = re.compile(r"[0-9A-Za-z._-]{1,32}( \([0-9A-Za-z._-]{1,32}\))?")
_REALM: Final = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e\xa0-\xff]*")
_COMMON_NAME: Final = re.compile(r"[\x20-\x7e]{1,64}")  # RFC 5280: ub-common-name is 64
_DNS_NAME: Final = re.compile(r"(\*\.)?[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_san(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return len(value) <= 253 and _DNS_NAME.fullmatch(value) is not None
    return True
