"""SARIF scan results become valid Security Hub findings (checked against botocore's model)."""

import importlib.util
import json
from datetime import UTC, datetime

import botocore.session
from botocore.validate import ParamValidator

from tests.guardrails.conftest import FIXTURES, GUARDRAILS

spec = importlib.util.spec_from_file_location(
    "sarif_to_asff", GUARDRAILS / "pipeline" / "sarif_to_asff.py"
)
sarif_to_asff = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sarif_to_asff)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _convert(sarif, commit="abc123"):
    return sarif_to_asff.convert(
        sarif,
        account="111122223333",
        region="eu-west-1",
        repository="bank/payments-api",
        commit=commit,
        now=NOW,
    )


def _codeql():
    return json.loads((FIXTURES / "sarif" / "codeql.sarif").read_text())


def _validate(findings):
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()


def test_codeql_results_become_valid_asff_findings():
    findings = _convert(_codeql())
    _validate(findings)
    assert [f["Severity"]["Label"] for f in findings] == ["HIGH", "CRITICAL"]
    first = findings[0]
    assert first["ProductArn"] == (
        "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
    )
    assert first["Resources"][0]["Id"] == "bank/payments-api/src/payments/api.py:42"
    assert first["ProductFields"]["prr/commit"] == "abc123"


def test_finding_ids_are_stable_across_commits():
    ids = [f["Id"] for f in _convert(_codeql(), commit="one")]
    assert ids == [f["Id"] for f in _convert(_codeql(), commit="two")]
    assert len(set(ids)) == len(ids)


def test_level_decides_severity_without_a_score():
    sarif = {
        "runs": [
            {
                "tool": {"driver": {"name": "Checkov", "rules": []}},
                "results": [
                    {"ruleId": "CKV_AWS_116", "level": "warning", "message": {"text": "no DLQ"}},
                    {"ruleId": "CKV_AWS_117", "level": "note", "message": {"text": "no VPC"}},
                ],
            }
        ]
    }
    findings = _convert(sarif)
    _validate(findings)
    assert [f["Severity"]["Label"] for f in findings] == ["MEDIUM", "LOW"]
    assert findings[0]["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]


def test_batches_respect_the_import_limit(tmp_path):
    result = {"ruleId": "r", "message": {"text": "m"}}
    sarif = {
        "runs": [
            {
                "tool": {"driver": {"name": "CodeQL", "rules": []}},
                "results": [{**result, "locations": [_loc(i)]} for i in range(250)],
            }
        ]
    }
    source = tmp_path / "scan.sarif"
    source.write_text(json.dumps(sarif))
    out = tmp_path / "asff"
    args = ["--account", "111122223333", "--region", "eu-west-1", "--repository", "o/r"]
    assert sarif_to_asff.main([*args, "--commit", "c", "--out", str(out), str(source)]) == 0
    sizes = [len(json.loads(p.read_text())) for p in sorted(out.glob("*.json"))]
    assert sizes == [100, 100, 50]


def _loc(line):
    return {
        "physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": line}}
    }
