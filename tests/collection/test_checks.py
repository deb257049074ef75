"""Every check on plain dicts: pass, fail and (where the check can be) not applicable."""

from datetime import date

import pytest

from collection.checks import CHECK_IDS, REGISTRY, CheckContext, evaluate_all
from collection.choices import CheckStatus
from tests.collection.facts_samples import ACCOUNT, ARN, compliant

CTX = CheckContext(
    profile={"uses_async_invocation": True, "requires_vpc": True, "uses_api_gateway": True},
    trusted_layer_accounts=("580247275435",),
    today=date(2026, 11, 28),
)
NO_ASYNC = CheckContext(profile={"uses_async_invocation": False}, today=date(2026, 11, 28))
NO_VPC = CheckContext(profile={"requires_vpc": False}, today=date(2026, 11, 28))
NO_API = CheckContext(profile={"uses_api_gateway": False}, today=date(2026, 11, 28))

ADMIN_ROLE = {
    **compliant()["role"],
    "attached_policies": [
        {
            "name": "AdministratorAccess",
            "arn": "arn:aws:iam::aws:policy/AdministratorAccess",
            "aws_managed": True,
            "document": None,
        }
    ],
}
WILD = {"Statement": [{"Effect": "Allow", "Action": ["s3:*", "iam:PassRole"], "Resource": "*"}]}


def with_role(**role_changes):
    facts = compliant()
    facts["role"].update(role_changes)
    return facts


PUBLIC_URL_POLICY = {
    "Statement": [
        {
            "Sid": "public",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunctionUrl",
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
        }
    ]
}
SQS_ONLY = [
    {
        "uuid": "q",
        "event_source_arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
        "state": "Enabled",
        "on_failure_destination": "",
        "function_response_types": ["ReportBatchItemFailures"],
        "maximum_retry_attempts": None,
        "bisect_on_error": None,
        "starting_position": "",
    }
]

