"""Browser tests: Playwright drives Debian's Chromium (headless) against pytest-django's live
server. One browser per session, a fresh context (cookies) per person.

Helpers: ``sign_in(page, username)`` fills the real login form; ``check_a11y(page, name)``
injects the vendored axe-core and fails on any WCAG A/AA violation (labels, landmarks,
contrast, ...); ``shot(page, name)`` writes artifacts/screenshots/<name>.png for reviewers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
AXE_URL = f"{settings.STATIC_URL}vendor/axe-core/axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
PASSWORD = "pw-for-browser-tests"
# Rules that say whether a page can be used without sight or a mouse: labels, landmarks,
# contrast, names, structure (WCAG 2.x A and AA plus axe's landmark/region best practices).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Test code touches the ORM while Playwright's event loop runs in this thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_page(browser, live_server):
    """``open_page()`` → a page in a new browser context (a new person)."""
    contexts = []

    def _open():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1360, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.csp_errors = []
        page.on(
            "console",
            lambda msg: (
                page.csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def catalog(transactional_db):
    call_command("load_catalog", verbosity=0)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def check_a11y(page, name: str = "") -> None:
    """Run axe-core in the page; fail with the rule ids, help text and offending nodes.

    The vendored file is loaded by URL from the portal's static files: ``path=`` would
    inline it, and the CSP (rightly) refuses inline scripts."""
    assert AXE.exists(), "vendor axe-core into static/vendor/axe-core/"
    page.add_script_tag(url=AXE_URL)
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    problems = [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
    ]
    assert not problems, f"{name or page.url}: " + json.dumps(problems, indent=1)
    assert not page.csp_errors, f"{name or page.url}: CSP violations {page.csp_errors}"


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
