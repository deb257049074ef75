"""Checks hold the catalog's whole pass condition, not only its first clause (plain dicts)."""

from datetime import UTC, date, datetime

import pytest
from botocore.stub import Stubber

from collection.aws import collect
from collection.checks import REGISTRY, CheckContext
from collection.choices import CheckStatus
from tests.collection.facts_samples import ACCOUNT, compliant

CTX = CheckContext(
    profile={"uses_async_invocation": True, "requires_vpc": True, "uses_api_gateway": True},
    today=date(2026, 11, 28),
)
PROFILE = "arn:aws:signer:us-east-1:1:/signing-profiles/p/1"


def run(check_id, facts):
    return REGISTRY[check_id](facts, CTX)


def test_the_compliant_sample_passes_every_tightened_check():
    for check_id in (
        "lambda.code_signing_enforced",
        "lambda.artifact_signed",
        "lambda.provisioned_concurrency",
        "secrets.rotation_enabled",
        "esm.stream_retry_bounded",
    ):
        outcome = run(check_id, compliant())
        assert outcome.status == CheckStatus.PASS, (check_id, outcome.message)


def test_code_signing_config_without_allowed_publishers_fails():
    facts = compliant()
    facts["code_signing"]["allowed_publishers"] = []
    outcome = run("lambda.code_signing_enforced", facts)
    assert outcome.status == CheckStatus.FAIL
    assert "names no allowed publisher" in outcome.message


@pytest.mark.parametrize(
    "field, missing",
    [("signing_job_arn", "SigningJobArn"), ("signing_profile_version_arn", "SigningProfile")],
)
def test_a_half_signature_fails(field, missing):
    facts = compliant()
    facts["function"][field] = ""
    outcome = run("lambda.artifact_signed", facts)
    assert outcome.status == CheckStatus.FAIL
    assert missing in outcome.message


def test_code_signed_by_a_profile_the_config_does_not_allow_fails():
    facts = compliant()
    facts["code_signing"]["allowed_publishers"] = [
        "arn:aws:signer:us-east-1:1:/signing-profiles/q/2"
    ]
    outcome = run("lambda.artifact_signed", facts)
    assert outcome.status == CheckStatus.FAIL
    assert PROFILE in outcome.message and "not in its code-signing config" in outcome.message


def test_signature_without_any_code_signing_config_cannot_show_the_publisher_is_allowed():
    facts = compliant()
    facts["code_signing"] = None
    outcome = run("lambda.artifact_signed", facts)
    assert outcome.status == CheckStatus.FAIL
    assert "none is attached" in outcome.message


def test_artifact_check_is_an_error_when_code_signing_configs_could_not_be_listed():
    facts = compliant()
    facts["unavailable"] = {"code_signing": "AccessDenied on ListCodeSigningConfigs"}
    assert run("lambda.artifact_signed", facts).status == CheckStatus.ERROR


@pytest.mark.parametrize(
    "config, words",
    [
        ({"status": "IN_PROGRESS", "allocated": 0}, "is IN_PROGRESS, not READY"),
        ({"status": "FAILED", "allocated": 0}, "is FAILED, not READY"),
        ({"status": "READY", "allocated": 0}, "0 of 2 executions allocated"),
    ],
)
def test_provisioned_concurrency_must_be_ready_and_allocated(config, words):
    facts = compliant()
    facts["provisioned_concurrency"] = [{"qualifier": "live", "requested": 2, **config}]
    outcome = run("lambda.provisioned_concurrency", facts)
    assert outcome.status == CheckStatus.FAIL
    assert words in outcome.message


@pytest.mark.parametrize("age", [None, -1])
def test_stream_mapping_with_unbounded_record_age_fails(age):
    facts = compliant()
    facts["event_source_mappings"][0]["maximum_record_age"] = age
    outcome = run("esm.stream_retry_bounded", facts)
    assert outcome.status == CheckStatus.FAIL
    assert "record age unbounded" in outcome.message


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"rotation_enabled": False}, "payments-api/db (rotation off)"),
        ({"rotation_days": 365.0}, "rotates every 365 days, more than 90"),
        ({"last_rotated": ""}, "never rotated"),
        ({"last_rotated": "2026-09-01"}, "88 days ago, beyond its 30-day period"),
        ({"rotation_days": None, "last_rotated": "2026-08-01"}, "beyond its 90-day period"),
    ],
)
def test_secret_rotation_needs_a_short_period_and_a_recent_rotation(changes, words):
    facts = compliant()
    facts["secrets"][0].update(changes)
    outcome = run("secrets.rotation_enabled", facts)
    assert outcome.status == CheckStatus.FAIL
    assert words in outcome.message


def test_rotation_exactly_one_period_ago_still_passes():
    facts = compliant()
    facts["secrets"][0].update(rotation_days=30.0, last_rotated="2026-10-29")
    assert run("secrets.rotation_enabled", facts).status == CheckStatus.PASS


class _Ctx:
    def __init__(self, client):
        self._client = client

    def client(self, service):
        return self._client


def test_secrets_listing_keeps_the_rotation_period_and_last_rotation():
    import botocore.session

    sm = botocore.session.get_session().create_client(
        "secretsmanager",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
    with Stubber(sm) as stub:
        stub.add_response(
            "list_secrets",
            {
                "SecretList": [
                    {
                        "ARN": arn + "a",
                        "Name": "a",
                        "RotationEnabled": True,
                        "RotationRules": {"AutomaticallyAfterDays": 30},
                        "LastRotatedDate": datetime(2026, 11, 2, 8, tzinfo=UTC),
                    },
                    {
                        "ARN": arn + "b",
                        "Name": "b",
                        "RotationEnabled": True,
                        "RotationRules": {"ScheduleExpression": "rate(12 hours)"},
                    },
                    {
                        "ARN": arn + "c",
                        "Name": "c",
                        "RotationEnabled": True,
                        "RotationRules": {"ScheduleExpression": "cron(0 8 1 * ? *)"},
                    },
                ]
            },
            {"MaxResults": 100},
        )
        got = collect.secrets(_Ctx(sm))
    assert [(s["name"], s["rotation_days"], s["last_rotated"]) for s in got] == [
        ("a", 30.0, "2026-11-02"),
        ("b", 0.5, ""),
        ("c", None, ""),
    ]
