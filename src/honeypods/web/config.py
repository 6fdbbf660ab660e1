"""Settings of the web decoy: ``HONEYPODS_WEB_*``, their defaults and their validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from honeypods.core.settings import ConfigError


@dataclass(frozen=True)
class WebConfig:
    """Fake internal dashboard behind an nginx persona."""

    # Plain HTTP port.
    port: int = 8080
    # HTTPS port; 0 turns HTTPS off.
    tls_port: int = 8443
    # The persona: exactly what nginx of this version sends in Server and its error pages.
    server_version: str = "1.22.1"
    # Title of the login page.
    title: str = "Internal Operations Dashboard"
    # Product name shown on the login page.
    product: str = "OpsConsole"
    # PEM files for HTTPS (a Secret in the chart); when unset, a self-signed pair is made at start.
    tls_cert: str = ""
    # PEM private key matching the certificate.
    tls_key: str = ""
    # Common name of the generated certificate.
    tls_common_name: str = "dashboard.internal"
    # DNS names of the generated certificate.
    tls_sans: tuple[str, ...] = ("dashboard.internal", "localhost")
    # Seconds before a failed login answers, as a real password check would take.
    login_delay: float = 0.4

    def listens(self) -> list[tuple[str, int]]:
        """(setting, port) for every port it binds; 0 is off."""
        return [("HONEYPODS_WEB_PORT", self.port), ("HONEYPODS_WEB_TLS_PORT", self.tls_port)]

    def check(self) -> None:
        """Raises:
        ConfigError: the certificate and key are not both given, or a file is missing."""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("HONEYPODS_WEB_TLS_CERT and HONEYPODS_WEB_TLS_KEY go together")
        for name in (self.tls_cert, self.tls_key):
            if name and not Path(name).is_file():
                raise ConfigError(f"HONEYPODS_WEB_TLS_CERT/KEY: no file {name}")
