"""Every guardrail file passes its ecosystem's own validator, offline, in the guardrails venv.

Each validator is also run on a deliberately broken fixture, to prove it would catch a problem.
"""

import json
import re

import pytest
import yaml

from tests.guardrails.conftest import FIXTURES, GUARDRAILS, ROOT

pytestmark = pytest.mark.slow

SCPS = sorted((GUARDRAILS / "scp").glob("*.json"))
TEMPLATES = [
    GUARDRAILS / "config" / "conformance-pack.yaml",
    GUARDRAILS / "config" / "custom-rules.yaml",
    GUARDRAILS / "iam" / "collector-role.yaml",
    GUARDRAILS / "iam" / "github-oidc-deploy-role.yaml",
    GUARDRAILS / "reference-app" / "template.yaml",
]
WORKFLOWS = sorted((GUARDRAILS / "pipeline").glob("*.yml"))
IAM_PATHS = [
    GUARDRAILS / "scp",
    GUARDRAILS / "iam",
    GUARDRAILS / "config" / "custom-rules.yaml",
    GUARDRAILS / "reference-app" / "template.yaml",
]


def test_scps_fit_the_size_limit():
    for path in SCPS:
        text = path.read_text()
        minified = json.dumps(json.loads(text), separators=(",", ":"))
        assert len(text) <= 5120, path.name
        assert len(minified) <= 5120, path.name


def test_policies_pass_the_iam_reference_and_parliament(iam_lint):
    code, report = iam_lint(*IAM_PATHS)
    assert report["findings"] == []
    assert code == 0
    checked = {p.rsplit("/", 1)[-1] for p in report["files"]}
    assert {p.name for p in SCPS} <= checked
    assert report["policies"] >= 20
    # Accepted parliament findings are few, known and explained.
    assert all(item["reason"] for item in report["accepted"])


def test_iam_checker_flags_the_design_example_and_broken_policies(iam_lint):
    code, report = iam_lint(FIXTURES / "scp")
    assert code == 1
    issues = {(f["file"].rsplit("/", 1)[-1], f["issue"]) for f in report["findings"]}
    details = " ".join(f["detail"] for f in report["findings"])
    # The original design's SCP: the key is never present on UpdateFunctionCode.
    assert ("design-example.json", "CONDITION_KEY_NOT_FOR_ACTION") in issues
    assert "lambda:CodeSigningConfigArn is not a condition key of lambda:UpdateFunctionCode" in (
        details
    )
    assert ("broken.json", "UNKNOWN_ACTION") in issues
    assert ("broken.json", "SCP_PRINCIPAL") in issues
    assert ("broken.json", "SCP_NOT_DENY") in issues
    assert ("oversized.json", "SCP_TOO_LARGE") in issues


def test_cfn_lint_passes_on_every_template(run_tool):
    result = run_tool("cfn-lint", "--format", "json", *TEMPLATES)
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_cfn_lint_flags_an_invalid_template(run_tool):
    result = run_tool("cfn-lint", "--format", "json", FIXTURES / "templates" / "invalid.yaml")
    rules = {m["Rule"]["Id"] for m in json.loads(result.stdout)}
    assert result.returncode != 0
    assert rules & {"E3002", "E3030", "E1010", "E3003"}, rules


def _checkov(run_tool, *paths):
    args = ["--framework", "cloudformation", "--skip-download", "-o", "json"]
    for path in paths:
        args += ["-f", path]
    result = run_tool("checkov", *args)
    reports = json.loads(result.stdout)
    return result, reports if isinstance(reports, list) else [reports]


def test_checkov_passes_with_only_documented_skips(run_tool):
    result, reports = _checkov(run_tool, *TEMPLATES)
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], [(c["check_id"], c["resource"], c["file_path"]) for c in failed]
    assert result.returncode == 0
    skipped = {
        (c["check_id"], c["resource"], c["check_result"].get("suppress_comment", ""))
        for r in reports
        for c in r["results"]["skipped_checks"]
    }
    readme = (GUARDRAILS / "README.md").read_text()
    for check_id, resource, reason in skipped:
        assert reason, f"{check_id} on {resource} is skipped without a reason"
        assert re.search(rf"\b{check_id}\b.*{resource.split('.')[-1]}", readme), (
            f"{check_id} ({resource}) is skipped but not listed in guardrails/README.md"
        )


def test_checkov_flags_an_insecure_template(run_tool):
    result, reports = _checkov(run_tool, FIXTURES / "templates" / "insecure.yaml")
    failed = {c["check_id"] for r in reports for c in r["results"]["failed_checks"]}
    assert result.returncode != 0
    assert {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_45"} <= failed, failed


def test_actionlint_passes_on_the_release_workflows(run_tool):
    result = run_tool("actionlint", "-format", "{{json .}}", *WORKFLOWS)
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_actionlint_and_shellcheck_flag_a_broken_workflow(run_tool):
    result = run_tool("actionlint", "-format", "{{json .}}", FIXTURES / "workflows" / "broken.yml")
    kinds = {e["kind"] for e in json.loads(result.stdout)}
    assert result.returncode == 1
    assert {"job-needs", "expression", "shellcheck"} <= kinds, kinds


def test_reference_app_handlers_pass_their_tests(run_tool):
    app = GUARDRAILS / "reference-app"
    result = run_tool("pytest", app, "-q", cwd=app)
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\b\d+ passed\b", result.stdout)


def test_release_workflow_has_the_designed_stages_and_no_aws_keys():
    release = yaml.safe_load((GUARDRAILS / "pipeline" / "release.yml").read_text())
    deploy = yaml.safe_load((GUARDRAILS / "pipeline" / "release-deploy.yml").read_text())
    assert list(release["jobs"]) == [
        "lint-test",
        "security-scan",
        "build",
        "sign",
        "deploy-staging",
        "deploy-production",
    ]
    assert release["jobs"]["deploy-production"]["with"]["gate"] is True
    text = (GUARDRAILS / "pipeline" / "release.yml").read_text() + json.dumps(deploy)
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert "role-to-assume" in text
    gate = next(s for s in deploy["jobs"]["deploy"]["steps"] if "gate" in s.get("name", ""))
    assert "/api/v1/gate" in gate["run"] and "failing closed" in gate["run"]
    assert deploy["jobs"]["deploy"]["steps"][0] is gate  # the gate runs before any deploy step


def test_validators_run_from_their_own_venv_not_the_portals(guardrails_venv):
    assert (guardrails_venv / "bin" / "checkov").exists()
    pyproject = (ROOT / "pyproject.toml").read_text().lower()
    for tool in ("checkov", "cfn-lint", "parliament", "policy_sentry", "actionlint"):
        assert tool not in pyproject
