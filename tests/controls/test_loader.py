from collections import Counter

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.context import Actor
from audit.models import AuditEvent
from collection.checks.ids import CHECK_IDS
from controls.choices import Section
from controls.models import CatalogVersion, Control, ControlMapping, Framework, Requirement
from controls.services import CatalogError, catalog_load, read_catalog
from portal.errors import DomainError

ACTOR = Actor.system("test")


def _edit(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _row_counts():
    return (
        CatalogVersion.objects.count(),
        Control.objects.count(),
        ControlMapping.objects.count(),
        Requirement.objects.count(),
    )


def test_load_catalog_command_loads_shipped_catalog_and_prints_summary(db, capsys):
    call_command("load_catalog")

    out = capsys.readouterr().out.strip()
    assert out.startswith("Loaded: catalog 2026.11.0 (current), 123 controls (53 automated)")
    assert len(out.splitlines()) == 1
    catalog = CatalogVersion.objects.get()
    assert catalog.is_current
    assert AuditEvent.objects.filter(action="catalog.load", object_id=str(catalog.pk)).count() == 1


def test_loading_same_catalog_twice_changes_nothing(catalog, capsys):
    before = _row_counts()
    events = AuditEvent.objects.count()

    call_command("load_catalog")

    assert _row_counts() == before
    assert AuditEvent.objects.count() == events
    assert "Already loaded (unchanged): catalog 2026.11.0" in capsys.readouterr().out


def test_changed_content_under_same_version_is_refused(catalog, catalog_copy):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][0].update(title="Cheaper functions"),
    )

    with pytest.raises(DomainError) as exc:
        catalog_load(actor=ACTOR, path=catalog_copy)

    assert exc.value.code == "conflict"
    assert "immutable" in exc.value.message
    assert Control.objects.get(code="PRR-COST-001").title == "Graviton (arm64) architecture"


def test_new_version_becomes_current_and_keeps_old_rows(catalog, catalog_copy):
    _edit(catalog_copy / "catalog.yaml", lambda d: d.update(version="2026.12.0"))

    result = catalog_load(actor=ACTOR, path=catalog_copy)

    assert result.created
    catalog.refresh_from_db()
    assert not catalog.is_current
    assert result.catalog_version.is_current
    assert catalog.controls.count() == result.catalog_version.controls.count() == 123
    assert CatalogVersion.objects.filter(is_current=True).count() == 1


def test_whitespace_and_comment_changes_are_not_content_changes(catalog, catalog_copy):
    path = catalog_copy / "controls" / "11-cost.yaml"
    path.write_text("# a new comment\n\n" + path.read_text())

    result = catalog_load(actor=ACTOR, path=catalog_copy)

    assert not result.created


def _problems(catalog_dir):
    with pytest.raises(CatalogError) as exc:
        catalog_load(actor=ACTOR, path=catalog_dir)
    return [str(problem) for problem in exc.value.problems]


def test_schema_error_names_file_path_and_reason_and_loads_nothing(db, catalog_copy):
    _edit(
        catalog_copy / "controls" / "05-runtime.yaml",
        lambda d: d["controls"][2].update(severity="urgent"),
    )

    problems = _problems(catalog_copy)

    assert any(
        p.endswith(
            "controls/05-runtime.yaml: controls[2].severity: "
            "'urgent' is not one of ['critical', 'high', 'medium', 'low']"
        )
        for p in problems
    )
    assert _row_counts() == (0, 0, 0, 0)


def test_yaml_syntax_error_is_reported_with_line(db, catalog_copy):
    (catalog_copy / "controls" / "11-cost.yaml").write_text("section: cost\ncontrols: [\n")

    problems = _problems(catalog_copy)

    assert any("11-cost.yaml: line" in p and "not valid YAML" in p for p in problems)


def test_duplicate_control_code_is_refused(db, catalog_copy):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][1].update(code="PRR-IAM-001"),
    )

    problems = _problems(catalog_copy)

    assert any(
        "11-cost.yaml: controls[1].code: duplicate control code PRR-IAM-001" in p for p in problems
    )
    assert CatalogVersion.objects.count() == 0


def test_mapping_to_unknown_requirement_is_refused(db, catalog_copy):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][1]["mappings"].update({"NIST-800-53-R5": ["AC-999"]}),
    )

    problems = _problems(catalog_copy)

    assert any(
        "11-cost.yaml: controls[1].mappings.NIST-800-53-R5[0]: unknown requirement "
        "NIST-800-53-R5 AC-999" in p
        for p in problems
    )


