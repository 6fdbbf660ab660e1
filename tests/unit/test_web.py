"""Site content and persona details of the web decoy, without sockets."""

from __future__ import annotations

import pytest
from cryptography import x509

from honeypods.web.config import WebConfig
from honeypods.web.http import parse_ranges
from honeypods.web.https import generate_certificate
from honeypods.web.site import render_login, site_dirs, site_files


def test_branding_is_escaped_into_the_login_page() -> None:
    page = render_login(WebConfig(title="Ops <Console>", product="A&B"), "Bad <login>")
    text = page.decode()
    assert "<title>Ops &lt;Console&gt;</title>" in text
    assert "<span>A&amp;B</span>" in text
    assert '<div class="error">Bad &lt;login&gt;</div>' in text
    assert "{" not in text.split("<style")[0].split("<body>")[1]


def test_site_files_look_like_a_document_root() -> None:
    files = site_files(WebConfig())
    assert set(files) == {
        "/index.html",
        "/static/app.css",
        "/static/app.js",
        "/static/logo.svg",
    }
    css = files["/static/app.css"]
    assert css.content_type == "text/css"
    assert css.etag == f'"{css.mtime:x}-{len(css.body):x}"'
    assert css.last_modified.endswith(" GMT")
    assert site_dirs(files) == {"/", "/static/"}


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
