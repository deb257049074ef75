"""A small current catalog mapped to two frameworks, and helpers to build a portfolio."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import MembershipRole
from controls.models import ControlMapping, Framework, Requirement
from tests.factories import (
    CatalogVersionFactory,
    ControlFactory,
    MembershipFactory,
    ReviewFactory,
    ReviewItemFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture
def catalog(db):
    version = CatalogVersionFactory(version="2026.1", is_current=True)
    pci = Framework.objects.create(catalog_version=version, code="PCI", name="PCI DSS", position=1)
    soc = Framework.objects.create(catalog_version=version, code="SOC2", name="SOC 2", position=2)
    controls = []
    for i, (code, check) in enumerate(
        [("PRR-SEC-001", ""), ("PRR-RUN-001", "lambda_timeout_set"), ("PRR-OBS-001", "")]
    ):
        control = ControlFactory(
            catalog_version=version, code=code, position=i, check_id=check, title=f"Title {code}"
        )
        controls.append(control)
    for fw, mapped in ((pci, controls[:2]), (soc, controls)):
        requirement = Requirement.objects.create(framework=fw, ref="1", title="Requirement")
        for control in mapped:
            ControlMapping.objects.create(control=control, requirement=requirement)
    return version


def build_portfolio(catalog, n: int, *, start: int = 0):
    """``n`` services in a few teams, each with an approved prod review (two items passing,
    one failing) and a draft staging review."""
    controls = list(catalog.controls.order_by("position"))
    for i in range(start, start + n):
        team = TeamFactory(slug=f"team-{i % 3}", name=f"Team {i % 3}")
        service = ServiceFactory(team=team, slug=f"svc-{i}", name=f"Service {i}", tier=1 + i % 4)
        approved = ReviewFactory(service=service, environment="prod", catalog_version=catalog)
        for control, outcome in zip(controls, ["pass", "pass", "fail"], strict=True):
            ReviewItemFactory(review=approved, control=control, outcome=outcome)
        draft = ReviewFactory(
            service=service,
            environment="staging",
            catalog_version=catalog,
            status="draft",
            approved_at=None,
            expires_at=None,
            approval_hash="",
        )
        for control in controls:
            ReviewItemFactory(review=draft, control=control, outcome="pending")


@pytest.fixture
def owner_of_all(db):
    user = UserFactory(username="portfolio-owner")
    for i in range(3):
        MembershipFactory(
            user=user,
            team=TeamFactory(slug=f"team-{i}", name=f"Team {i}"),
            role=MembershipRole.OWNER,
        )
    return user


def days_ago(n):
    return timezone.now() - timedelta(days=n)


@pytest.fixture(autouse=True)
def fresh_cache():
    """The dashboard caches its portfolio summary: no test sees another test's numbers."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
