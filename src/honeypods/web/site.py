"""The document root the persona serves: a single-page application's shell, its bundles, and
their canned answers.

Policy, no I/O beyond reading the package's own files at start. The site is what nginx in front
of a dashboard built today holds: ``root`` with a small ``index.html`` that loads content-hashed
bundles from ``/assets/`` (the layout of a Vite build), the icons and the web manifest; the
application's client-side routes answered with the shell (``try_files /index.html`` on
``SHELL_ROUTES``, so deep links work); ``LOGIN_PATH`` passed to the login backend;
``BASIC_PREFIX`` behind HTTP Basic auth. The login screen is rendered by the bundle in the
browser, so the HTML of ``/`` holds no form.

What may vary from one install to another (the product's name, title and host name, the
release in ``Build``: ``install.resolve`` fills them from the settings and the seed) goes in as
parameters: an asset's name is the hash of its bytes as served,
computed here, so another build gets other names. Entity tags and dates are nginx's, fixed for
the process's life, so a plain GET of a file can be answered from stored bytes (``canned_table``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.resources
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from honeypods.web.config import WebConfig
from honeypods.web.http import http_date, make_head

LOGIN_PATH: Final = "/api/v1/auth/login"
BASIC_PREFIX: Final = "/api/"
ASSETS: Final = "/assets/"
# The application's client-side routes: the nginx in front has
# ``location ~ ^/(login|overview|...)(/|$) { try_files /index.html =404; }``; anything else that
# is no file is nginx's 404, as for a real build (no catch-all 200, which scanners notice).
SHELL_ROUTES: Final = ("login", "overview", "clusters", "workloads", "alerts", "settings")
_ROUTES: Final = frozenset(SHELL_ROUTES)
# nginx's default mime.types for what the site serves.
MIME_TYPES: Final = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "application/javascript",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".txt": "text/plain",
    ".json": "application/json",
}
# Files of the root served as they are, and those filled in with the persona.
_PLAIN: Final = ("favicon.ico", "favicon.svg", "robots.txt")
_BUNDLES: Final = ("index.js", "index.css")
_BUILD_MARK: Final = "__BUILD__"


@dataclass(frozen=True)
class Build:
    """The release of the application the persona runs: shown on the login screen and baked
    into the bundle, so it changes the bundle's hash as a rebuild would."""

    version: str = "4.12.3"
    commit: str = "8c41f0e"


@dataclass(frozen=True)
class StaticFile:
    """One file under the root, with the validators nginx derives from it."""

    body: bytes
    content_type: str
    mtime: int
    etag: str = ""
    last_modified: str = ""

    def __post_init__(self) -> None:
        # ngx_http_set_etag: "<mtime hex>-<size hex>"; both are fixed for the process's life.
        object.__setattr__(self, "etag", f'"{self.mtime:x}-{len(self.body):x}"')
        object.__setattr__(self, "last_modified", http_date(self.mtime))


def content_hash(body: bytes) -> str:
    """The 8-character hash a bundler puts in an asset's name (base64url of its SHA-256)."""
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest())[:8].decode("ascii")


def is_shell_route(path: str) -> bool:
    """Whether nginx answers ``path`` with the shell: a client-side route or below one."""
    return path[1:].partition("/")[0] in _ROUTES


def site_files(config: WebConfig, build: Build = Build()) -> dict[str, StaticFile]:
    """Everything under the document root: URI path -> file, as nginx would find it on disk."""
    root = importlib.resources.files("honeypods.web").joinpath("pages")
    files: dict[str, StaticFile] = {}
    names: dict[str, str] = {}
    for name in _BUNDLES:
        entry = root.joinpath("assets").joinpath(name)
        body = entry.read_bytes().replace(_BUILD_MARK.encode(), build.commit.encode("ascii"))
        stem, _, ext = name.rpartition(".")
        names[ext] = f"{ASSETS}{stem}-{content_hash(body)}.{ext}"
        files[names[ext]] = _file(entry, body)
    for name in _PLAIN:
        entry = root.joinpath(name)
        files["/" + name] = _file(entry, entry.read_bytes())
    product = json.dumps(config.product)[1:-1]
    manifest = root.joinpath("manifest.json")
    files["/manifest.json"] = _file(
        manifest, manifest.read_text().replace("{product}", product).encode("utf-8")
    )
    index = root.joinpath("index.html")
    files["/index.html"] = _file(index, render_shell(config, build, names["js"], names["css"]))
    return files


def render_shell(config: WebConfig, build: Build, script: str, style: str) -> bytes:
    """``index.html``: the bundles to load and the settings the client reads at start."""
    template = importlib.resources.files("honeypods.web").joinpath("pages/index.html").read_text()
    settings = {
        "product": config.product,
        "title": config.title,
        "version": build.version,
        "host": config.tls_common_name,
        "api": {"login": LOGIN_PATH},
    }
    # Inside <script>, "</" would end the element: JSON's \u escapes keep it data.
    blob = json.dumps(settings, separators=(",", ":"))
    blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (
        template.replace("{title}", html.escape(config.title))
        .replace("{script}", script)
        .replace("{style}", style)
        .replace("{config}", blob)
        .encode("utf-8")
    )


def _file(entry: Traversable, body: bytes) -> StaticFile:
    path = Path(str(entry))
    kind = MIME_TYPES.get(path.suffix, "application/octet-stream")
    return StaticFile(body, kind, int(path.stat().st_mtime))


def site_dirs(files: Mapping[str, StaticFile]) -> set[str]:
    """The directories of the root, each with its trailing slash."""
    dirs = {"/"}
    for name in files:
        parts = name.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/" + "/".join(parts[:i]) + "/")
    return dirs


# Request headers that make the static handler answer something other than the whole file.
CONDITIONAL: Final = frozenset(
    {"if-unmodified-since", "if-match", "if-modified-since", "if-none-match", "range"}
)


@dataclass(frozen=True, slots=True)
class Canned:
    """The static handler's plain 200 for one file, split around the ``Date`` value: the bytes
    the application's answer would be written as, without the aiohttp round trip."""

    before: bytes  # status line up to "Date: "
    after_keep: bytes  # from the end of the date to the blank line, Connection: keep-alive
    after_close: bytes  # the same with Connection: close
    body: bytes


def canned_table(files: Mapping[str, StaticFile], version: str) -> dict[str, Canned]:
    """URI path -> canned answer, for every path the static handler serves a file for
    (a directory with an index file included, as ngx_http_index_module maps it). The client-side
    routes go through the application: a browser loads one once, scanners hardly ever."""
    table: dict[str, Canned] = {}
    marker = "\x00"
    for name, found in files.items():
        if name == LOGIN_PATH or name.startswith(BASIC_PREFIX):
            continue  # routed to the application before the static handler
        headers = [
            ("Content-Type", found.content_type),
            ("Last-Modified", found.last_modified),
            ("ETag", found.etag),
            ("Accept-Ranges", "bytes"),
            ("Content-Length", str(len(found.body))),
        ]
        parts = []
        for keep in (True, False):
            head = make_head(200, headers, server=version, date=marker, keepalive=keep)
            before, _, after = head.partition(marker.encode("latin-1"))
            parts.append((before, after))
        canned = Canned(parts[0][0], parts[0][1], parts[1][1], found.body)
        table[name] = canned
        if name.endswith("/index.html"):
            table[name[: -len("index.html")]] = canned
    return table
