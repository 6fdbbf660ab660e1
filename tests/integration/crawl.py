"""An intruder's crawl of the dashboard: the page, what it links, the files scanners try; and
what credentials the text found gives away. Shared by the decoy and the end-to-end tests."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Where scanners look besides what the page links (dirsearch's and nuclei's first guesses).
GUESSES = ("/.env", "/config.json", "/.git/config", "/static/.env")
_DSN = re.compile(r"mysql://([^:@/\s]+):([^@/\s]+)@([^:/\s]+):(\d+)/")
_TOKEN = re.compile(r"""(?:apiToken"?\s*[:=]\s*"|API_TOKEN=)([A-Za-z0-9_]{20,})""")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (tag, name) in (("script", "src"), ("link", "href"), ("img", "src")):
                self.links.append(value)


@dataclass
class Loot:
    fetched: dict[str, int] = field(default_factory=dict)  # path -> status
    mysql: set[tuple[str, str, str, int]] = field(default_factory=set)  # user, password, host, port
    api_tokens: set[str] = field(default_factory=set)
    found_in: dict[str, set[str]] = field(default_factory=dict)  # secret -> paths


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback test URL
            return int(r.status), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def crawl(base: str) -> Loot:
    """Fetch ``/``, everything it links on the same site, and ``GUESSES``; collect secrets."""
    loot = Loot()
    status, page = _get(base + "/")
    loot.fetched["/"] = status
    parser = _Links()
    parser.feed(page)
    paths = [p for p in parser.links if p.startswith("/")] + list(GUESSES)
    for path in dict.fromkeys(paths):
        status, text = _get(base + path)
        loot.fetched[path] = status
        for user, password, host, port in _DSN.findall(text):
            loot.mysql.add((user, password, host, int(port)))
            loot.found_in.setdefault(password, set()).add(path)
        for token in _TOKEN.findall(text):
            loot.api_tokens.add(token)
            loot.found_in.setdefault(token, set()).add(path)
        env = dict(re.findall(r"^([A-Z_]+)=(\S*)$", text, re.M))
        if env.get("DB_USERNAME") and env.get("DB_PASSWORD"):
            port = int(env.get("DB_PORT") or 3306)
            loot.mysql.add((env["DB_USERNAME"], env["DB_PASSWORD"], env.get("DB_HOST", ""), port))
            loot.found_in.setdefault(env["DB_PASSWORD"], set()).add(path)
    return loot
