"""What every connection of one web decoy shares: the site, the application, the persona, TLS.

Built once at start; connections read it and never change it, except the two registries of
things in flight: ``drives`` (handlers still waiting, cancelled at shutdown) and ``sni`` (names
seen by the TLS context's SNI callback and whether it refused them, taken by the handshake's
event).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Final

from aiohttp import web

from honeypods.core import honeytokens
from honeypods.core.drive import Drive
from honeypods.web import aiohttp_shim
from honeypods.web.app import make_app
from honeypods.web.compressed import gzip_table
from honeypods.web.config import WebConfig
from honeypods.web.http import Clock
from honeypods.web.install import Install, resolve
from honeypods.web.leak import with_leak
from honeypods.web.site import StaticFile, canned_table, site_files

HEADER_TIMEOUT: Final = 60.0  # nginx client_header_timeout


class WebServer:
    """Shared state of the decoy: the app, the persona, the TLS context.

    Args:
        install: the install's persona and identities (``install.resolve``).
        loop: the running loop.
        files: the document root (``site.site_files``).
        app: the application serving it.
        handler: the started application's request handler.
    """

    def __init__(
        self,
        install: Install,
        loop: asyncio.AbstractEventLoop,
        files: dict[str, StaticFile],
        app: web.Application,
        handler: aiohttp_shim.Handler,
    ) -> None:
        self.config = install.config
        self.persona = install.persona
        self.loop = loop
        self.version = install.config.server_version
        self.files = files
        self.app = app
        self.handler = handler
        self.clock = Clock()
        self.canned = canned_table(files, self.version)
        # The same answers compressed: (GET, HEAD) for each path nginx's gzip filter compresses.
        self.canned_gzip = gzip_table(files, self.canned, self.version)
        self.sni: dict[int, tuple[str | None, bool]] = {}
        self.ssl_context: ssl.SSLContext | None = None
        # nginx client_header_timeout: seconds a request head may take to arrive.
        self.header_timeout = HEADER_TIMEOUT
        # Handlers still running (the login's delay), cancelled when the decoy stops.
        self.drives: set[Drive[web.StreamResponse]] = set()

    @classmethod
    async def create(cls, config: WebConfig, persona_seed: str = "") -> WebServer:
        """The shared state, its application started (startup signals run, frozen).

        Args:
            config: the decoy's settings, empty identities drawn from ``persona_seed``.
            persona_seed: the install's seed; empty, the built-in persona and names.
        """
        install = resolve(config, persona_seed)
        files = with_leak(
            site_files(install.config, install.build), honeytokens.current(), install.config.product
        )
        app = make_app(install.config, files)
        handler = await aiohttp_shim.request_handler(app)
        return cls(install, asyncio.get_running_loop(), files, app, handler)

    def cancel_drives(self) -> None:
        """Cancel every handler still waiting, as the decoy stops."""
        for drive in list(self.drives):
            drive.cancel()
