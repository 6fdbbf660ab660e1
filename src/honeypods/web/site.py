"""The document root the persona serves: the login page, static assets, and their canned answers.

Policy, no I/O beyond reading the package's own files at start: what an nginx ``root`` with a
small dashboard holds, and the routes in front of it (``LOGIN_PATH`` goes to the login backend,
``BASIC_PREFIX`` is behind HTTP Basic auth). Entity tags and dates are nginx's, fixed for the
process's life, so a plain GET of a file can be answered from stored bytes (``canned_table``).
"""

from __future__ import annotations

import html
import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from honeypods.web.config import WebConfig
from honeypods.web.http import http_date, make_head

LOGIN_PATH: Final = "/login"
BASIC_PREFIX: Final = "/api/"
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


def render_login(config: WebConfig, message: str = "") -> bytes:
    """The login page, with the configured branding and an optional error message."""
    template = (
        importlib.resources.files("honeypods.web")
        .joinpath("pages")
        .joinpath("index.html")
        .read_text()
    )
    block = f'<div class="error">{html.escape(message)}</div>' if message else ""
    return (
        template.replace("{title}", html.escape(config.title))
        .replace("{product}", html.escape(config.product))
        .replace("{message}", block)
        .encode("utf-8")
    )


def site_files(config: WebConfig) -> dict[str, StaticFile]:
    """Everything under the document root: URI path -> file, as nginx would find it on disk."""
    root = importlib.resources.files("honeypods.web").joinpath("pages")
    files: dict[str, StaticFile] = {}
    index = Path(str(root.joinpath("index.html")))
    files["/index.html"] = StaticFile(render_login(config), "text/html", int(index.stat().st_mtime))
    static = root.joinpath("static")
    for entry in sorted(static.iterdir(), key=lambda e: e.name):
        if not entry.is_file():
            continue
        path = Path(str(entry))
        kind = MIME_TYPES.get(path.suffix, "application/octet-stream")
        files[f"/static/{entry.name}"] = StaticFile(
            entry.read_bytes(), kind, int(path.stat().st_mtime)
        )
    return files


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
    (a directory with an index file included, as ngx_http_index_module maps it)."""
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
