"""Checks follow the catalog's applicability rules: a control the catalog does not require for
the service's profile gives ``not_applicable`` with the reason, never a failure."""

from datetime import date

import pytest

from audit.context import Actor
from collection.checks import CheckContext, evaluate_all
from collection.checks.applicability import not_required, not_required_for
from collection.choices import CheckStatus, RunStatus
from collection.models import CheckResult
from collection.services import collection_run_start
from controls.services import catalog_load
from tests.collection.facts_samples import ARN, compliant
from tests.collection.test_checks import SMALL_SERVICE
from tests.factories import CatalogVersionFactory, ControlFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 28)
INSIGHTS_ACCOUNT = ("580247275435",)  # AWS's account publishing the Lambda Insights layer

# A small internal-facing service: tier 4, public data, no API Gateway, no async, no event
# source mapping, no VPC. Every applicability rule of the shipped catalog excludes it.
TIER_4 = SMALL_SERVICE
# A critical internet-facing service: every rule of the shipped catalog holds.
TIER_1 = {
    "tier": 1,
    "data_classification": "pci",
    "uses_api_gateway": True,
    "uses_async_invocation": True,
    "uses_event_source_mapping": True,
    "requires_vpc": True,
    "internet_facing": True,
}
# check id -> control code of the shipped catalog (controls/catalog/controls/*.yaml) for the
# controls whose applicability rule excludes TIER_4.
EXCLUDED_FOR_TIER_4 = {
    "lambda.vpc_attached": "PRR-SEC-001",
    "vpc.security_group_egress_restricted": "PRR-SEC-002",
    "apigw.waf_associated": "PRR-SEC-003",
    "lambda.provisioned_concurrency": "PRR-RUN-006",
    "lambda.dlq_or_destination": "PRR-RUN-007",
    "lambda.async_retry_configured": "PRR-RUN-008",
    "esm.failure_destination": "PRR-EVT-001",
    "esm.partial_batch_response": "PRR-EVT-002",
    "esm.stream_retry_bounded": "PRR-EVT-003",
    "apigw.stage_throttling": "PRR-EVT-004",
    "lambda.env_kms_cmk": "PRR-DAT-001",
    "logs.kms_encrypted": "PRR-DAT-005",
    "cloudwatch.dlq_alarm": "PRR-OBS-006",
    "lambda.insights_extension": "PRR-OBS-009",
    "apigw.access_logging": "PRR-OBS-010",
    "lambda.vpc_multi_az": "PRR-DR-001",
}


@pytest.fixture
def catalog():
    return catalog_load(actor=Actor.system("test")).catalog_version


def test_tier_4_private_service_is_not_required_to_meet_the_conditional_controls(catalog):
    reasons = not_required_for(TIER_4)

    assert {c: r.split()[0] for c, r in reasons.items()} == EXCLUDED_FOR_TIER_4
    assert reasons["lambda.provisioned_concurrency"] == (
        "PRR-RUN-006 applies only when tier ≤ 1 and uses_api_gateway is true "
        "(this service: tier 4, uses_api_gateway false)"
    )
    assert reasons["apigw.waf_associated"] == (
        "PRR-SEC-003 applies only when uses_api_gateway is true and internet_facing is true "
        "(this service: uses_api_gateway false, internet_facing false)"
    )
    assert reasons["lambda.env_kms_cmk"] == (
        "PRR-DAT-001 applies only when data_classification in confidential, restricted, pci "
        "(this service: data_classification public)"
    )


def test_tier_1_internet_facing_service_is_required_to_meet_every_control(catalog):
    assert not_required_for(TIER_1) == {}


def test_each_rule_is_judged_on_its_own_fields(catalog):
    # Tier 1 behind API Gateway but not internet-facing: provisioned concurrency is required,
    # WAF is not.
    reasons = not_required_for({**TIER_1, "internet_facing": False})

    assert set(reasons) == {"apigw.waf_associated"}
    assert "internet_facing false" in reasons["apigw.waf_associated"]


def test_one_query_reads_the_rules(catalog, django_assert_num_queries):
    with django_assert_num_queries(1):
        not_required_for(TIER_4)


def test_without_a_catalog_every_check_is_evaluated():
    assert not_required_for(TIER_4) == {}


