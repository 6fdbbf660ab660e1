"""A honeypot detector for web services, built from the rules public detectors publish.

It sees only what any client sees: the answers to a fixed set of HTTP probes on the plain port,
and the certificate (and the refusals) of the HTTPS port. Each rule is a small named function
over one ``Observation``; ``score`` adds the points of the rules that fire. The rules are
re-expressed from these detectors (none of their code is used):

- honeydet (github.com/referefref/honeydet, signatures.yaml; named in thinkst/opencanary#340):
  fixed byte strings in answers to fixed requests (snare's "Bad status line" to ``HTTP/1337``,
  Glastopf's and the phpMyAdmin honeypots' static templates, hard-coded banners).
- potsnitch (github.com/f0rw4rd/potsnitch, detectors/http.py and framework.py): missing or
  "python"/"twisted"/"honeypot" Server header, the same body for every path, 200 for bait paths,
  minimal 404 pages, passwd-like answers to path traversal, silent ports, known certificate names.
- nuclei's honeypot-detect templates (honeypot,detect tags): body strings of known honeypots'
  default pages (Glastopf, Amun, HFish).
- Shodan's Honeyscore: its public description names known honeypot banners and "too perfect"
  answers; it keeps scan history, hence the rule on a certificate that changes between scans.

Where a rule is this project's own (a protocol-conformance check), its comment says so. Weights:
5 for a string that names a honeypot outright, 3 for a framework or honeypot tell, 2 for a
behaviour real servers rarely show, 1 for what stock servers show too.
"""

from __future__ import annotations

import re
import secrets
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import NameOID

READ_CAP = 1 << 18  # a probe reads at most 256 KiB: enough for any page a decoy serves
TIMEOUT = 10.0  # seconds per probe; a slow machine is not a detection


@dataclass(frozen=True)
class Target:
    """What the detector scans: an address, its plain port and optionally its HTTPS port."""

    host: str
    port: int
    tls_port: int | None = None
    # The name a scanner that read DNS would send as SNI (None: it sends the IP, as Shodan does).
    server_name: str | None = None


@dataclass(frozen=True)
class Response:
    raw: bytes
    status: int | None  # None: no status line (silence, reset or not HTTP)
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)


@dataclass
class Observation:
    responses: dict[str, Response]
    cert_der: bytes | None = None
    cert: x509.Certificate | None = None
    unknown_sni_refused: bool | None = None  # None: no HTTPS port scanned
    notes: list[str] = field(default_factory=list)


def _probes(host: str) -> dict[str, bytes]:
    def get(path: str, method: str = "GET") -> bytes:
        return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()

    return {
        "root": get("/"),
        "random": get("/" + secrets.token_hex(6)),
        "robots": get("/robots.txt"),
        "env": get("/.env"),
        "admin": get("/admin"),
        # potsnitch's bait paths, beside /.env and /admin above.
        "git": get("/.git/config"),
        "wp-login": get("/wp-login.php"),
        "phpmyadmin": get("/phpmyadmin/"),
        "config-php": get("/config.php"),
        "backup-sql": get("/backup.sql"),
        "traversal": get("/../../../etc/passwd"),
        "head": get("/", "HEAD"),
        # honeydet's snare probe: an impossible version with a bare LF.
        "bad-version": b"GET / HTTP/1337\nHost: nuggets\n\n",
        "malformed": b"\x01\x02GARBAGE \xff\r\n\r\n",
        "options-star": b"OPTIONS * HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n",
        "http10-no-host": b"GET / HTTP/1.0\r\n\r\n",
    }


def _exchange(host: str, port: int, data: bytes) -> bytes:
    out = b""
    try:
        with socket.create_connection((host, port), TIMEOUT) as sock:
            sock.sendall(data)
            while len(out) < READ_CAP and (chunk := sock.recv(65536)):
                out += chunk
    except (ConnectionResetError, TimeoutError):
        pass  # what came before the reset or the timeout is the answer
    return out


