"""Home pages, the portfolio dashboard, search and navigation, as each role sees them."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboards import portfolio, readiness, views
from services.selectors import service_list_for
from tests.dashboards.conftest import build_portfolio
from tests.factories import (
    EvidenceFactory,
    ReviewFactory,
    ReviewItemFactory,
    ServiceFactory,
    TeamFactory,
    WaiverFactory,
)


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx), response


# --- constant queries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "who,url_name",
    [("auditor", "dashboards:portfolio"), ("auditor", "home"), ("owner_of_all", "home")],
)
def test_dashboards_load_in_the_same_number_of_queries_at_5_and_50_services(
    who, url_name, request, catalog, client_for, django_assert_max_num_queries
):
    user = request.getfixturevalue(who)
    client = client_for(user)
    url = reverse(url_name)
    build_portfolio(catalog, 5)
    cache.clear()
    small, response = count_queries(client, url)
    assert response.context["service_count"]
    build_portfolio(catalog, 45, start=5)
    cache.clear()
    with django_assert_max_num_queries(small):
        large, response = count_queries(client, url)
    assert large == small
    if url_name == "dashboards:portfolio":
        assert response.context["service_count"] == 50


def test_dashboard_reuses_its_summary_and_works_on_one_page_of_services(
    catalog, auditor, client_for, monkeypatch
):
    """Once the summary is cached, a page load reads reviews for the 25 heatmap rows only:
    going back to per-service work over the whole portfolio would fail here."""
    build_portfolio(catalog, 50)
    client = client_for(auditor)
    url = reverse("dashboards:portfolio")
    cold, _ = count_queries(client, url)
    seen = []
    real = readiness.env_statuses
    monkeypatch.setattr(
        readiness,
        "env_statuses",
        lambda services, *a: seen.append(len(services)) or real(services, *a),
    )
    warm, response = count_queries(client, url)
    assert warm < cold
    assert seen == [25]
    rows = list(response.context["page"])
    assert [r.service.slug for r in rows][:2] == ["svc-0", "svc-12"]  # Team 0 first, by name
    assert len(rows) == 25 and rows[0].cells[1].percent == 67
    body = response.content.decode()
    assert "Page 1 of 2 (50 in all)" in body
    assert "Figures as of" in body and "recalculated every 5 minutes" in body
    second = client.get(url, {"page": 2}).context["page"]
    assert len(list(second)) == 25


def test_team_chart_shows_the_worst_teams_first_and_links_to_every_team(
    catalog, auditor, client_for, monkeypatch
):
    monkeypatch.setattr(views, "TEAM_CHART_LIMIT", 2)
    build_portfolio(catalog, 6)  # teams 0, 1, 2: two services each, approved in some envs
    ready = ServiceFactory(team=TeamFactory(slug="team-ok", name="A ready team"), slug="ok")
    ready.environments = ["prod"]
    ready.save()
    ReviewFactory(service=ready, environment="prod", catalog_version=catalog)
    client = client_for(auditor)
    response = client.get(reverse("dashboards:portfolio"), {"tier": "", "page": "1"})
    assert [r.label for r in response.context["team_chart"].rows] == ["Team 0", "Team 1"]
    body = response.content.decode()
    assert "The 2 of 4 teams with the most services not yet approved" in body
    assert '<th scope="row">Team 1</th>' in body and '<th scope="row">Team 2</th>' not in body
    assert '<a href="?tier=&amp;teams=all#by-team-h">Show all 4 teams</a>' in body
    response = client.get(reverse("dashboards:portfolio"), {"teams": "all"})
    assert [r.label for r in response.context["team_chart"].rows] == [
        "A ready team",
        "Team 0",
        "Team 1",
        "Team 2",
    ]
    assert '<th scope="row">Team 2</th>' in response.content.decode()
    assert "Show all" not in response.content.decode()


def test_reviewer_home_queries_do_not_grow_with_the_queue(catalog, sre, client_for):
    build_portfolio(catalog, 5)
    for review in portfolio.Review.objects.filter(status="draft"):
        review.status, review.submitted_at = "submitted", timezone.now()
        review.save()
    small, _ = count_queries(client_for(sre), reverse("home"))
    build_portfolio(catalog, 45, start=5)
    for review in portfolio.Review.objects.filter(status="draft"):
        review.status, review.submitted_at = "submitted", timezone.now()
        review.save()
    large, response = count_queries(client_for(sre), reverse("home"))
    assert large == small
    assert response.context["reviewer"]["total"] == 50


# --- the portfolio dashboard ----------------------------------------------------------------


def test_portfolio_shows_readiness_heatmap_trend_and_failing_controls(catalog, auditor, client_for):
    build_portfolio(catalog, 4)
    response = client_for(auditor).get(reverse("dashboards:portfolio"))
    body = response.content.decode()
    data = response.context
    # Every service: prod approved, staging draft, dev none → approved in some environments.
    assert {row["label"]: dict(row["counts"])["partial"] for row in data["by_tier"]} == {
        "Tier 1": 1,
        "Tier 2": 1,
        "Tier 3": 1,
        "Tier 4": 1,
    }
    # PCI maps two passing items (100%); SOC 2 maps three, one failing (67%).
    cells = {fw.code: cell.percent for fw, cell in data["framework_totals"]}
    assert cells == {"PCI": 100, "SOC2": 67}
    assert list(data["page"])[0].cells[1].percent == 67
    assert data["failing"][0]["code"] == "PRR-OBS-001"
    assert data["failing"][0]["checklist"] == 4
    assert "<svg" in body and "Readiness by team" in body
    assert '<table class="heatmap">' in body and "67%" in body
    assert 'style="' not in body  # the CSP allows no inline styles


def test_portfolio_filters_by_team_and_tier(catalog, auditor, client_for):
    build_portfolio(catalog, 6)
    response = client_for(auditor).get(reverse("dashboards:portfolio"), {"tier": "1"})
    assert [r.service.slug for r in response.context["page"]] == ["svc-0", "svc-4"]
    assert [r["label"] for r in response.context["by_tier"]] == ["Tier 1"]
    response = client_for(auditor).get(reverse("dashboards:portfolio"), {"team": "team-1"})
    assert {r.service.slug for r in response.context["page"]} == {"svc-1", "svc-4"}
    assert response.context["service_count"] == 2


def test_owner_dashboard_covers_only_their_services(catalog, owner, client_for, service):
    build_portfolio(catalog, 3)
    response = client_for(owner).get(reverse("dashboards:portfolio"))
    assert [r.service.slug for r in response.context["page"]] == ["payments-api"]
    assert response.context["service_count"] == 1


def test_trend_counts_approvals_and_expiries_per_week(catalog, service, auditor):
    from audit.context import Actor
    from audit.services import audit_record

    review = ReviewFactory(service=service, catalog_version=catalog)
    audit_record(actor=Actor.system("t"), action="review.approve", obj=review)
    ReviewFactory(
        service=service,
        environment="dev",
        catalog_version=catalog,
        status="expired",
        expires_at=timezone.now() - timedelta(hours=1),
    )
    weeks = portfolio.trend(service_list_for(auditor), True, timezone.now())
    assert len(weeks) == 12
    assert weeks[-1]["approved"] == 1
    assert sum(w["expired"] for w in weeks) == 1


# --- home pages ---------------------------------------------------------------------------


def test_owner_home_says_what_to_do_next(catalog, service, owner, client_for):
    controls = list(catalog.controls.order_by("position"))
    draft = ReviewFactory(
        service=service,
        environment="staging",
        catalog_version=catalog,
        status="draft",
        approved_at=None,
        expires_at=None,
        approval_hash="",
    )
    ReviewItemFactory(review=draft, control=controls[0], outcome="pending")
    approved = ReviewFactory(
        service=service,
        catalog_version=catalog,
        expires_at=timezone.now() + timedelta(days=10),
    )
    item = ReviewItemFactory(review=approved, control=controls[1])
    from reviews.models import ItemEvidence

    old = EvidenceFactory(service=service, collected_at=timezone.now() - timedelta(days=90))
    ItemEvidence.objects.create(item=item, evidence=old, attached_by=owner)
    WaiverFactory(
        service=service,
        status="approved",
        decided_by=ServiceFactory().team and owner.__class__.objects.create(username="risky"),
        expires_at=timezone.now() + timedelta(days=5),
    )
    response = client_for(owner).get(reverse("home"))
    body = response.content.decode()
    todos = [t.text for t in response.context["owner"]["todos"]]
    assert any("staging: 1 mandatory item(s) still to answer" in t for t in todos)
    assert any("prod: the approval expires in" in t for t in todos)
    assert any("1 piece(s) of evidence are stale" in t for t in todos)
    assert any("expires in 4 day(s)" in t or "expires in 5 day(s)" in t for t in todos)
    assert any("dev: no review yet" in t for t in todos)
    row = response.context["owner"]["rows"][0]
    assert (row["mandatory_open"], row["stale"], row["waivers_expiring"]) == (1, 1, 1)
    assert "What to do next" in body and "Continue the review" in body


def test_owner_home_counts_gate_denials_this_week(catalog, service, owner, client_for):
    from audit.context import Actor
    from gate.services import gate_check

    gate_check(actor=Actor.system("ci"), service=service, environment="prod", commit_sha="a" * 40)
    response = client_for(owner).get(reverse("home"))
    assert response.context["owner"]["rows"][0]["denials"] == 1
    assert any(
        "The gate denied Payments API to prod" in t.text for t in response.context["owner"]["todos"]
    )


def test_reviewer_home_lists_queue_oldest_first_with_ageing(catalog, service, sre, client_for):
    for days, env in ((9, "prod"), (2, "staging")):
        ReviewFactory(
            service=service,
            environment=env,
            catalog_version=catalog,
            status="submitted",
            approved_at=None,
            expires_at=None,
            approval_hash="",
            submitted_at=timezone.now() - timedelta(days=days),
        )
    response = client_for(sre).get(reverse("home"))
    reviewer = response.context["reviewer"]
    assert [r.environment for r in reviewer["queue"]] == ["prod", "staging"]
    assert dict(reviewer["ageing"]) == {
        "under a day": 0,
        "1–3 days": 1,
        "3–7 days": 0,
        "over a week": 1,
    }
    assert reviewer["oldest_days"] == 9
    assert "9 days" in response.content.decode()


def test_auditor_home_shows_compliance_by_framework(catalog, auditor, client_for):
    build_portfolio(catalog, 2)
    response = client_for(auditor).get(reverse("home"))
    totals = {fw.code: cell.percent for fw, cell in response.context["auditor"]["framework_totals"]}
    assert totals == {"PCI": 100, "SOC2": 67}
    assert "Portfolio compliance by framework" in response.content.decode()
    assert response.context["owner"] is None and response.context["reviewer"] is None


def test_user_without_team_or_role_gets_a_getting_started_page(db, client_for):
    from tests.factories import UserFactory

    response = client_for(UserFactory(username="newcomer")).get(reverse("home"))
    assert "Getting started" in response.content.decode()


# --- search and navigation ----------------------------------------------------------------


def test_search_finds_services_controls_and_reviews_the_user_may_see(
    catalog, service, other_service, owner, client_for
):
    review = ReviewFactory(service=service, catalog_version=catalog)
    ReviewFactory(service=other_service, catalog_version=catalog)
    client = client_for(owner)
    results = client.get(reverse("dashboards:search"), {"q": "a"}).context["results"]
    assert [s.slug for s in results["services"]["items"]] == ["payments-api"]
    assert [r.pk for r in results["reviews"]["items"]] == [review.pk]
    controls = client.get(reverse("dashboards:search"), {"q": "PRR-RUN"}).context["results"]
    assert [c.code for c in controls["controls"]["items"]] == ["PRR-RUN-001"]
    by_number = client.get(reverse("dashboards:search"), {"q": f"#{review.pk}", "kind": "reviews"})
    assert [r.pk for r in by_number.context["page"]] == [review.pk]


def test_search_lists_are_paginated(catalog, auditor, client_for):
    build_portfolio(catalog, 30)
    page = (
        client_for(auditor)
        .get(reverse("dashboards:search"), {"q": "Service", "kind": "services", "page": "2"})
        .context["page"]
    )
    assert page.number == 2 and page.paginator.count == 30 and len(page) == 5


@pytest.mark.parametrize(
    "url,current",
    [
        ("/", "Home"),
        ("/services/", "Services"),
        ("/catalog/", "Catalog"),
        ("/reviews/", "Reviews"),
        ("/reviews/queue/", "Review queue"),  # shown to reviewers: see below
        ("/reviews/waivers/", "Waivers"),
        ("/dashboard/", "Dashboard"),
        ("/audit/", "Audit log"),
    ],
)
def test_navigation_marks_the_current_page(catalog, cast, client_for, url, current):
    user = cast["sre"] if current == "Review queue" else cast["admin"]
    body = client_for(user).get(url).content.decode()
    nav = body[body.index('<nav aria-label="Main"') :].split("</nav>")[0]
    assert f'aria-current="page">{current}</a>' in nav
    assert nav.count('aria-current="page"') == 1


def test_navigation_hides_what_the_role_cannot_use(catalog, owner, client_for):
    body = client_for(owner).get("/").content.decode()
    assert ">Review queue<" not in body and ">Audit log<" not in body
    assert ">Exports<" in body and ">Dashboard<" in body and 'role="search"' in body


def test_beat_task_keeps_the_summary_warm_for_reviewers(catalog, auditor, client_for, monkeypatch):
    from dashboards.tasks import refresh_portfolio_summary

    build_portfolio(catalog, 3)
    assert refresh_portfolio_summary.apply().get()["services"] == 3

    def not_again(*args, **kwargs):
        raise AssertionError("the page computed the summary again")

    monkeypatch.setattr(portfolio, "summary", not_again)
    response = client_for(auditor).get(reverse("dashboards:portfolio"))
    assert response.context["service_count"] == 3
    assert response.context["ready_count"] == 0
