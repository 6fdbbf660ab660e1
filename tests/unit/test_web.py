"""Site content and persona details of the web decoy, without sockets."""

from __future__ import annotations

import base64
import hashlib
import json
import tomllib
from pathlib import Path

import pytest
from cryptography import x509

from honeypods.web.config import WebConfig
from honeypods.web.http import parse_ranges
from honeypods.web.https import generate_certificate
from honeypods.web.login import Throttle, body_kind, credentials, parse_body
from honeypods.web.site import (
    LOGIN_PATH,
    SHELL_ROUTES,
    Build,
    canned_table,
    content_hash,
    is_shell_route,
    site_dirs,
    site_files,
)


def _shell(config: WebConfig, build: Build | None = None) -> str:
    return site_files(config, build or Build())["/index.html"].body.decode()


def test_shell_is_an_application_not_a_login_form() -> None:
    text = _shell(WebConfig())
    assert "<form" not in text
    assert "password" not in text.lower()
    assert '<div id="root"></div>' in text
    assert '<script type="module" crossorigin src="/assets/index-' in text


def test_branding_is_escaped_into_the_shell() -> None:
    config = WebConfig(title="Ops <Console>", product="A&B </script>")
    text = _shell(config)
    assert "<title>Ops &lt;Console&gt;</title>" in text
    blob = text.split('<script id="app-config" type="application/json">')[1].split("</script>")[0]
    assert "<" not in blob
    assert "&" not in blob
    settings = json.loads(blob)
    assert settings["product"] == "A&B </script>"
    assert settings["api"] == {"login": LOGIN_PATH}
    manifest = json.loads(site_files(config)["/manifest.json"].body)
    assert manifest["name"] == "A&B </script>"


def test_asset_names_hold_the_hash_of_what_is_served() -> None:
    files = site_files(WebConfig())
    assets = sorted(
        (name for name in files if name.startswith("/assets/")), key=lambda n: n.rsplit(".")[-1]
    )
    assert [name.rsplit(".", 1)[1] for name in assets] == ["css", "js"]
    shell = files["/index.html"].body.decode()
    for name in assets:
        body = files[name].body
        digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest())[:8].decode()
        assert name == f"/assets/index-{digest}.{name.rsplit('.', 1)[1]}"
        assert content_hash(body) == digest
        assert f'"{name}"' in shell
    assert files[assets[1]].content_type == "application/javascript"
    assert files[assets[0]].content_type == "text/css"


def test_another_build_gets_other_asset_names() -> None:
    one = site_files(WebConfig(), Build(commit="1111111"))
    two = site_files(WebConfig(), Build(commit="2222222"))
    js_one = next(n for n in one if n.endswith(".js"))
    js_two = next(n for n in two if n.endswith(".js"))
    assert js_one != js_two
    assert b'"2222222"' in two[js_two].body
    assert _shell(WebConfig(), Build(commit="2222222")).count(js_two) == 1


def test_site_files_look_like_a_document_root() -> None:
    files = site_files(WebConfig())
    plain = {name for name in files if not name.startswith("/assets/")}
    assert plain == {
        "/index.html",
        "/favicon.ico",
        "/favicon.svg",
        "/manifest.json",
        "/robots.txt",
    }
    icon = files["/favicon.ico"]
    assert icon.content_type == "image/x-icon"
    assert icon.body[:4] == b"\x00\x00\x01\x00"  # an ICO directory
    assert icon.etag == f'"{icon.mtime:x}-{len(icon.body):x}"'
    assert icon.last_modified.endswith(" GMT")
    assert files["/manifest.json"].content_type == "application/json"
    assert site_dirs(files) == {"/", "/assets/"}


def test_client_side_routes_get_the_shell() -> None:
    assert all(is_shell_route(f"/{route}") for route in SHELL_ROUTES)
    assert is_shell_route("/clusters/prod/workloads")
    assert is_shell_route("/login/")
    for path in ("/", "/login.php", "/Login", "/loginx/", "/index.html", "/assets/x.js", "/api/"):
        assert not is_shell_route(path), path
    files = site_files(WebConfig())
    table = canned_table(files, "1.22.1")
    assert table["/index.html"] is table["/"]
    assert LOGIN_PATH not in table