# check id -> (failing facts, not-applicable facts and context or None when always applicable)
CASES = {
    "lambda.runtime_supported": (
        compliant(function__runtime="python3.8"),
        (compliant(function__package_type="Image"), CTX),
    ),
    "lambda.runtime_not_deprecating_soon": (
        compliant(function__runtime="dotnet8"),
        (compliant(function__package_type="Image"), CTX),
    ),
    "lambda.timeout_configured": (compliant(function__timeout=3), None),
    "lambda.memory_configured": (compliant(function__memory_size=128), None),
    "lambda.arm64_architecture": (compliant(function__architectures=["x86_64"]), None),
    "lambda.log_format_json": (compliant(function__log_format="Text"), None),
    "lambda.insights_extension": (compliant(function__layers=[]), None),
    "lambda.layers_trusted_accounts": (
        compliant(function__layers=["arn:aws:lambda:us-east-1:999999999999:layer:x:1"]),
        (compliant(function__layers=[]), CTX),
    ),
    "lambda.tags_required": (compliant(tags={"owner": "x"}), None),
    "lambda.vpc_attached": (
        compliant(function__subnet_ids=[]),
        (compliant(function__subnet_ids=[]), NO_VPC),
    ),
    "lambda.vpc_multi_az": (
        compliant(
            subnets=[{"id": "subnet-a", "az": "us-east-1a"}, {"id": "subnet-b", "az": "us-east-1a"}]
        ),
        (compliant(function__subnet_ids=[]), CTX),
    ),
    "vpc.security_group_egress_restricted": (
        compliant(
            security_groups=[
                {
                    "id": "sg-1",
                    "name": "o",
                    "egress": [
                        {
                            "protocol": "-1",
                            "from_port": None,
                            "to_port": None,
                            "cidrs": ["0.0.0.0/0"],
                        }
                    ],
                }
            ]
        ),
        (compliant(function__subnet_ids=[]), CTX),
    ),
    "lambda.dlq_or_destination": (
        compliant(function__dead_letter_target="", invoke_config=None),
        (compliant(), NO_ASYNC),
    ),
    "lambda.async_retry_configured": (compliant(invoke_config=None), (compliant(), NO_ASYNC)),
    "lambda.reserved_concurrency": (compliant(reserved_concurrency=None), None),
    "lambda.provisioned_concurrency": (compliant(provisioned_concurrency=[]), None),
    "lambda.published_version": (
        compliant(
            aliases=[{"name": "live", "version": "$LATEST", "routing": {}}],
            provisioned_concurrency=[],
        ),
        None,
    ),
    "lambda.alias_not_latest": (compliant(aliases=[]), None),
    "esm.failure_destination": (
        compliant(
            event_source_mappings=[
                {**compliant()["event_source_mappings"][0], "on_failure_destination": ""}
            ]
        ),
        (compliant(event_source_mappings=SQS_ONLY), CTX),
    ),
    "esm.partial_batch_response": (
        compliant(event_source_mappings=[{**SQS_ONLY[0], "function_response_types": []}]),
        (compliant(event_source_mappings=[]), CTX),
    ),
    "esm.stream_retry_bounded": (
        compliant(
            event_source_mappings=[
                {**compliant()["event_source_mappings"][0], "maximum_retry_attempts": -1}
            ]
        ),
        (compliant(event_source_mappings=SQS_ONLY), CTX),
    ),
    "codedeploy.canary_config": (
        compliant(deployment_group__traffic_routing="AllAtOnce"),
        None,
    ),
    "codedeploy.alarm_rollback": (compliant(deployment_group__alarms=[]), None),
    "lambda.code_signing_enforced": (
        compliant(code_signing__untrusted_artifact_on_deployment="Warn"),
        None,
    ),
    "lambda.artifact_signed": (
        compliant(function__signing_job_arn="", function__signing_profile_version_arn=""),
        (compliant(function__package_type="Image"), CTX),
    ),
    "lambda.env_kms_cmk": (
        compliant(function__kms_key_arn=""),
        (compliant(function__env_var_names=[]), CTX),
    ),
    "kms.key_rotation_enabled": (
        compliant(kms_keys={"k": {"arn": "k", "manager": "CUSTOMER", "rotation_enabled": False}}),
        (compliant(kms_keys={}), CTX),
    ),
    "lambda.env_no_secrets": (
        compliant(
            function__env_secret_like={
                "DB_PASSWORD": "a secret-named variable holds a literal value"
            }
        ),
        (compliant(function__env_var_names=[]), CTX),
    ),
    "secrets.rotation_enabled": (
        compliant(secrets=[{"arn": "s", "name": "db", "rotation_enabled": False}]),
        (compliant(secrets=[]), CTX),
    ),
    "lambda.tracing_active": (compliant(function__tracing_mode="PassThrough"), None),
    "cloudwatch.errors_alarm": (compliant(alarms=[]), None),
    "cloudwatch.throttles_alarm": (compliant(alarms=[]), None),
    "cloudwatch.duration_alarm": (compliant(alarms=[]), None),
    "cloudwatch.concurrency_alarm": (compliant(alarms=[]), None),
    "cloudwatch.dlq_alarm": (
        compliant(dlq_alarms={"arn:aws:sqs:us-east-1:1:q": []}),
        (compliant(dlq_alarms={}), CTX),
    ),
    "logs.retention_set": (compliant(log_group__retention_days=30), None),
    "logs.kms_encrypted": (compliant(log_group__kms_key_id=""), None),
    "lambda.policy_not_public": (compliant(policy=PUBLIC_URL_POLICY), None),
    "lambda.policy_source_bound": (
        compliant(
            policy={
                "Statement": [
                    {
                        "Sid": "s3",
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "lambda:InvokeFunction",
                    }
                ]
            }
        ),
        (compliant(policy=None), CTX),
    ),
    "lambda.function_url_auth": (
        compliant(policy=PUBLIC_URL_POLICY),
        (compliant(policy=None), CTX),
    ),
    "apigw.stage_throttling": (
        compliant(api_stages=[{**compliant()["api_stages"][0], "throttling_rate_limit": None}]),
        (compliant(api_stages=[]), NO_API),
    ),
    "apigw.waf_associated": (
        compliant(api_stages=[{**compliant()["api_stages"][0], "web_acl_arn": ""}]),
        (compliant(api_stages=[]), NO_API),
    ),
    "apigw.access_logging": (
        compliant(api_stages=[{**compliant()["api_stages"][0], "access_log_destination": ""}]),
        (compliant(api_stages=[]), NO_API),
    ),
    "iam.no_wildcard_actions": (
        with_role(inline_policies=[{"name": "wild", "document": WILD}]),
        None,
    ),
    "iam.no_wildcard_resources": (
        with_role(inline_policies=[{"name": "wild", "document": WILD}]),
        None,
    ),
    "iam.no_admin_policies": (with_role(**ADMIN_ROLE), None),
    "iam.permission_boundary": (with_role(permission_boundary_arn=""), None),
    "iam.role_not_shared": (with_role(used_by=["payments-api", "other-fn"]), None),
    "iam.no_passrole_wildcard": (
        with_role(inline_policies=[{"name": "wild", "document": WILD}]),
        None,
    ),
    "iam.trust_lambda_only": (
        with_role(
            trust_policy={
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]},
                        "Action": "sts:AssumeRole",
                    }
                ]
            }
        ),
        None,
    ),
    "iam.no_cross_account_trust": (
        with_role(
            trust_policy={
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            }
        ),
        None,
    ),
    "config.rules_compliant": (
        compliant(config_compliance="NON_COMPLIANT"),
        (compliant(config_compliance=None), CTX),
    ),
    "securityhub.no_critical_findings": (
        compliant(security_hub_findings=[{"id": "f", "title": "Bad", "severity": "CRITICAL"}]),
        None,
    ),
}


