"""Fake internal dashboard: an aiohttp application behind an nginx 1.22 persona; the wiring.

Policy: every contact is ``honeypod.fake.svc``. The site is what an nginx serving a small
dashboard looks like (``site``, ``app``): ``root`` with a login page and static assets, the login
form posted to a backend, HTTP Basic auth in front of ``/api/``. Every request, well-formed or
not, is one ``web.request`` event; credentials are one ``web.login`` event; every TLS handshake
on the HTTPS port, completed or not, is one ``web.tls`` event.

How the persona holds: aiohttp's own parser and writer never see the wire. The codec
(``web.http``) reads each request head the way nginx does and answers nginx's error pages
itself; only well-formed requests reach the aiohttp ``Application`` (through ``aiohttp_shim``),
and the handler's ``Response`` is written with nginx's status line, header order and ``Date``.
So no aiohttp text (``Server: Python/...``, ``400: Bad Request``, ``Received HTTPS traffic...``)
can reach a client.

This module only wires the parts to core's guard: one listener for HTTP, one for HTTPS (whose
first bytes ``https.TlsSniffer`` reads), and the cleanup that cancels handlers at shutdown.
"""

from __future__ import annotations

import asyncio
from typing import Final

from honeypods.core.guard import Guard, Limits, ProxyProtocol, Running
from honeypods.web.config import WebConfig
from honeypods.web.connection import WebConnection
from honeypods.web.https import TlsSniffer, make_ssl_context
from honeypods.web.shared import WebServer

DECOY: Final = "web"
RULE: Final = "honeypod.fake.svc"


async def start(
    config: WebConfig,
    *,
    limits: Limits,
    host: str,
    metrics_port: int = 0,
    proxy: ProxyProtocol | None = None,
    state_dir: str = "",
    persona_seed: str = "",
) -> Running:
    """Listen on the HTTP port and, unless ``tls_port`` is 0, the HTTPS port.

    Args:
        config: the decoy's settings.
        limits: connection limits for its guard.
        proxy: PROXY protocol from load balancers in front of it; off when None.
        host: address to bind.
        metrics_port: unused here.
        state_dir: where the HTTPS certificate is kept across restarts; empty, none is kept.
        persona_seed: the install's seed: the nginx persona, site name, release and host name
            the settings leave empty are drawn from it (``install.resolve``).
    """
    del metrics_port
    server = await WebServer.create(config, persona_seed)
    # nginx uses one client_header_timeout for a silent connection and for a slow head.
    server.header_timeout = limits.idle_timeout
    guard = Guard(DECOY, limits, RULE, proxy=proxy)
    # The guard accepts itself (listen backlog 511, nginx's default too).
    bindings = [
        (guard.protocol_factory(lambda session: WebConnection(session, server)), config.port)
    ]
    if config.tls_port:
        # The certificate may be made in a child process: not on the loop other decoys serve.
        server.ssl_context = await asyncio.to_thread(
            make_ssl_context, server.config, server.sni, server.persona, state_dir, persona_seed
        )
        sniffer = guard.protocol_factory(lambda session: TlsSniffer(session, server))
        bindings.append((sniffer, config.tls_port))
    running = await guard.start(host, bindings)
    running.cleanups.append(server.cancel_drives)
    return running