def test_mapping_to_unknown_framework_is_refused(db, catalog_copy):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][1]["mappings"].update({"COBIT-5": ["APO01"]}),
    )

    assert any("unknown framework COBIT-5" in p for p in _problems(catalog_copy))


def test_unknown_check_id_is_refused(db, catalog_copy):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][0]["check"].update(id="lambda.made_up"),
    )

    assert any(
        "11-cost.yaml: controls[0].check.id: unknown check id lambda.made_up" in p
        for p in _problems(catalog_copy)
    )


def test_check_backing_two_controls_is_refused(db, catalog_copy):
    def reuse(d):
        d["controls"][2]["check"] = {
            "id": "lambda.arm64_architecture",
            "reads": ["x"],
            "pass_condition": "y",
        }

    _edit(catalog_copy / "controls" / "11-cost.yaml", reuse)

    assert any("already backs PRR-COST-001" in p for p in _problems(catalog_copy))


def test_dangling_runbook_link_is_refused(db, catalog_copy):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][0].update(runbooks=["no-such-runbook"]),
    )

    assert any(
        "11-cost.yaml: controls[0].runbooks[0]: unknown runbook no-such-runbook" in p
        for p in _problems(catalog_copy)
    )


@pytest.mark.parametrize(
    "link",
    ["guardrails/nope.json", "guardrails/../pyproject.toml", "/etc/passwd", "manage.py"],
)
def test_guardrail_link_must_be_an_existing_file_under_guardrails(db, catalog_copy, link):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][0].update(guardrails=[link]),
    )

    assert any(
        "11-cost.yaml: controls[0].guardrails[0]: guardrail link" in p
        for p in _problems(catalog_copy)
    )


def test_invalid_applicability_rule_is_refused(db, catalog_copy):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][0].update(applicability={"field": "__class__", "equals": 1}),
    )

    assert any(
        "11-cost.yaml: controls[0].applicability/field: unknown field" in p
        for p in _problems(catalog_copy)
    )


def test_command_reports_problems_and_fails(db, catalog_copy, capsys):
    _edit(
        catalog_copy / "controls" / "11-cost.yaml",
        lambda d: d["controls"][0].update(runbooks=["no-such-runbook"]),
    )

    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_catalog", str(catalog_copy))

    assert "unknown runbook no-such-runbook" in capsys.readouterr().err
    assert CatalogVersion.objects.count() == 0


# --- the shipped content -------------------------------------------------------------------


def test_shipped_catalog_meets_content_counts(db):
    source = read_catalog()
    controls = source.controls
    codes = [c["code"] for c in controls]
    checks = [c["check"]["id"] for c in controls if c.get("check")]

    assert len(controls) >= 100
    assert sum(code.startswith("PRR-IAM-") for code in codes) >= 40
    assert len(checks) >= 45
    assert len(set(checks)) == len(checks)
    assert set(checks) <= set(CHECK_IDS)
    assert set(Counter(c["section"] for c in controls)) == set(Section.values)
    assert all(c["mappings"] for c in controls)
    assert {rb["slug"] for rb in source.runbooks} >= {
        "lambda-5xx-spike",
        "lambda-throttling",
        "dlq-growth-redrive",
        "secret-rotation",
        "runtime-upgrade",
        "canary-rollout",
        "rollback",
        "alarm-investigation",
        "log-analysis",
        "code-signing-failure",
    }


def test_every_framework_has_at_least_15_mapped_requirements(catalog):
    frameworks = Framework.objects.filter(catalog_version=catalog)
    assert {fw.code for fw in frameworks} == {
        "NIST-800-53-R5",
        "PCI-DSS-4.0",
        "SOC2-TSC-2017",
        "ISO-27001-2022",
        "EU-DORA",
        "NYDFS-500",
        "AWS-FSBP",
    }
    for framework in frameworks:
        mapped = Requirement.objects.filter(framework=framework, mappings__isnull=False)
        assert mapped.distinct().count() >= 15, framework.code
    assert not Control.objects.filter(catalog_version=catalog, mappings__isnull=True).exists()


def test_runbooks_have_steps_escalation_and_diagram(catalog):
    for runbook in catalog.runbooks.all():
        assert runbook.steps and runbook.escalation_path and runbook.mermaid
        for step in runbook.steps:
            assert set(step) == {"action", "command", "expected_result", "troubleshooting"}


def test_value_longer_than_its_column_is_refused_by_the_schema(db, catalog_copy):
    _edit(catalog_copy / "frameworks" / "dora.yaml", lambda d: d.update(version="x" * 121))

    assert any("dora.yaml: version: " in p and "is too long" in p for p in _problems(catalog_copy))
