"""A small current catalog and helpers that walk a review through its states."""

import pytest

from audit.context import Actor
from reviews import workflow
from reviews.choices import ItemOutcome
from tests.factories import CatalogVersionFactory, ControlFactory, EvidenceFactory


@pytest.fixture
def catalog(db):
    """Four controls: two mandatory for tiers 1-2 (one automated), one optional, and one that
    applies only behind API Gateway (so not to the ``service`` fixture)."""
    version = CatalogVersionFactory(version="2026.1", is_current=True)
    ControlFactory(
        catalog_version=version,
        code="PRR-SEC-001",
        section="security",
        position=1,
        title="Least-privilege execution role",
    )
    ControlFactory(
        catalog_version=version,
        code="PRR-RUN-001",
        section="runtime",
        position=2,
        check_id="lambda_timeout_set",
        title="Timeout set",
        freshness_days=7,
    )
    ControlFactory(
        catalog_version=version,
        code="PRR-OBS-001",
        section="observability",
        position=3,
        mandatory_tiers=[],
        title="Dashboards",
    )
    ControlFactory(
        catalog_version=version,
        code="PRR-API-001",
        section="event_sources",
        position=4,
        applicability={"field": "uses_api_gateway", "equals": True},
        title="Throttling",
    )
    return version


def act(user):
    return Actor.for_user(user)


def item_for(review, code):
    return review.items.select_related("control").get(control__code=code)


def make_ready(review, user):
    """Pass every mandatory item with fresh link evidence."""
    for item in review.items.filter(mandatory=True).select_related("control"):
        evidence = EvidenceFactory(service=review.service, control_code=item.control.code)
        workflow.item_attach_evidence(actor=act(user), item=item, evidence=evidence)
        workflow.item_update(actor=act(user), item=item, outcome=ItemOutcome.PASS)
    review.refresh_from_db()
    return review


@pytest.fixture
def draft(catalog, service, owner):
    return workflow.review_open(actor=act(owner), service=service, environment="prod")


@pytest.fixture
def submitted(draft, owner):
    make_ready(draft, owner)
    return workflow.review_submit(actor=act(owner), review=draft)


@pytest.fixture
def approved(submitted, sre, security, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
        workflow.signoff_record(actor=act(security), review=submitted, role="security")
    submitted.refresh_from_db()
    return submitted
