"""The nginx builds the web decoy can pass for, and what each one shows a scanner.

A table module: stdlib only, no asyncio, nothing of ``honeypods.core``. One ``NginxPersona`` per
distribution build; its fields are only what differs between them on the wire, each with its
source:

* ``server``: what follows ``nginx/`` in the Server header and the error pages' footer. Both
  come from ``NGINX_VER``; Ubuntu's ``ubuntu-branding.patch`` appends `` (Ubuntu)`` to it, Debian
  leaves it alone.
* ``keepalive_requests``: requests per connection before nginx closes it (100 before 1.19.10,
  1000 since; Debian's and Ubuntu's nginx.conf leave the default).
* ``strict_framing``: nginx 1.21.1 and 1.21.2 refuse a request with both Content-Length and
  Transfer-Encoding (400) and an HTTP/1.0 request with Transfer-Encoding (400); 1.18 lets
  ``chunked`` win over Content-Length and reads HTTP/1.0 chunked bodies.
* ``alpn_refuse``: since 1.21.4 a client offering ALPN with none of nginx's protocols gets a
  fatal ``no_application_protocol`` alert; 1.18 carries on without ALPN.
* ``tls_floor``: the lowest TLS version the build's OpenSSL lets through. Every one of these
  nginx.conf files says ``ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3`` (Debian changed it only
  in 1.26.0-2), but Ubuntu's OpenSSL (``tls1.2-min-seclevel2.patch``) drops versions below 1.2 at
  its default security level 2, so a TLS 1.0 ClientHello gets ``protocol_version``; Debian's
  OpenSSL 3.0 lets 1.0 and 1.1 be negotiated and fails later, at the signature algorithms.
* ``ciphers``: ``ssl_ciphers``, nginx's ``HIGH:!aNULL:!MD5`` in all three (their nginx.conf
  sets none).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class NginxPersona:
    """One distribution's nginx build, as far as a client can tell it apart.

    Args:
        name: the ``HONEYPODS_WEB_PERSONA`` value.
        build: the real package it stands for.
        server: the text after ``nginx/`` in Server and on error pages.
        keepalive_requests: requests per keep-alive connection.
        strict_framing: refuses Content-Length with Transfer-Encoding and HTTP/1.0 chunked.
        alpn_refuse: refuses a handshake whose ALPN offer it cannot meet.
        tls_floor: ``TLSv1`` or ``TLSv1_2``, a ``ssl.TLSVersion`` name.
        released: the distribution's release day (UTC): the fallback snakeoil certificate of a
            seeded install is dated some months after it, as the host was set up then.
        ciphers: the OpenSSL cipher string.
    """

    name: str
    build: str
    server: str
    keepalive_requests: int
    strict_framing: bool
    alpn_refuse: bool
    tls_floor: str
    released: datetime.datetime
    ciphers: str = "HIGH:!aNULL:!MD5"


PERSONAS: Final[Mapping[str, NginxPersona]] = {
    p.name: p
    for p in (
        NginxPersona(
            name="nginx-1.18.0-ubuntu22.04",
            build="nginx 1.18.0-6ubuntu14, OpenSSL 3.0.2 (Ubuntu 22.04 jammy)",
            server="1.18.0 (Ubuntu)",
            keepalive_requests=100,
            strict_framing=False,
            alpn_refuse=False,
            tls_floor="TLSv1_2",
            released=datetime.datetime(2022, 4, 21, tzinfo=datetime.UTC),
        ),
        NginxPersona(
            name="nginx-1.22.1-debian12",
            build="nginx 1.22.1-9+deb12u*, OpenSSL 3.0 (Debian 12 bookworm)",
            server="1.22.1",
            keepalive_requests=1000,
            strict_framing=True,
            alpn_refuse=True,
            tls_floor="TLSv1",
            released=datetime.datetime(2023, 6, 10, tzinfo=datetime.UTC),
        ),
        NginxPersona(
            name="nginx-1.24.0-ubuntu24.04",
            build="nginx 1.24.0-2ubuntu7, OpenSSL 3.0.13 (Ubuntu 24.04 noble)",
            server="1.24.0 (Ubuntu)",
            keepalive_requests=1000,
            strict_framing=True,
            alpn_refuse=True,
            tls_floor="TLSv1_2",
            released=datetime.datetime(2024, 4, 25, tzinfo=datetime.UTC),
        ),
    )
}
# The persona of a decoy built without a seed in mind (tests that build WebConfig directly):
# the one the differential tests compare with the nginx installed here.
DEFAULT: Final = "nginx-1.22.1-debian12"

# Names internal consoles go by; the seed picks one per install, with its login page title.
SITES: Final = (
    ("OpsConsole", "Internal Operations Dashboard"),
    ("Fleet Manager", "Fleet Manager - Sign in"),
    ("Platform Portal", "Platform Portal"),
    ("InfraDesk", "InfraDesk | Internal"),
    ("Control Center", "Control Center - Login"),
    ("DeployHub", "DeployHub"),
    ("Cluster Admin", "Cluster Admin Console"),
    ("NOC Dashboard", "NOC Dashboard"),
    ("Backoffice", "Backoffice - Sign in"),
    ("Service Console", "Service Console"),
)
# Host name parts: "<prefix>.<zone>" is what the certificate and the site call the host.
HOST_PREFIXES: Final = ("ops", "dashboard", "console", "admin", "portal", "noc", "infra", "mgmt")
HOST_ZONES: Final = ("internal", "corp.internal", "svc.internal", "intra", "lan", "prod.internal")