@pytest.mark.parametrize(
    ("content_type", "body", "fields"),
    [
        ("application/json", b'{"username":"a","password":"b"}', ("a", "b")),
        ("application/json; charset=utf-8", b'{"user":"a","pass":"b"}', ("a", "b")),
        ("", b' {"email":"a@b","password":12}', ("a@b", "12")),
        ("application/x-www-form-urlencoded", b"username=r%C3%B6t&password=x%26y", ("röt", "x&y")),
        ("text/plain", b"login=a&passwd=b", None),
        ("application/json", b"[1, 2]", None),
        ("application/json", b"[" * 100_000, None),
        ("application/json", b'{"username": {"$ne": null}}', ('{"$ne": null}', "")),
        ("application/x-www-form-urlencoded", b"&" * 5000 + b"a=b" * 200, None),
    ],
)
def test_sign_in_bodies(content_type: str, body: bytes, fields: tuple[str, str] | None) -> None:
    parsed = parse_body(body_kind(content_type, body), body)
    assert (None if parsed is None else credentials(parsed)) == fields


def test_throttle_refuses_an_address_after_its_attempts_within_the_window() -> None:
    throttle = Throttle(attempts=3, window=60, capacity=10)
    for i in range(3):
        assert throttle.retry_after("10.0.0.1", 100 + i) == 0
        throttle.failed("10.0.0.1", 100 + i)
    assert throttle.retry_after("10.0.0.1", 102.5) == 58  # ceil(160 - 102.5)
    assert throttle.retry_after("10.0.0.1", 159.9) == 1
    assert throttle.retry_after("10.0.0.2", 110) == 0  # per address
    # The window runs from the first failure: then the count starts over.
    assert throttle.retry_after("10.0.0.1", 160) == 0
    throttle.failed("10.0.0.1", 160)
    assert throttle.retry_after("10.0.0.1", 161) == 0


def test_throttle_memory_is_bounded() -> None:
    throttle = Throttle(attempts=2, window=60, capacity=100)
    throttle.failed("victim", 0)
    throttle.failed("victim", 0)
    for i in range(10_000):
        throttle.failed(f"10.{i >> 8}.{i & 255}.1", 1)
        assert len(throttle) <= 100
    # The flood pushed out the oldest entries only.
    assert throttle.retry_after("victim", 2) == 0
    assert throttle.retry_after("10.39.15.1", 2) == 0
    throttle.failed("10.39.15.1", 2)
    assert throttle.retry_after("10.39.15.1", 3) == 58


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0-9", [(0, 10)]),
        ("5-", [(5, 100)]),
        ("-10", [(90, 100)]),
        ("-1000", [(0, 100)]),
        (" 1 - 2", [(1, 3)]),
        ("50-500", [(50, 100)]),
        ("100-", []),
        ("abc", []),
        ("5-2", []),
        ("0-0,5-", [(0, 1), (5, 100)]),
        ("0-99,0-99", None),
    ],
)
def test_range_parsing_follows_nginx(spec: str, expected: list[tuple[int, int]] | None) -> None:
    assert parse_ranges(spec, 100) == expected


def test_generated_certificate_names() -> None:
    cert_pem, key_pem = generate_certificate("ops.internal", ("ops.internal", "10.0.0.7"))
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.subject.rfc4514_string() == "CN=ops.internal"
    assert cert.issuer == cert.subject
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["ops.internal"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    assert b"PRIVATE KEY" in key_pem
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]


def test_every_file_of_the_site_ships_in_the_package() -> None:
    # The image installs a wheel: a page that package-data misses is a 404 there only.
    root = Path(__file__).parents[2]
    with (root / "pyproject.toml").open("rb") as f:
        globs = tomllib.load(f)["tool"]["setuptools"]["package-data"]["honeypods.web"]
    pages = root / "src" / "honeypods" / "web"
    shipped = {p for g in globs for p in pages.glob(g) if p.is_file()}
    present = {p for p in (pages / "pages").rglob("*") if p.is_file()}
    assert present == shipped
