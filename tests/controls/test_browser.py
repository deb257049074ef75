"""Runbook diagrams render in a real browser under the portal's strict CSP."""

import shutil

import pytest

from accounts.models import User
from audit.context import Actor
from controls.services import catalog_load

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def viewer_session(transactional_db, client):
    """Loaded catalog and a signed-in session; set up before Playwright starts its loop."""
    catalog_load(actor=Actor.system("test"))
    client.force_login(User.objects.create_user("viewer", password="pw-viewer-123"))
    return client.cookies["sessionid"].value


@pytest.fixture
def browser_page(viewer_session, live_server):
    if not CHROMIUM:
        pytest.skip("no Chromium on this machine")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.context.add_cookies(
            [{"name": "sessionid", "value": viewer_session, "url": live_server.url}]
        )
        yield page
        browser.close()


@pytest.mark.parametrize("slug", ["lambda-5xx-spike", "canary-rollout"])
def test_runbook_diagram_renders_as_an_image(live_server, browser_page, slug):
    browser_page.goto(f"{live_server.url}/catalog/runbooks/{slug}/")
    image = browser_page.wait_for_selector(".mermaid-target img", timeout=30000)

    assert image.get_attribute("src").startswith("data:image/svg+xml")
    assert image.get_attribute("alt").endswith("flow diagram")
    assert image.bounding_box()["height"] > 100
