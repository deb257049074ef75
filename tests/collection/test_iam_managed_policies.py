"""Execution roles are judged on every policy they carry, AWS-managed ones included.

GetAccountAuthorizationDetails is asked for the roles and the account's own policies only;
the document of each distinct AWS-managed policy attached to a role is read with IAM GetPolicy
and GetPolicyVersion, once per run. A policy whose document could not be read makes the checks
that read documents ``error``, never ``pass``. The permission boundary must be an approved one.
"""

import datetime
import json
import os
from urllib.parse import quote

import pytest
from botocore.stub import Stubber

from audit.context import Actor
from collection import conf
from collection.aws import clients, collect
from collection.checks import REGISTRY, CheckContext
from collection.choices import CheckStatus
from tests.collection.conftest import seeded_emulator
from tests.collection.facts_samples import ACCOUNT, compliant

DOCUMENT_CHECKS = (
    "iam.no_wildcard_actions",
    "iam.no_wildcard_resources",
    "iam.no_admin_policies",
    "iam.no_passrole_wildcard",
)
S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
XRAY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
S3_FULL_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}],
}
ADMIN_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
XRAY_DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": ["*"],
        }
    ],
}
CTX = CheckContext(today=datetime.date(2026, 11, 28))


def only_attached(*policies):
    """Compliant facts whose role carries nothing but ``policies`` (attached, no inline)."""
    facts = compliant()
    facts["role"]["inline_policies"] = []
    facts["role"]["attached_policies"] = list(policies)
    return facts


def aws_policy(arn, document, **extra):
    return {
        "name": arn.rsplit("/", 1)[-1],
        "arn": arn,
        "aws_managed": True,
        "document": document,
        **extra,
    }


def outcome(check_id, facts, ctx=CTX):
    return REGISTRY[check_id](facts, ctx)


# --- checks on plain dicts ---------------------------------------------------------------


def test_a_role_with_only_amazon_s3_full_access_fails_the_wildcard_checks():
    facts = only_attached(aws_policy(S3_FULL, S3_FULL_DOC))

    actions = outcome("iam.no_wildcard_actions", facts)
    resources = outcome("iam.no_wildcard_resources", facts)

    assert actions.status == CheckStatus.FAIL
    assert "AmazonS3FullAccess: s3:*" in actions.message
    assert resources.status == CheckStatus.FAIL
    assert "AmazonS3FullAccess: s3:*" in resources.message
    assert outcome("iam.no_admin_policies", facts).status == CheckStatus.PASS
    assert outcome("iam.no_passrole_wildcard", facts).status == CheckStatus.PASS


def test_a_role_with_only_administrator_access_fails_every_document_check():
    facts = only_attached(aws_policy(ADMIN, ADMIN_DOC))

    for check_id in DOCUMENT_CHECKS:
        result = outcome(check_id, facts)
        assert result.status == CheckStatus.FAIL, (check_id, result.message)
        assert "AdministratorAccess" in result.message


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws-us-gov:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/job-function/PowerUserAccess",
    ],
)
def test_administrator_policies_are_recognized_by_arn_even_unread(arn):
    facts = only_attached({"name": "renamed", "arn": arn, "aws_managed": True, "document": None})

    result = outcome("iam.no_admin_policies", facts)

    assert result.status == CheckStatus.FAIL
    assert "administrator access (renamed)" in result.message
    assert "Also unreadable: renamed" in result.message


@pytest.mark.parametrize("check_id", DOCUMENT_CHECKS)
def test_an_unreadable_aws_managed_policy_makes_the_check_an_error_naming_it(check_id):
    reason = (
        "The collector role arn:aws:iam::123456789012:role/c is not allowed to call GetPolicy: "
        "add it to the role's read-only policy."
    )
    facts = only_attached(aws_policy(S3_FULL, None, unavailable=reason))

    result = outcome(check_id, facts)

    assert result.status == CheckStatus.ERROR
    assert "AmazonS3FullAccess" in result.message
    assert S3_FULL in result.message
    assert "not allowed to call GetPolicy" in result.message


@pytest.mark.parametrize("check_id", DOCUMENT_CHECKS)
def test_a_policy_without_a_document_is_never_skipped(check_id):
    facts = compliant()  # its inline policy passes every check
    facts["role"]["attached_policies"] = [
        {"name": "team-extra", "arn": f"arn:aws:iam::{ACCOUNT}:policy/x", "document": None}
    ]

    result = outcome(check_id, facts)

    assert result.status == CheckStatus.ERROR
    assert "team-extra" in result.message


