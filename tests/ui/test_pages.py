"""Every main page passes axe-core (labels, landmarks, contrast...) under the strict CSP and
is written to artifacts/screenshots/; the collection run's progress bar moves on its own; the
checklist works from the keyboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.context import Actor
from collection.models import CollectionRun, RegionRun
from gate.services import gate_check
from notifications.services import webhook_create
from reviews import workflow
from tests.ui.conftest import check_a11y, shot, sign_in
from tests.ui.data import answer_all_but, person, world

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def portfolio(catalog):
    """The world plus a second team, an approved and a draft review, a waiver, a denial."""
    w = world()
    from accounts.choices import Role
    from accounts.models import Team
    from services.models import Service

    lending = Team.objects.create(slug="lending", name="Lending")
    for i, tier in enumerate((2, 3)):
        Service.objects.create(team=lending, slug=f"loan-{i}", name=f"Loan engine {i}", tier=tier)
    person("rita", role=Role.RISK)
    admin = person("root", role=Role.PLATFORM_ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    owner = Actor.for_user(w["owner"])
    review = workflow.review_open(actor=owner, service=w["service"], environment="prod")
    answer_all_but(review, w["owner"])
    workflow.review_submit(actor=owner, review=review)
    for key in ("sre", "security"):
        workflow.signoff_record(actor=Actor.for_user(w[key]), review=review, role=key)
    draft = workflow.review_open(actor=owner, service=w["service"], environment="dev")
    workflow.waiver_request(
        actor=owner,
        service=w["service"],
        control_code=draft.items.select_related("control").first().control.code,
        justification="Vendor fix due next sprint.",
        compensating_controls="Manual weekly check.",
        risk_owner="Head of Payments",
        expires_at=timezone.now() + timedelta(days=20),
    )
    gate_check(
        actor=Actor.system("ci"), service=w["service"], environment="dev", commit_sha="d" * 40
    )
    webhook_create(
        actor=owner,
        name="Team chat",
        url="https://chat.bank.example/hooks/prr",
        events=["review.approved", "gate.denied"],
        team=w["team"],
    )
    return {**w, "review": review, "draft": draft}


PAGES = [
    ("olivia", "/", "home-owner"),
    ("olivia", "/services/", "services"),
    ("olivia", "/services/payments-api/", "service-detail"),
    ("olivia", "/reviews/service/payments-api/", "service-reviews"),
    ("olivia", "REVIEW", "review-approved-owner"),
    ("olivia", "DRAFT", "review-draft"),
    ("olivia", "/notifications/", "notifications"),
    ("olivia", "/notifications/webhooks/", "webhooks"),
    ("olivia", "/search/?q=pay", "search"),
    ("sam", "/reviews/queue/", "review-queue"),
    ("rita", "/reviews/waivers/", "waivers"),
    ("ada", "/dashboard/", "dashboard"),
    ("ada", "/reviews/", "reviews"),
    ("ada", "/catalog/", "catalog"),
    ("ada", "/catalog/controls/PRR-SEC-001/", "control"),
    ("ada", "/audit/", "audit-log"),
    ("ada", "/exports/", "exports"),
    ("ada", "RUN", "collection-run"),
    ("root", "/", "home-admin"),
]


def test_main_pages_pass_axe_and_are_captured(portfolio, open_page):
    pages = {}
    urls = {
        "REVIEW": portfolio["review"].get_absolute_url(),
        "DRAFT": portfolio["draft"].get_absolute_url(),
        "RUN": portfolio["run"].get_absolute_url(),
    }
    for username, url, name in PAGES:
        if username not in pages:
            pages[username] = open_page()
            sign_in(pages[username], username)
        page = pages[username]
        page.goto(urls.get(url, url))
        assert page.locator("main h1").count() == 1, name
        check_a11y(page, name)
        shot(page, name)


def test_dashboard_charts_ship_their_numbers_as_tables(portfolio, open_page):
    page = open_page()
    sign_in(page, "ada")
    page.goto("/dashboard/")
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() >= 4
    page.get_by_text("Numbers by team").click()
    table = page.get_by_role("table", name="Readiness by team")
    assert "Payments" in table.inner_text() and "Lending" in table.inner_text()
    heat = page.get_by_role("table", name="Compliance of each service with each framework")
    assert "Payments API" in heat.inner_text() and "%" in heat.inner_text()


def test_collection_progress_bar_moves_without_reload(portfolio, open_page):
    target = portfolio["target"]
    run = CollectionRun.objects.create(
        service=target.service,
        aws_target=target,
        status="running",
        account_id=target.account_id,
        role_arn=target.role_arn,
        regions=["eu-west-1", "us-east-1"],
        functions_discovered=10,
        started_at=timezone.now(),
    )
    RegionRun.objects.create(run=run, region="eu-west-1", status="running", functions_discovered=10)
    RegionRun.objects.create(
        run=run,
        region="us-east-1",
        status="failed",
        error_code="AccessDenied",
        error_message="The collector role may not call lambda:ListFunctions in us-east-1: "
        "add it to the role's policy.",
    )
    page = open_page()
    sign_in(page, "olivia")
    page.goto(run.get_absolute_url())
    bar = page.locator("#bar-collected")
    assert bar.get_attribute("value") == "0"
    marker = page.evaluate("() => (window.__marker = Math.random())")
    CollectionRun.objects.filter(pk=run.pk).update(functions_collected=6, functions_evaluated=3)
    page.wait_for_function("() => document.getElementById('bar-collected').value === 6")
    assert page.locator("#bar-evaluated").get_attribute("value") is not None
    assert page.evaluate("() => window.__marker") == marker  # same page: no reload happened
    assert "may not call lambda:ListFunctions" in page.locator("#region-rows").inner_text()
    shot(page, "collection-run-live")
    check_a11y(page, "collection run while running")


def test_checklist_works_by_keyboard(portfolio, open_page):
    draft = portfolio["draft"]
    item = draft.items.filter(mandatory=True).select_related("control").first()
    code = item.control.code
    page = open_page()
    sign_in(page, "olivia")
    page.goto(draft.get_absolute_url())
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.get_by_role("link", name=f"Edit {code}").focus()
    page.keyboard.press("Enter")
    page.locator(f"#item-{item.pk} .editor-title").wait_for()
    page.wait_for_function("() => document.activeElement.classList.contains('editor-title')")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == f"outcome-{item.pk}"
    page.keyboard.press("End")  # the last outcome: not applicable... then up to Fail
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    page.keyboard.type("Known gap, fix planned")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.locator(f"#item-{item.pk} .message.success").wait_for()
    page.wait_for_function("() => document.activeElement.getAttribute('role') === 'status'")
    item.refresh_from_db()
    assert (item.outcome, item.reason) == ("fail", "Known gap, fix planned")