def test_only_the_current_catalog_version_counts():
    old = CatalogVersionFactory(version="2026.1", is_current=False)
    current = CatalogVersionFactory(version="2026.2", is_current=True)
    ControlFactory(
        catalog_version=old,
        check_id="lambda.tracing_active",
        applicability={"field": "tier", "lte": 1},
    )
    ControlFactory(
        catalog_version=current,
        check_id="lambda.insights_extension",
        applicability={"field": "tier", "lte": 2},
    )
    ControlFactory(catalog_version=current, check_id="lambda.tracing_active")
    ControlFactory(catalog_version=current, check_id="", applicability={"field": "tier", "lte": 1})

    assert set(not_required_for(TIER_4)) == {"lambda.insights_extension"}


def test_an_incomplete_profile_exempts_nothing():
    rules = [("PRR-X-001", "lambda.insights_extension", {"field": "tier", "lte": 2})]

    assert not_required(rules, {}) == {}
    assert not_required(rules, {"tier": None}) == {}
    assert set(not_required(rules, {"tier": 3})) == {"lambda.insights_extension"}
    assert not_required(rules, {"tier": 2}) == {}


def test_tier_4_checks_are_not_applicable_with_the_reason(catalog):
    context = CheckContext(profile=TIER_4, not_required=not_required_for(TIER_4), today=TODAY)
    failing = compliant(
        function__kms_key_arn="",
        function__layers=[],
        function__subnet_ids=[],
        provisioned_concurrency=[],
        log_group__kms_key_id="",
        api_stages=[{**compliant()["api_stages"][0], "web_acl_arn": ""}],
    )

    outcomes = evaluate_all(failing, context)

    for check_id, code in EXCLUDED_FOR_TIER_4.items():
        outcome = outcomes[check_id]
        assert outcome.status == CheckStatus.NOT_APPLICABLE, (check_id, outcome.message)
        assert outcome.message.startswith(f"Not required for this service: {code} applies only")
        assert outcome.message.endswith("payments-api was not evaluated.")
        assert outcome.resource == ARN
    # The controls every service must meet still fail.
    assert outcomes["lambda.tracing_active"].status == CheckStatus.PASS
    untraced = evaluate_all(compliant(function__tracing_mode="PassThrough"), context)
    assert untraced["lambda.tracing_active"].status == CheckStatus.FAIL


def test_tier_1_checks_pass_and_fail_as_before(catalog):
    context = CheckContext(
        profile=TIER_1,
        not_required=not_required_for(TIER_1),
        trusted_layer_accounts=INSIGHTS_ACCOUNT,
        today=TODAY,
    )
    before = CheckContext(profile=TIER_1, trusted_layer_accounts=INSIGHTS_ACCOUNT, today=TODAY)
    failing = compliant(
        function__kms_key_arn="",
        function__layers=[],
        provisioned_concurrency=[],
        log_group__kms_key_id="",
        api_stages=[{**compliant()["api_stages"][0], "web_acl_arn": ""}],
    )

    for facts in (compliant(), failing):
        assert evaluate_all(facts, context) == evaluate_all(facts, before)
    outcomes = evaluate_all(failing, context)
    for check_id in (
        "lambda.env_kms_cmk",
        "lambda.insights_extension",
        "lambda.provisioned_concurrency",
        "logs.kms_encrypted",
        "apigw.waf_associated",
    ):
        assert outcomes[check_id].status == CheckStatus.FAIL, outcomes[check_id].message
    assert all(o.status == CheckStatus.PASS for o in evaluate_all(compliant(), context).values())


def test_not_required_wins_over_facts_that_could_not_be_collected(catalog):
    context = CheckContext(profile=TIER_4, not_required=not_required_for(TIER_4), today=TODAY)
    facts = compliant(unavailable={"collector": "the portal cannot assume role X"})

    outcomes = evaluate_all(facts, context)

    for check_id, outcome in outcomes.items():
        expected = (
            CheckStatus.NOT_APPLICABLE if check_id in EXCLUDED_FOR_TIER_4 else CheckStatus.ERROR
        )
        assert outcome.status == expected, (check_id, outcome.message)


# --- end to end through the emulator pipeline ------------------------------------------------


def _run(service, profile, owner, target, capture):
    for key, value in profile.items():
        setattr(service, key, value)
    service.save()
    with capture(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=target)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error_summary
    return {
        (r.snapshot.resource_id, r.check_id): (r.status, r.message)
        for r in CheckResult.objects.filter(run=run).select_related("snapshot")
    }


