"""CI evidence ingestion: each format parsed, judged and mapped to its control; malformed or
oversized uploads refused with nothing stored."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from evidence.models import Evidence
from tests.factories import ControlFactory
from tests.gate.helpers import COMMIT, OTHER_COMMIT, all_passing, approve, bearer, post_json

URL = "/api/v1/services/payments-api/ci-evidence"


def sarif(results=(), rules=()):
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {"tool": {"driver": {"name": "CodeQL", "rules": list(rules)}}, "results": list(results)}
        ],
    }


def sarif_result(rule="js/sql-injection", level="error", **extra):
    return {"ruleId": rule, "level": level, "message": {"text": f"{rule} here"}, **extra}


CHECKOV_CLEAN = {
    "check_type": "cloudformation",
    "results": {
        "passed_checks": [{"check_id": "CKV_AWS_45"}],
        "failed_checks": [],
        "skipped_checks": [{"check_id": "CKV_AWS_117", "suppress_comment": "no VPC"}],
    },
    "summary": {"passed": 1, "failed": 0, "skipped": 1, "parsing_errors": 0},
}
CHECKOV_FAILING = {
    "check_type": "cloudformation",
    "results": {
        "passed_checks": [],
        "failed_checks": [
            {
                "check_id": "CKV_AWS_116",
                "severity": "HIGH",
                "resource": "AWS::Lambda::Function.Fn",
                "file_path": "/template.yaml",
            }
        ],
        "skipped_checks": [],
    },
    "summary": {"passed": 0, "failed": 1, "skipped": 0, "parsing_errors": 0},
}
JUNIT_PASS = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2">
<testcase classname="tests.test_handler" name="test_ok"/>
<testcase classname="tests.test_handler" name="test_skip"><skipped message="later"/></testcase>
</testsuite></testsuites>"""
JUNIT_FAIL = """<testsuite name="pytest" tests="2">
<testcase classname="tests.test_handler" name="test_ok"/>
<testcase classname="tests.test_handler" name="test_boom"><failure message="boom"/></testcase>
</testsuite>"""
CYCLONEDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "version": 1,
    "metadata": {"tools": [{"name": "cyclonedx-py"}]},
    "components": [{"type": "library", "name": "boto3", "version": "1.38.0"}],
}
SIGNER = {
    "jobId": "2a3b4c5d-1111-2222-3333-444455556666",
    "source": {"s3": {"bucketName": "artifacts", "key": "app.zip", "version": "1"}},
    "signedObject": {"s3": {"bucketName": "signed", "key": "signed/app.zip"}},
    "platformId": "AWSLambda-SHA384-ECDSA",
    "profileName": "payments_signing",
    "profileVersion": "a1b2c3",
    "status": "Succeeded",
}


@pytest.fixture
def ci(admin_user, service):
    from tests.gate.helpers import service_token

    return service_token(admin_user, [service])[1]


@pytest.fixture
def cicd_controls(catalog):
    version, _ = catalog
    for code in (
        "PRR-CICD-002",
        "PRR-CICD-003",
        "PRR-CICD-004",
        "PRR-CICD-005",
        "PRR-CICD-006",
        "PRR-CHG-005",
    ):
        ControlFactory(catalog_version=version, code=code, section="cicd")
    return version


def upload(client, raw, fmt, content, commit=COMMIT, **extra):
    return post_json(
        client,
        URL,
        {"format": fmt, "commit_sha": commit, "content": content, **extra},
        **bearer(raw),
    )