def test_a_readable_violation_still_fails_when_another_policy_is_unreadable():
    facts = only_attached(
        aws_policy(S3_FULL, S3_FULL_DOC), aws_policy(BASIC, None, unavailable="Throttled.")
    )

    result = outcome("iam.no_wildcard_actions", facts)

    assert result.status == CheckStatus.FAIL
    assert "AmazonS3FullAccess: s3:*" in result.message
    assert "AWSLambdaBasicExecutionRole" in result.message


def test_a_least_privilege_aws_managed_policy_passes_once_read():
    facts = compliant()
    facts["role"]["attached_policies"] = [aws_policy(XRAY, XRAY_DOC)]

    for check_id in DOCUMENT_CHECKS:
        assert outcome(check_id, facts).status == CheckStatus.PASS, check_id


def test_lambda_basic_execution_role_writes_logs_on_any_resource():
    facts = compliant()
    facts["role"]["attached_policies"] = [
        aws_policy(
            BASIC,
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream"],
                        "Resource": "*",
                    }
                ]
            },
        )
    ]

    result = outcome("iam.no_wildcard_resources", facts)

    assert result.status == CheckStatus.FAIL
    assert "AWSLambdaBasicExecutionRole: logs:CreateLogGroup" in result.message


# --- permission boundary ---------------------------------------------------------------------

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundary"  # the compliant sample's boundary


def test_without_approved_boundaries_any_boundary_but_an_admin_policy_passes_and_says_so():
    result = outcome("iam.permission_boundary", compliant())

    assert result.status == CheckStatus.PASS
    assert BOUNDARY in result.message
    assert "no approved boundaries are configured" in result.message


@pytest.mark.parametrize(
    "boundary",
    [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws-cn:iam::aws:policy/IAMFullAccess",
    ],
)
def test_an_aws_administrative_boundary_fails(boundary):
    facts = compliant()
    facts["role"]["permission_boundary_arn"] = boundary

    result = outcome("iam.permission_boundary", facts)

    assert result.status == CheckStatus.FAIL
    assert boundary in result.message


def test_an_approved_boundary_passes():
    ctx = CheckContext(approved_boundary_arns=(BOUNDARY,), today=CTX.today)

    result = outcome("iam.permission_boundary", compliant(), ctx)

    assert result.status == CheckStatus.PASS
    assert f"approved permission boundary {BOUNDARY}" in result.message


def test_an_approved_boundary_may_be_named_for_every_account():
    ctx = CheckContext(approved_boundary_arns=("arn:aws:iam::*:policy/boundary",))

    assert outcome("iam.permission_boundary", compliant(), ctx).status == CheckStatus.PASS


def test_a_boundary_that_is_not_approved_fails_naming_it():
    ctx = CheckContext(approved_boundary_arns=(f"arn:aws:iam::{ACCOUNT}:policy/bank-app-boundary",))

    result = outcome("iam.permission_boundary", compliant(), ctx)

    assert result.status == CheckStatus.FAIL
    assert f"permission boundary {BOUNDARY}, which is not an approved boundary" in result.message
    assert "bank-app-boundary" in result.message


def test_no_boundary_still_fails():
    facts = compliant()
    facts["role"]["permission_boundary_arn"] = ""

    result = outcome("iam.permission_boundary", facts)

    assert result.status == CheckStatus.FAIL
    assert "has no permission boundary" in result.message


def test_approved_boundaries_are_read_from_the_environment_or_settings(monkeypatch, settings):
    monkeypatch.delenv("COLLECTION_APPROVED_BOUNDARY_ARNS", raising=False)
    assert conf.approved_boundary_arns() == []
    monkeypatch.setenv(
        "COLLECTION_APPROVED_BOUNDARY_ARNS", " arn:aws:iam::*:policy/a , arn:aws:iam::1:policy/b,"
    )
    assert conf.approved_boundary_arns() == ["arn:aws:iam::*:policy/a", "arn:aws:iam::1:policy/b"]
    settings.COLLECTION_APPROVED_BOUNDARY_ARNS = ["arn:aws:iam::2:policy/c"]
    assert conf.approved_boundary_arns() == ["arn:aws:iam::2:policy/c"]


# --- collection, with botocore Stubber answers ----------------------------------------------