def test_collection_run_for_a_tier_4_service_skips_the_controls_it_need_not_meet(
    catalog, emulator, service, owner, payments_target, django_capture_on_commit_callbacks
):
    results = _run(service, TIER_4, owner, payments_target, django_capture_on_commit_callbacks)

    # Provisioned concurrency failed on payments-legacy and payments-public for tier 1.
    for function in ("payments-legacy", "payments-public"):
        status, message = results[(function, "lambda.provisioned_concurrency")]
        assert status == CheckStatus.NOT_APPLICABLE
        assert message == (
            "Not required for this service: PRR-RUN-006 applies only when tier ≤ 1 and "
            "uses_api_gateway is true (this service: tier 4, uses_api_gateway false); "
            f"{function} was not evaluated."
        )
    assert results[("payments-legacy", "logs.kms_encrypted")][0] == CheckStatus.NOT_APPLICABLE
    assert results[("payments-api", "apigw.waf_associated")][0] == CheckStatus.NOT_APPLICABLE
    not_required_results = {c for (_, c), (_, m) in results.items() if "Not required" in m}
    assert not_required_results == set(EXCLUDED_FOR_TIER_4)
    # Controls every service must meet are still evaluated.
    assert results[("payments-legacy", "lambda.runtime_supported")][0] == CheckStatus.FAIL


def test_collection_run_for_a_tier_1_internet_facing_service_evaluates_every_control(
    catalog, emulator, service, owner, payments_target, django_capture_on_commit_callbacks
):
    results = _run(service, TIER_1, owner, payments_target, django_capture_on_commit_callbacks)

    assert not [m for _, m in results.values() if "Not required" in m]
    assert results[("payments-api", "lambda.provisioned_concurrency")][0] == CheckStatus.PASS
    assert results[("payments-legacy", "lambda.provisioned_concurrency")][0] == CheckStatus.FAIL
    assert results[("payments-public", "lambda.provisioned_concurrency")][0] == CheckStatus.FAIL
    assert results[("payments-legacy", "logs.kms_encrypted")][0] == CheckStatus.FAIL
    assert results[("payments-api", "apigw.waf_associated")][0] == CheckStatus.PASS


# --- an approved review holds the service to its mandatory controls --------------------------


def _approved_review_holding(service, catalog, check_id, *, status="approved", mandatory=True):
    from controls.models import Control
    from tests.factories import ReviewFactory, ReviewItemFactory

    control = Control.objects.get(catalog_version=catalog, check_id=check_id)
    review = ReviewFactory(service=service, catalog_version=catalog, status=status)
    if status != "approved":
        type(review).objects.filter(pk=review.pk).update(approved_at=None, expires_at=None)
    ReviewItemFactory(review=review, control=control, mandatory=mandatory)
    return review


def test_a_mandatory_item_of_an_approved_review_stays_required_after_a_profile_change(
    catalog, service
):
    _approved_review_holding(service, catalog, "lambda.provisioned_concurrency")

    out = not_required_for(TIER_4, service_id=service.pk)

    assert "lambda.provisioned_concurrency" not in out
    assert set(out) == set(EXCLUDED_FOR_TIER_4) - {"lambda.provisioned_concurrency"}
    # Without the service (or for another service) the profile alone decides.
    assert "lambda.provisioned_concurrency" in not_required_for(TIER_4)


@pytest.mark.parametrize("status, mandatory", [("draft", True), ("approved", False)])
def test_only_mandatory_items_of_approved_reviews_hold(catalog, service, status, mandatory):
    _approved_review_holding(
        service, catalog, "lambda.provisioned_concurrency", status=status, mandatory=mandatory
    )
    assert "lambda.provisioned_concurrency" in not_required_for(TIER_4, service_id=service.pk)


def test_lowering_the_tier_after_approval_does_not_turn_a_failure_into_not_applicable(
    catalog, emulator, service, owner, payments_target, django_capture_on_commit_callbacks
):
    """Approved as tier 1 with provisioned concurrency mandatory; the team then edits the
    profile to tier 4. The failing control stays a failure (drift revokes on it)."""
    _approved_review_holding(service, catalog, "lambda.provisioned_concurrency")

    results = _run(service, TIER_4, owner, payments_target, django_capture_on_commit_callbacks)

    status, message = results[("payments-legacy", "lambda.provisioned_concurrency")]
    assert status == CheckStatus.FAIL, message
    assert results[("payments-legacy", "logs.kms_encrypted")][0] == CheckStatus.NOT_APPLICABLE
