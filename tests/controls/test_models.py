import pytest

from controls import applicability
from controls.selectors import applicable_controls, current_catalog
from portal.errors import DomainError
from tests.factories import CatalogVersionFactory, ControlFactory

PROFILE = {
    "tier": 2,
    "data_classification": "pci",
    "uses_api_gateway": True,
    "uses_async_invocation": False,
    "uses_event_source_mapping": False,
    "requires_vpc": True,
    "internet_facing": True,
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({}, True),
        ({"field": "uses_api_gateway", "equals": True}, True),
        ({"field": "uses_async_invocation", "equals": True}, False),
        ({"field": "data_classification", "in": ["pci", "restricted"]}, True),
        ({"field": "tier", "lte": 1}, False),
        ({"field": "tier", "gte": 2}, True),
        (
            {"all": [{"field": "tier", "lte": 2}, {"field": "internet_facing", "equals": True}]},
            True,
        ),
        ({"any": [{"field": "tier", "lte": 1}, {"field": "requires_vpc", "equals": False}]}, False),
        ({"not": {"field": "tier", "lte": 1}}, True),
    ],
)
def test_applicability_rules_evaluate_over_service_profile(rule, expected):
    applicability.validate_rule(rule)
    assert applicability.evaluate(rule, PROFILE) is expected


@pytest.mark.parametrize(
    "rule",
    [
        [],
        {"field": "tier"},
        {"field": "tier", "lte": "2"},
        {"field": "tier", "equals": True},
        {"field": "os.system", "equals": "x"},
        {"field": "tier", "lte": 1, "gte": 0},
        {"all": []},
        {"all": [{}], "any": [{}]},
        {"field": "data_classification", "in": "pci"},
    ],
)
def test_malformed_applicability_rules_are_rejected(rule):
    with pytest.raises(applicability.RuleError):
        applicability.validate_rule(rule)


def test_missing_profile_field_fails_the_condition():
    assert not applicability.evaluate({"field": "tier", "lte": 4}, {})


def test_describe_reads_like_a_sentence():
    rule = {"all": [{"field": "uses_api_gateway", "equals": True}, {"field": "tier", "lte": 2}]}
    assert applicability.describe(rule) == "uses_api_gateway is true and tier ≤ 2"
    assert applicability.describe({}) == "Always"


def test_control_is_mandatory_for_listed_tiers_only(db):
    control = ControlFactory(mandatory_tiers=[1, 2])
    assert control.is_mandatory_for(1)
    assert not control.is_mandatory_for(3)


def test_control_is_automated_when_it_names_a_check(db):
    assert ControlFactory(check_id="lambda.tracing_active").is_automated
    assert not ControlFactory(check_id="").is_automated


def test_applicable_controls_filter_by_profile(db):
    catalog = CatalogVersionFactory(is_current=True)
    always = ControlFactory(catalog_version=catalog, position=1)
    api = ControlFactory(
        catalog_version=catalog,
        position=2,
        applicability={"field": "uses_api_gateway", "equals": True},
    )
    ControlFactory(
        catalog_version=catalog,
        position=3,
        applicability={"field": "uses_async_invocation", "equals": True},
    )

    assert applicable_controls(catalog, PROFILE) == [always, api]


def test_current_catalog_raises_not_found_when_nothing_is_loaded(db):
    with pytest.raises(DomainError) as exc:
        current_catalog()
    assert exc.value.code == "not_found"


def test_current_catalog_is_the_one_marked_current(db):
    CatalogVersionFactory(version="2026.1.0")
    current = CatalogVersionFactory(version="2026.2.0", is_current=True)
    assert current_catalog() == current


def test_only_one_catalog_can_be_current(db):
    from django.db import IntegrityError

    CatalogVersionFactory(version="2026.1.0", is_current=True)
    with pytest.raises(IntegrityError):
        CatalogVersionFactory(version="2026.2.0", is_current=True)