@pytest.mark.parametrize(
    ("fmt", "content", "outcome", "control", "summary"),
    [
        ("sarif", sarif(), "pass", "PRR-CICD-003", "no critical/high findings"),
        ("sarif", sarif([sarif_result()]), "fail", "PRR-CICD-003", "1 critical/high"),
        ("sarif", sarif([sarif_result(level="warning")]), "pass", "PRR-CICD-003", "1 medium"),
        (
            "sarif",
            sarif(
                [sarif_result(level="note", rule="r1")],
                rules=[{"id": "r1", "properties": {"security-severity": "9.8"}}],
            ),
            "fail",
            "PRR-CICD-003",
            "1 critical/high",
        ),
        (
            "sarif",
            sarif([sarif_result(suppressions=[{"kind": "inSource"}])]),
            "pass",
            "PRR-CICD-003",
            "no critical/high",
        ),
        ("checkov", CHECKOV_CLEAN, "pass", "PRR-CICD-005", "clean"),
        ("checkov", [CHECKOV_CLEAN, CHECKOV_FAILING], "fail", "PRR-CICD-005", "1 failed"),
        ("junit", JUNIT_PASS, "pass", "PRR-CICD-006", "all 1 test(s) passed (1 skipped)"),
        ("junit", JUNIT_FAIL, "fail", "PRR-CICD-006", "1 of 2 test(s) failed"),
        ("cyclonedx", CYCLONEDX, "pass", "PRR-CICD-004", "1 component(s)"),
        (
            "cyclonedx",
            {
                **CYCLONEDX,
                "vulnerabilities": [{"id": "CVE-2026-0001", "ratings": [{"severity": "critical"}]}],
            },
            "fail",
            "PRR-CICD-004",
            "1 open critical",
        ),
        (
            "cyclonedx",
            {
                **CYCLONEDX,
                "vulnerabilities": [
                    {
                        "id": "CVE-2026-0001",
                        "ratings": [{"severity": "critical"}],
                        "analysis": {"state": "not_affected"},
                    }
                ],
            },
            "pass",
            "PRR-CICD-004",
            "no open",
        ),
        ("signer", SIGNER, "pass", "PRR-CICD-002", "signed by profile payments_signing"),
        (
            "signer",
            {**SIGNER, "status": "Failed", "statusReason": "bad key"},
            "fail",
            "PRR-CICD-002",
            "is Failed",
        ),
    ],
)
def test_each_format_is_parsed_judged_and_mapped(
    client, ci, service, cicd_controls, fmt, content, outcome, control, summary
):
    response = upload(client, ci, fmt, content)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == outcome
    assert body["control"] == control
    assert summary in body["summary"]
    evidence = Evidence.objects.get(pk=body["evidence"])
    assert evidence.kind == "ci" and evidence.source_type == "ci"
    assert evidence.commit_sha == COMMIT
    assert evidence.control_code == control
    assert evidence.metadata["format"] == fmt and evidence.metadata["outcome"] == outcome
    assert AuditEvent.objects.filter(action="evidence.create", object_id=str(evidence.pk)).exists()


def test_a_multipart_file_is_stored_byte_for_byte(client, ci, service, cicd_controls):
    content = JUNIT_PASS.encode()
    response = client.post(
        URL,
        {
            "format": "junit",
            "commit_sha": COMMIT,
            "metadata": json.dumps({"run": "42"}),
            "file": SimpleUploadedFile("report.xml", content, content_type="application/xml"),
        },
        **bearer(ci),
    )

    assert response.status_code == 201, response.json()
    evidence = Evidence.objects.get()
    import hashlib

    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.original_filename == "report.xml"
    assert evidence.metadata["pipeline"] == {"run": "42"}