def test_registry_implements_exactly_the_catalog_check_ids():
    assert set(REGISTRY) == set(CHECK_IDS)
    assert set(CASES) == set(CHECK_IDS)


@pytest.mark.parametrize("check_id", sorted(CHECK_IDS))
def test_compliant_function_passes(check_id):
    outcome = REGISTRY[check_id](compliant(), CTX)
    assert outcome.status == CheckStatus.PASS, outcome.message
    assert outcome.resource == ARN
    assert "payments-api" in outcome.message or "payments-api" in outcome.resource


@pytest.mark.parametrize("check_id", sorted(CHECK_IDS))
def test_non_compliant_function_fails_with_an_explanation(check_id):
    outcome = REGISTRY[check_id](CASES[check_id][0], CTX)
    assert outcome.status == CheckStatus.FAIL, outcome.message
    assert outcome.message.endswith(".")
    assert len(outcome.message) > 20


@pytest.mark.parametrize("check_id", sorted(c for c, (_, na) in CASES.items() if na is not None))
def test_check_not_applicable(check_id):
    facts, ctx = CASES[check_id][1]
    outcome = REGISTRY[check_id](facts, ctx)
    assert outcome.status == CheckStatus.NOT_APPLICABLE, outcome.message


@pytest.mark.parametrize("check_id", sorted(c for c, (_, na) in CASES.items() if na is None))
def test_always_applicable_check_is_never_not_applicable_on_sparse_facts(check_id):
    # These controls apply to every Lambda function; sparse facts fail, never skip.
    sparse = compliant(
        aliases=[],
        alarms=[],
        deployment_group=None,
        code_signing=None,
        tags={},
        reserved_concurrency=None,
        log_group=None,
        policy=None,
    )
    assert REGISTRY[check_id](sparse, CTX).status != CheckStatus.NOT_APPLICABLE


@pytest.mark.parametrize("check_id", sorted(r for r, fn in REGISTRY.items() if fn.needs))
def test_uncollected_facts_give_error_never_pass(check_id):
    family = REGISTRY[check_id].needs[0]
    facts = compliant(unavailable={family: "AWS kept throttling ListAliases after retries."})
    outcome = REGISTRY[check_id](facts, CTX)
    assert outcome.status == CheckStatus.ERROR
    assert "throttling" in outcome.message


def test_unexpected_collector_failure_makes_every_check_error():
    facts = compliant(unavailable={"collector": "Unexpected error: KeyError."})
    for check_id, outcome in evaluate_all(facts, CTX).items():
        if REGISTRY[check_id].needs or check_id.startswith("lambda."):
            assert outcome.status == CheckStatus.ERROR, check_id


def test_iam_checks_error_when_role_is_missing():
    outcome = REGISTRY["iam.permission_boundary"](compliant(role=None), CTX)
    assert outcome.status == CheckStatus.ERROR
    assert "was not found" in outcome.message


# --- not applicable because the catalog does not require the control -------------------------
# Checks whose own logic never yields not-applicable (CASES[...][1] is None) are still not
# applicable when the catalog's applicability rule excludes the service: the ``check``
# decorator answers from ``CheckContext.not_required`` before the check runs.


def _not_required_by_catalog(profile: dict) -> dict[str, str]:
    """``not_required_for`` on the shipped catalog's files (no database)."""
    from collection.checks.applicability import not_required
    from controls.services import read_catalog

    rules = [
        (c["code"], (c.get("check") or {}).get("id", ""), c.get("applicability") or {})
        for c in read_catalog().controls
    ]
    return not_required(rules, profile)