def parse(raw: bytes) -> Response:
    """One HTTP/1.x response (the first, if the server sent more)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    match = re.match(rb"HTTP/\d\.\d (\d{3})", lines[0])
    if not match:
        return Response(raw, None, (), b"")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")))
    length = next((v for k, v in headers if k == "content-length"), None)
    if length is not None and length.isdigit():
        body = body[: int(length)]
    return Response(raw, int(match.group(1)), tuple(headers), body)


def _tls(target: Target, server_name: str | None) -> bytes | None:
    """The leaf certificate (DER) served for ``server_name``; raises ssl.SSLError on refusal."""
    assert target.tls_port is not None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((target.host, target.tls_port), TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        return tls.getpeercert(binary_form=True)


def observe(target: Target) -> Observation:
    """Send every probe and, with an HTTPS port, fetch its certificate."""
    obs = Observation(
        {name: parse(_exchange(target.host, target.port, data))
         for name, data in _probes(f"{target.host}:{target.port}").items()}
    )  # fmt: skip
    if target.tls_port:
        obs.cert_der = _tls(target, target.server_name)
        if obs.cert_der:
            obs.cert = x509.load_der_x509_certificate(obs.cert_der)
        try:
            _tls(target, "unknown-" + secrets.token_hex(4) + ".invalid")
            obs.unknown_sni_refused = False
        except ssl.SSLError as exc:
            obs.unknown_sni_refused = True
            obs.notes.append(f"unknown SNI: {exc.reason}")
    return obs


# --- rules -----------------------------------------------------------------------------------

Rule = Callable[[Observation, "Observation | None"], bool]
RULES: list[tuple[str, int, Rule]] = []


def rule(name: str, points: int) -> Callable[[Rule], Rule]:
    def add(fn: Rule) -> Rule:
        RULES.append((name, points, fn))
        return fn

    return add


def _answered(obs: Observation) -> list[Response]:
    return [r for r in obs.responses.values() if r.status is not None]


def _text(r: Response) -> str:
    return (r.raw[:READ_CAP]).decode("latin-1").lower()


# Names that are a framework, not a web server: potsnitch flags "python" and "twisted" in
# Server; aiohttp's default is "Python/3.x aiohttp/3.x" (the project's STYLE.md §6).
FRAMEWORKS = ("python", "aiohttp", "twisted", "werkzeug", "gunicorn", "uvicorn", "tornado",
              "express", "node.js", "go-http", "hypercorn")  # fmt: skip
# Strings that name a honeypot or come from one's default content: honeydet's signatures
# (snare, Glastopf, express-honeypot, phpMyAdmin honeypots, oh-my-honeypot, Confluence),
# potsnitch (Glastopf's Gutenberg text, dionaea's certificate) and nuclei's honeypot-detect
# (Glastopf, Amun, HFish).
HONEYPOT_MARKERS = ("honeypot", "honeyd", "glastopf", "dionaea", "snare", "tanner", "opencanary",
                    "cowrie", "<h2>blog comments</h2>", "please post your comments for the blog",
                    "project gutenberg", "canon powershot a710", "phpmyadmin login attempt on",
                    "0x42-0839475", "php/4.1.0", "jsessionid=145df9c4cde560b2699212",
                    "tim.bohn@gmx.net", "w-logo-blue.png?ver=20131202")  # fmt: skip
# Default error bodies of Python frameworks: honeydet's snare signature is aiohttp's parser
# message; the others are aiohttp's and Werkzeug's stock pages.
FRAMEWORK_ERRORS = ("bad status line", "400: bad request", "404: not found",
                    "405: method not allowed", "500 internal server error\n\nserver got itself",
                    "traceback (most recent call last)", "werkzeug", "invalid http method")  # fmt: skip
# Certificate names nobody issues on purpose: OpenSSL's and Debian's defaults, potsnitch's
# (from honeyscanner) "dionaea.carnivore.it", and the word itself.
PLACEHOLDER_NAMES = ("localhost", "snakeoil", "honeypot", "example", "internet widgits",
                     "some-state", "default company", "dionaea", "test", "changeme")  # fmt: skip


@rule("server_header_missing", 1)  # potsnitch http.py missing_server_header
def _server_missing(obs: Observation, _: Observation | None) -> bool:
    root = obs.responses["root"]
    return root.status is not None and not root.header("server")


@rule("server_header_framework", 3)  # potsnitch http.py suspicious_server_header
def _server_framework(obs: Observation, _: Observation | None) -> bool:
    return any(
        any(w in (r.header("server") or "").lower() for w in (*FRAMEWORKS, "honeypot"))
        for r in _answered(obs)
    )


@rule("framework_header_leak", 3)  # potsnitch http.py: X-Powered-By analysis
def _framework_header(obs: Observation, _: Observation | None) -> bool:
    names = ("x-powered-by", "via", "x-aspnet-version", "x-runtime")
    return any(
        any(w in (r.header(n) or "").lower() for w in FRAMEWORKS)
        for r in _answered(obs)
        for n in names
    )


@rule("framework_error_page", 3)  # honeydet "snare" (Bad status line), aiohttp's stock pages
def _framework_error(obs: Observation, _: Observation | None) -> bool:
    return any(m in _text(r) for r in obs.responses.values() for m in FRAMEWORK_ERRORS)


@rule("honeypot_marker", 5)  # honeydet signatures, potsnitch, nuclei honeypot-detect
def _marker(obs: Observation, _: Observation | None) -> bool:
    return any(m in _text(r) for r in obs.responses.values() for m in HONEYPOT_MARKERS)


@rule("static_login_form_on_root", 2)
def _login_form(obs: Observation, _: Observation | None) -> bool:
    # honeydet's Glastopf and phpMyAdmin-honeypot signatures, nuclei's honeypot-detect: a static
    # form in the served HTML is what a template match finds; issue #14 names the root page.
    body = obs.responses["root"].body.decode("latin-1").lower()
    return "<form" in body and re.search(r"type\s*=\s*[\"']?password", body) is not None


@rule("same_body_for_different_paths", 2)  # potsnitch http.py same_response_all_paths
def _same_body(obs: Observation, _: Observation | None) -> bool:
    root, other = obs.responses["root"], obs.responses["random"]
    return other.status == 200 and other.body == root.body


@rule("random_path_not_404", 1)  # potsnitch http.py: "many honeypots return 200 for all paths"
def _random_ok(obs: Observation, _: Observation | None) -> bool:
    return obs.responses["random"].status not in (404, None)


@rule("bait_paths_served", 2)  # potsnitch http.py vuln_paths_accessible (3 or more)
def _bait(obs: Observation, _: Observation | None) -> bool:
    bait = ("env", "admin", "git", "wp-login", "phpmyadmin", "config-php", "backup-sql")
    return sum(obs.responses[b].status == 200 for b in bait) >= 3


@rule("minimal_404", 1)  # potsnitch http.py minimal_404 (body under 50 bytes)
def _minimal_404(obs: Observation, _: Observation | None) -> bool:
    r = obs.responses["random"]
    return r.status == 404 and len(r.body) < 50


@rule("passwd_on_traversal", 5)  # potsnitch http.py path_traversal_response
def _traversal(obs: Observation, _: Observation | None) -> bool:
    r = obs.responses["traversal"]
    return r.status == 200 and (b"root:" in r.body or b"/bin/sh" in r.body)


@rule("silent_on_probe", 2)  # potsnitch framework.py artillery_silent_ports, per probe
def _silent(obs: Observation, _: Observation | None) -> bool:
    return any(not r.raw for r in obs.responses.values())


@rule("malformed_request_accepted", 2)  # honeydet "snare" idea: a bad version gets an answer
def _malformed_ok(obs: Observation, _: Observation | None) -> bool:
    return any((obs.responses[p].status or 0) // 100 == 2 for p in ("bad-version", "malformed"))


@rule("head_with_body", 2)  # own check: RFC 9110 §9.3.2, HEAD answers carry no content
def _head_body(obs: Observation, _: Observation | None) -> bool:
    r = obs.responses["head"]
    return r.status is not None and r.raw.partition(b"\r\n\r\n")[2] != b""


@rule("http10_without_host_refused", 1)  # own check: RFC 9112 §3.2 needs Host only in 1.1
def _http10(obs: Observation, _: Observation | None) -> bool:
    return obs.responses["http10-no-host"].status == 400


@rule("server_header_inconsistent", 2)  # own check: errors made by another layer than pages
def _inconsistent(obs: Observation, _: Observation | None) -> bool:
    return len({r.header("server") for r in _answered(obs)}) > 1


@rule("cert_self_signed", 1)  # the issue #14 check; stock snakeoil certificates fire it too
def _self_signed(obs: Observation, _: Observation | None) -> bool:
    return obs.cert is not None and obs.cert.subject == obs.cert.issuer


@rule("cert_lifetime_10_years", 1)  # the issue #14 check: generated certificates live long
def _long_cert(obs: Observation, _: Observation | None) -> bool:
    c = obs.cert
    return c is not None and (c.not_valid_after_utc - c.not_valid_before_utc).days >= 3650


@rule("cert_placeholder_names", 3)  # potsnitch KNOWN_CERT_SIGNATURES (from honeyscanner)
def _placeholder(obs: Observation, _: Observation | None) -> bool:
    if obs.cert is None:
        return False
    values = [
        str(a.value).lower()
        for name in (obs.cert.subject, obs.cert.issuer)
        for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME)
        for a in name.get_attributes_for_oid(oid)
    ]
    return any(re.search(rf"\b{re.escape(p)}\b", v) for v in values for p in PLACEHOLDER_NAMES)


@rule("cert_changed_between_scans", 3)  # Shodan's scan history: a new certificate each start
def _changed(obs: Observation, earlier: Observation | None) -> bool:
    return earlier is not None and earlier.cert_der != obs.cert_der


def evaluate(obs: Observation, earlier: Observation | None = None) -> tuple[int, list[str]]:
    """Points and names of the rules that fire on ``obs`` (``earlier``: a previous scan)."""
    fired = [(name, points) for name, points, fn in RULES if fn(obs, earlier)]
    return sum(p for _, p in fired), [name for name, _ in fired]


def score(target: Target, earlier: Observation | None = None) -> tuple[int, list[str]]:
    """Scan ``target`` once and score it; lower is less like a honeypot."""
    return evaluate(observe(target), earlier)