@pytest.mark.parametrize(
    ("fmt", "content", "fragment"),
    [
        ("sarif", {"version": "2.0.0", "runs": []}, "version must be 2.1.0"),
        ("sarif", {"version": "2.1.0", "runs": []}, "no runs"),
        ("sarif", {"version": "2.1.0", "runs": [{"results": []}]}, "tool.driver.name"),
        ("sarif", "not json at all", "not JSON"),
        ("checkov", {"check_type": "x"}, "no results object"),
        ("checkov", [], "no report"),
        ("junit", "<testsuite><testcase", "not well-formed"),
        ("junit", "<html><body/></html>", "root element"),
        ("junit", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite/>', "DTDs"),
        ("cyclonedx", {"bomFormat": "SPDX"}, "bomFormat"),
        ("cyclonedx", {"bomFormat": "CycloneDX", "specVersion": "9.9"}, "specVersion"),
        ("signer", {"status": "Succeeded"}, "jobId"),
        ("signer", {"jobId": "x", "status": "Weird"}, "status"),
        ("deployment", {"environment": "prod", "status": "succeeded"}, "gate_decision_id"),
        ("deployment", {"status": "succeeded"}, "environment"),
    ],
)
def test_malformed_uploads_are_400_and_store_nothing(
    client, ci, service, cicd_controls, fmt, content, fragment
):
    response = upload(client, ci, fmt, content)

    assert response.status_code == 400, response.json()
    assert fragment in response.json()["error"]["message"]
    assert "file" in response.json()["error"]["details"]
    assert not Evidence.objects.exists()


def test_an_oversized_upload_is_400(client, ci, service, settings):
    settings.GATE_CI_MAX_BYTES = 1024
    big = SimpleUploadedFile("results.sarif", b"{" + b" " * 4096 + b"}")

    response = client.post(
        URL, {"format": "sarif", "commit_sha": COMMIT, "file": big}, **bearer(ci)
    )

    assert response.status_code == 400
    assert "at most 1024 bytes" in response.json()["error"]["message"]
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "sarif", "commit_sha": COMMIT}, "file"),
        ({"format": "pdf", "commit_sha": COMMIT, "content": {}}, "format"),
        ({"format": "sarif", "content": sarif()}, "commit_sha"),
        ({"format": "sarif", "commit_sha": "xyz", "content": sarif()}, "commit_sha"),
    ],
)
def test_a_malformed_request_names_the_field(client, ci, service, body, field):
    response = post_json(client, URL, body, **bearer(ci))

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_a_deployment_record_proves_the_gate_allowed_it(
    client, ci, service, catalog, cicd_controls
):
    version, controls = catalog
    approve(service, version, controls)
    all_passing(service)
    decision = post_json(
        client,
        "/api/v1/gate",
        {"service": "payments-api", "environment": "prod", "commit_sha": COMMIT},
        **bearer(ci),
    ).json()
    record = {
        "environment": "prod",
        "status": "succeeded",
        "gate_decision_id": decision["decision_id"],
        "function_name": "payments-auth",
    }

    good = upload(client, ci, "deployment", record).json()
    wrong_commit = upload(client, ci, "deployment", record, commit=OTHER_COMMIT).json()
    wrong_env = upload(client, ci, "deployment", {**record, "environment": "staging"}).json()

    assert good["outcome"] == "pass" and good["control"] == "PRR-CHG-005"
    assert wrong_commit["outcome"] == "fail" and "commit" in wrong_commit["summary"]
    assert wrong_env["outcome"] == "fail" and "was for prod" in wrong_env["summary"]


def test_evidence_write_scope_is_required(client, owner, service):
    from tests.gate.helpers import user_token

    raw = user_token(owner, scopes=["read", "gate:check"])[1]

    response = upload(client, raw, "sarif", sarif())

    assert response.status_code == 403


def test_a_signed_in_outsider_cannot_upload(client_for, outsider, service):
    response = post_json(
        client_for(outsider), URL, {"format": "sarif", "commit_sha": COMMIT, "content": sarif()}
    )

    assert response.status_code == 404
    assert not Evidence.objects.exists()


def test_a_team_member_may_upload_in_a_session(client_for, owner, service):
    response = post_json(
        client_for(owner), URL, {"format": "sarif", "commit_sha": COMMIT, "content": sarif()}
    )

    assert response.status_code == 201
    assert Evidence.objects.get().produced_by == owner


def test_without_the_control_in_the_catalog_evidence_is_kept_unmapped(client, ci, service):
    response = upload(client, ci, "sarif", sarif())

    assert response.status_code == 201
    assert response.json()["control"] == ""