# The smallest service: every applicability rule of the shipped catalog excludes it.
SMALL_SERVICE = {
    "tier": 4,
    "data_classification": "public",
    "uses_api_gateway": False,
    "uses_async_invocation": False,
    "uses_event_source_mapping": False,
    "requires_vpc": False,
    "internet_facing": False,
}
NOT_REQUIRED_CTX = CheckContext(
    profile=SMALL_SERVICE,
    not_required=_not_required_by_catalog(SMALL_SERVICE),
    today=date(2026, 11, 28),
)
# check id -> the control whose rule makes it not applicable (among checks without an N/A
# path of their own).
CATALOG_NOT_APPLICABLE = {
    "lambda.insights_extension": "PRR-OBS-009",
    "lambda.provisioned_concurrency": "PRR-RUN-006",
    "logs.kms_encrypted": "PRR-DAT-005",
}
# Checks that apply to every Lambda function of every service: neither their logic nor the
# catalog ever makes them not applicable (only a catalog rule added later could).
NEVER_NOT_APPLICABLE = {
    "lambda.timeout_configured",
    "lambda.memory_configured",
    "lambda.arm64_architecture",
    "lambda.log_format_json",
    "lambda.tags_required",
    "lambda.reserved_concurrency",
    "lambda.published_version",
    "lambda.alias_not_latest",
    "codedeploy.canary_config",
    "codedeploy.alarm_rollback",
    "lambda.code_signing_enforced",
    "lambda.tracing_active",
    "cloudwatch.errors_alarm",
    "cloudwatch.throttles_alarm",
    "cloudwatch.duration_alarm",
    "cloudwatch.concurrency_alarm",
    "logs.retention_set",
    "lambda.policy_not_public",
    "iam.no_wildcard_actions",
    "iam.no_wildcard_resources",
    "iam.no_admin_policies",
    "iam.permission_boundary",
    "iam.role_not_shared",
    "iam.no_passrole_wildcard",
    "iam.trust_lambda_only",
    "iam.no_cross_account_trust",
    "securityhub.no_critical_findings",
}


def test_every_check_without_its_own_not_applicable_case_is_accounted_for():
    without = {c for c, (_, na) in CASES.items() if na is None}
    assert without == set(CATALOG_NOT_APPLICABLE) | NEVER_NOT_APPLICABLE
    assert not set(CATALOG_NOT_APPLICABLE) & NEVER_NOT_APPLICABLE
    assert not NEVER_NOT_APPLICABLE & set(NOT_REQUIRED_CTX.not_required)


@pytest.mark.parametrize("check_id", sorted(CATALOG_NOT_APPLICABLE))
def test_check_not_applicable_when_the_catalog_does_not_require_it(check_id):
    # The failing facts: the check would fail if the control applied.
    outcome = REGISTRY[check_id](CASES[check_id][0], NOT_REQUIRED_CTX)
    assert outcome.status == CheckStatus.NOT_APPLICABLE, outcome.message
    assert outcome.message.startswith(
        f"Not required for this service: {CATALOG_NOT_APPLICABLE[check_id]} applies only when "
    )
    assert outcome.message.endswith("; payments-api was not evaluated.")
    assert outcome.resource == ARN


@pytest.mark.parametrize("check_id", sorted(CATALOG_NOT_APPLICABLE))
def test_check_still_fails_when_the_catalog_requires_it(check_id):
    context = CheckContext(
        profile={
            **SMALL_SERVICE,
            "tier": 1,
            "uses_api_gateway": True,
            "data_classification": "pci",
        },
        not_required={},
        today=date(2026, 11, 28),
    )
    assert REGISTRY[check_id](CASES[check_id][0], context).status == CheckStatus.FAIL


@pytest.mark.parametrize("check_id", sorted(CHECK_IDS))
def test_every_check_is_not_applicable_when_not_required(check_id):
    context = CheckContext(not_required={check_id: "PRR-X-001 applies only when tier ≤ 1"})
    outcome = REGISTRY[check_id](CASES[check_id][0], context)
    assert outcome.status == CheckStatus.NOT_APPLICABLE
    assert outcome.message == (
        "Not required for this service: PRR-X-001 applies only when tier ≤ 1; "
        "payments-api was not evaluated."
    )
    assert outcome.resource == ARN


@pytest.mark.parametrize("check_id", sorted(r for r, fn in REGISTRY.items() if fn.needs))
def test_not_required_comes_before_uncollected_facts(check_id):
    # Facts that could not be collected make a check ``error``; not for a control the
    # service need not meet.
    family = REGISTRY[check_id].needs[0]
    facts = compliant(unavailable={family: "AccessDenied", "collector": "AccessDenied"})
    context = CheckContext(not_required={check_id: "a reason"})
    assert REGISTRY[check_id](facts, context).status == CheckStatus.NOT_APPLICABLE
    assert REGISTRY[check_id](facts, CheckContext()).status == CheckStatus.ERROR


def test_other_checks_are_evaluated_when_some_are_not_required():
    outcomes = evaluate_all(
        compliant(function__tracing_mode="PassThrough"),
        CheckContext(not_required={"lambda.insights_extension": "a reason"}),
    )
    assert outcomes["lambda.insights_extension"].status == CheckStatus.NOT_APPLICABLE
    assert outcomes["lambda.tracing_active"].status == CheckStatus.FAIL
