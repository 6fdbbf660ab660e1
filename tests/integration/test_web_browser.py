"""The web decoy's dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

The shell, its bundles and the login API are only worth something if a browser renders them as
a person would see them: this runs the decoy's own JavaScript, types a login as an attacker
would, and checks that the decoy logged it. ``HONEYPODS_SCREENSHOT=docs/dashboard.png`` keeps the
picture of the login screen the README shows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import IN_CI, Captured, free_port

from honeypods.core.guard import Limits
from honeypods.web import server as web
from honeypods.web.config import WebConfig
from honeypods.web.site import LOGIN_PATH

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
# Nothing but the page under test: no updates, no sync, no QUIC probing, no first-run dialogs.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser() -> None:
    message = ""
    if shutil.which(CHROMIUM) is None:
        message = "chromium is not installed (make deps installs it)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            message = "playwright is not installed (the test extra installs it)"
    if message:
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()


@pytest.fixture
async def decoy(captured: Captured) -> AsyncIterator[WebConfig]:
    config = WebConfig(
        port=free_port(), tls_port=0, login_delay=0.05, product="Acme Ops", title="Acme Ops Console"
    )
    running = await web.start(config, limits=Limits(), host="127.0.0.1")
    try:
        yield config
    finally:
        await running.stop()


async def test_login_screen_renders_and_a_typed_login_is_logged(
    decoy: WebConfig, page: Any, captured: Captured
) -> None:
    responses: list[tuple[str, int]] = []
    errors: list[str] = []
    page.on("response", lambda r: responses.append((r.url, r.status)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = f"http://127.0.0.1:{decoy.port}"

    # A deep link: nginx answers it with the shell, the client sends it to sign in first.
    await page.goto(base + "/clusters/prod-eu-1/workloads", wait_until="networkidle")
    await page.wait_for_selector("#login-username")
    assert page.url == base + "/login?redirect=%2Fclusters%2Fprod-eu-1%2Fworkloads"
    assert await page.title() == decoy.title
    assert await page.text_content("h1") == "Sign in"
    assert "Acme Ops" in (await page.text_content(".brand") or "")
    # The bundles really styled the page (the card is the stylesheet's, not the browser's).
    radius = await page.eval_on_selector(".auth-card", "e => getComputedStyle(e).borderRadius")
    assert radius == "14px"
    screenshot = await page.screenshot()
    target = os.environ.get("HONEYPODS_SCREENSHOT")
    if target:
        Path(target).write_bytes(screenshot)

    await page.fill("#login-username", "alice@corp.example")
    await page.fill("#login-password", "Winter2024!")
    await page.click("button[type=submit]")
    alert = await page.wait_for_selector("[role=alert]:not([hidden])")
    assert await alert.text_content() == "Invalid username or password"

    fetched = {url.removeprefix(base): status for url, status in responses}
    assert fetched[LOGIN_PATH] == 401
    assert fetched["/clusters/prod-eu-1/workloads"] == 200
    assets = [path for path in fetched if path.startswith("/assets/")]
    assert len(assets) == 2
    assert all(fetched[path] == 200 for path in assets)
    # The browser's console stays clean: the only error is its note on the 401 itself.
    assert [e for e in errors if "401" not in e] == []

    (login,) = captured.of("web.login")
    assert login["user.name"] == "alice@corp.example"
    assert login["web.password"] == "Winter2024!"
    assert login["web.auth_method"] == "form"
    assert login["url.path"] == LOGIN_PATH
    (post,) = [e for e in captured.of("web.request") if e["http.request.method"] == "POST"]
    assert post["http.response.status_code"] == 401
    headers = {k.lower(): v for k, v in post["http.request.headers"]}
    assert headers["content-type"] == "application/json"
    assert "Chrome/" in headers["user-agent"]


async def test_browser_shows_the_throttle_after_repeated_failures(
    decoy: WebConfig, page: Any, captured: Captured
) -> None:
    await page.goto(f"http://127.0.0.1:{decoy.port}/login", wait_until="networkidle")
    texts = []
    for attempt in range(6):
        await page.fill("#login-username", "admin")
        await page.fill("#login-password", f"guess-{attempt}")
        async with page.expect_response(lambda r: r.url.endswith(LOGIN_PATH)) as answer:
            await page.click("button[type=submit]")
        await (await answer.value).finished()
        await page.wait_for_selector("button[type=submit]:not([disabled])")
        texts.append(await page.text_content("[role=alert]"))
    assert texts[:5] == ["Invalid username or password"] * 5
    assert texts[5] == (
        "Too many failed login attempts. Please try again later. Try again in 5 minutes."
    )
    logins = captured.of("web.login")
    assert [e["web.password"] for e in logins] == [f"guess-{i}" for i in range(6)]
