import pytest
from django.core.cache import cache

from tests.gate.helpers import Issuer, make_catalog


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and the JWKS cache live in the cache: start each test empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def catalog(db):
    return make_catalog()


@pytest.fixture
def service(team):
    from tests.factories import ServiceFactory

    return ServiceFactory(
        team=team,
        slug="payments-api",
        name="Payments API",
        tier=1,
        repository="acme/payments-api",
        repository_id="4242",
        environments=["staging", "prod"],
    )


@pytest.fixture
def issuer(settings, monkeypatch):
    settings.GATE_OIDC_AUDIENCE = "https://prr.example.com"
    local = Issuer(audience="https://prr.example.com")
    monkeypatch.setattr("gate.oidc.fetch_jwks", local.fetch)
    return local