CREDS = clients.Credentials("AKIDSTUB", "secret", "token", 4102444800.0)
REGION = "eu-west-1"


@pytest.fixture
def ctx(settings):
    settings.AWS_ENDPOINT_URL = ""
    clients.clear_cache()
    yield collect.RegionContext(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:role/c", CREDS)
    clients.clear_cache()


def role_detail(name, *attached):
    return {
        "RoleName": name,
        "RoleId": "AROAEXAMPLEROLEID0001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "Path": "/",
        "CreateDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "AssumeRolePolicyDocument": quote(json.dumps({"Statement": []})),
        "RolePolicyList": [],
        "AttachedManagedPolicies": [
            {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in attached
        ],
    }


def meta(request_id):
    return {"RequestId": request_id, "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}


def stub_policy(iam, arn, version, document, n):
    """GetPolicy then GetPolicyVersion of ``arn`` (request ids gp-n, gpv-n; URL-encoded
    document, as IAM sends it)."""
    iam.add_response(
        "get_policy",
        {"Policy": {"Arn": arn, "DefaultVersionId": version}, "ResponseMetadata": meta(f"gp-{n}")},
        {"PolicyArn": arn},
    )
    iam.add_response(
        "get_policy_version",
        {
            "PolicyVersion": {"Document": quote(json.dumps(document)), "VersionId": version},
            "ResponseMetadata": meta(f"gpv-{n}"),
        },
        {"PolicyArn": arn, "VersionId": version},
    )


def test_each_distinct_aws_managed_policy_is_read_once_and_recorded(ctx):
    local = f"arn:aws:iam::{ACCOUNT}:policy/team"
    iam = Stubber(ctx.client("iam"))
    iam.add_response(
        "get_account_authorization_details",
        {
            "RoleDetailList": [
                role_detail("a-role", S3_FULL, local),
                role_detail("b-role", S3_FULL, BASIC),
                role_detail("c-role", BASIC, ADMIN),
            ],
            "Policies": [
                {
                    "PolicyName": "team",
                    "Arn": local,
                    "DefaultVersionId": "v1",
                    "PolicyVersionList": [
                        {
                            "Document": quote(json.dumps(XRAY_DOC)),
                            "VersionId": "v1",
                            "IsDefaultVersion": True,
                        }
                    ],
                }
            ],
            "IsTruncated": False,
            "ResponseMetadata": meta("gaad-1"),
        },
        {"Filter": ["Role", "LocalManagedPolicy"], "MaxItems": 1000},
    )
    # Sorted by ARN: AdministratorAccess, AmazonS3FullAccess, service-role/AWSLambdaBasic...
    stub_policy(iam, ADMIN, "v1", ADMIN_DOC, 1)
    stub_policy(iam, S3_FULL, "v2", S3_FULL_DOC, 2)
    iam.add_client_error(
        "get_policy",
        service_error_code="AccessDenied",
        service_message="not authorized to perform: iam:GetPolicy",
        http_status_code=403,
        expected_params={"PolicyArn": BASIC},
    )
    iam.activate()

    with clients.recording() as log:
        roles = collect.iam_roles(ctx)

    iam.assert_no_pending_responses()
    ops = [(c["operation"], c["request_id"]) for c in log.calls]
    assert ops[:5] == [
        ("iam:GetAccountAuthorizationDetails", "gaad-1"),
        ("iam:GetPolicy", "gp-1"),
        ("iam:GetPolicyVersion", "gpv-1"),
        ("iam:GetPolicy", "gp-2"),
        ("iam:GetPolicyVersion", "gpv-2"),
    ]
    assert [c["operation"] for c in log.calls].count("iam:GetPolicy") == 3  # once per ARN
    by_arn = {p["arn"]: p for role in roles.values() for p in role["attached_policies"]}
    assert by_arn[S3_FULL]["document"] == S3_FULL_DOC  # URL-decoded
    assert by_arn[ADMIN]["document"] == ADMIN_DOC
    assert by_arn[local]["document"] == XRAY_DOC and not by_arn[local]["aws_managed"]
    assert by_arn[BASIC]["document"] is None
    assert "not allowed to call GetPolicy" in by_arn[BASIC]["unavailable"]

    a_role = {**roles[f"arn:aws:iam::{ACCOUNT}:role/a-role"], "used_by": ["payments-api"]}
    b_role = {**roles[f"arn:aws:iam::{ACCOUNT}:role/b-role"], "used_by": ["payments-api"]}
    assert outcome("iam.no_wildcard_actions", compliant(role=a_role)).status == CheckStatus.FAIL
    assert outcome("iam.no_admin_policies", compliant(role=a_role)).status == CheckStatus.PASS
    unread = outcome("iam.no_admin_policies", compliant(role=b_role))
    assert unread.status == CheckStatus.ERROR
    assert "AWSLambdaBasicExecutionRole" in unread.message
    assert "not allowed to call GetPolicy" in unread.message


def test_no_aws_managed_policy_attached_means_no_extra_call(ctx):
    iam = Stubber(ctx.client("iam"))
    iam.add_response(
        "get_account_authorization_details",
        {"RoleDetailList": [role_detail("a-role")], "Policies": [], "IsTruncated": False},
        {"Filter": ["Role", "LocalManagedPolicy"], "MaxItems": 1000},
    )
    iam.activate()

    with clients.recording() as log:
        collect.iam_roles(ctx)

    iam.assert_no_pending_responses()
    assert [c["operation"] for c in log.calls] == ["iam:GetAccountAuthorizationDetails"]


# --- end to end, against an emulator that holds AWS's managed policies ----------------------


@pytest.fixture(scope="module")
def managed_policies_emulator():
    """An emulator of this module's own, started with moto's AWS-managed policies loaded
    (the session's shared emulator may run without them)."""
    previous = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    try:
        with seeded_emulator(functions=1, prefix="payments-bulk-") as url:
            yield url
    finally:
        if previous is None:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = previous


@pytest.mark.django_db
def test_a_run_reads_the_aws_managed_policies_of_the_seeded_roles(
    managed_policies_emulator,
    settings,
    owner,
    payments_target,
    django_capture_on_commit_callbacks,
):
    from collection.models import CheckResult
    from collection.services import collection_run_start

    settings.AWS_ENDPOINT_URL = managed_policies_emulator
    clients.clear_cache()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
        run.refresh_from_db()
    finally:
        clients.clear_cache()

    assert run.functions_evaluated == 4, run.error_summary
    bulk = [c for c in run.region_runs.get().bulk_operations if c["operation"].startswith("iam:")]
    assert [c["operation"] for c in bulk] == [
        "iam:GetAccountAuthorizationDetails",
        "iam:GetPolicy",  # AdministratorAccess
        "iam:GetPolicyVersion",
        "iam:GetPolicy",  # AWSXRayDaemonWriteAccess, attached to three roles
        "iam:GetPolicyVersion",
    ]
    assert all(c["request_id"] for c in bulk)

    api = run.snapshots.get(resource_id="payments-api").facts["role"]["attached_policies"]
    assert [(p["arn"], p["document"]["Statement"][0]["Action"][0]) for p in api] == [
        (XRAY, "xray:PutTraceSegments")
    ]
    results = {
        (r.snapshot.resource_id, r.check_id): r
        for r in CheckResult.objects.filter(run=run, check_id__startswith="iam.").select_related(
            "snapshot"
        )
    }
    for check_id in DOCUMENT_CHECKS:
        assert results[("payments-api", check_id)].status == CheckStatus.PASS
        public = results[("payments-public", check_id)]
        assert public.status == CheckStatus.FAIL, (check_id, public.message)
        assert "AdministratorAccess" in public.message
    public_role = run.snapshots.get(resource_id="payments-public").facts["role"]
    assert public_role["attached_policies"][0]["arn"] == ADMIN


@pytest.mark.parametrize(
    "boundary, passes",
    [
        ("arn:aws:iam::123456789012:policy/app-boundary", True),
        ("arn:aws:iam::210987654321:policy/app-boundary", True),
        # A path holding ":policy/" must not let "*" in the account field reach into it.
        ("arn:aws:iam::123456789012:policy/x:policy/app-boundary", False),
        ("arn:aws:iam::123456789012:policy/team/app-boundary", False),
        ("arn:aws:iam::123456789012:policy/app-boundary-wide", False),
    ],
)
def test_approved_boundary_patterns_match_field_by_field(boundary, passes):
    facts = compliant()
    facts["role"]["permission_boundary_arn"] = boundary
    ctx = CheckContext(approved_boundary_arns=("arn:aws:iam::*:policy/app-boundary",))
    outcome = REGISTRY["iam.permission_boundary"](facts, ctx)
    assert (outcome.status == CheckStatus.PASS) is passes, outcome.message
