import io

import pytest
import yaml
from django.urls import reverse
from openpyxl import load_workbook

from audit.context import Actor
from audit.models import AuditEvent
from controls.models import Control, ControlMapping, Framework
from controls.services import catalog_load

ROLES = ["owner", "outsider", "sre", "security", "risk", "auditor", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_browse_the_catalog(catalog, cast, client_for, role):
    client = client_for(cast[role])

    response = client.get(reverse("controls:list"))

    assert response.status_code == 200
    assert "PRR-IAM-001" in response.content.decode()
    assert "123 in all" in response.content.decode()


def test_catalog_pages_require_login(catalog, client):
    response = client.get(reverse("controls:list"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_no_catalog_loaded_page_says_how_to_load_one(db, client_for, owner):
    response = client_for(owner).get(reverse("controls:list"))
    assert response.status_code == 404
    assert "manage.py load_catalog" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ({"section": "cost"}, "PRR-COST-001", "PRR-IAM-001"),
        ({"severity": "low"}, "PRR-COST-001", "PRR-IAM-001"),
        ({"automated": "no"}, "PRR-IAM-012", "PRR-IAM-001"),
        ({"automated": "yes", "section": "security"}, "PRR-IAM-001", "PRR-IAM-012"),
        ({"framework": "AWS-FSBP", "section": "runtime"}, "PRR-RUN-001", "PRR-RUN-003"),
        ({"q": "code signing"}, "PRR-CICD-001", "PRR-IAM-001"),
        ({"tier": "4", "section": "runtime"}, "PRR-RUN-001", "PRR-RUN-003"),
    ],
)
def test_control_list_filters(catalog, client_for, auditor, query, expected, absent):
    body = client_for(auditor).get(reverse("controls:list"), query).content.decode()
    assert expected in body
    assert absent not in body


def test_every_control_is_reachable_from_the_paginated_list(catalog, client_for, auditor):
    client = client_for(auditor)
    seen = set()
    for page in range(1, 7):
        body = client.get(reverse("controls:list"), {"page": page}).content.decode()
        seen |= {code for code in catalog.controls.values_list("code", flat=True) if code in body}
    assert seen == set(catalog.controls.values_list("code", flat=True))


def test_control_list_runs_a_constant_number_of_queries(
    catalog, client_for, auditor, django_assert_max_num_queries
):
    client = client_for(auditor)
    with django_assert_max_num_queries(12):
        client.get(reverse("controls:list"))
    with django_assert_max_num_queries(12):
        client.get(reverse("controls:list"), {"framework": "NIST-800-53-R5", "tier": "1"})


def test_control_detail_shows_check_mappings_runbooks_and_guardrails(
    catalog, client_for, sre, django_assert_max_num_queries
):
    client = client_for(sre)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("controls:detail", args=["PRR-CICD-001"]))
    body = response.content.decode()

    assert "lambda.code_signing_enforced" in body
    assert "UntrustedArtifactOnDeployment" in body
    control = Control.objects.get(code="PRR-CICD-001")
    for mapping in ControlMapping.objects.filter(control=control).select_related("requirement"):
        assert mapping.requirement.ref in body
    assert reverse("controls:runbook", args=["code-signing-failure"]) in body
    assert "guardrails/scp/lambda-code-integrity.json" in body


def test_unknown_control_is_404(catalog, client_for, sre):
    assert client_for(sre).get(reverse("controls:detail", args=["PRR-XXX-999"])).status_code == 404


def test_framework_page_lists_each_requirement_with_its_controls_and_gaps(
    catalog, client_for, risk
):
    client = client_for(risk)
    framework = Framework.objects.get(code="NIST-800-53-R5")

    body = client.get(reverse("controls:framework", args=[framework.code])).content.decode()

    for requirement in framework.requirements.prefetch_related("controls"):
        assert requirement.ref in body
        for control in requirement.controls.all():
            assert control.code in body
    assert "Gap: no control" in body
    gaps = client.get(reverse("controls:framework", args=[framework.code]), {"gaps": "1"})
    assert "AC-6(9)" not in gaps.content.decode()


def test_framework_list_shows_coverage(catalog, client_for, risk):
    body = client_for(risk).get(reverse("controls:frameworks")).content.decode()
    for code in ["NIST-800-53-R5", "PCI-DSS-4.0", "EU-DORA", "NYDFS-500", "AWS-FSBP"]:
        assert code in body
    assert "<meter" in body


def test_runbook_page_renders_steps_and_loads_mermaid_from_static(catalog, client_for, sre):
    body = client_for(sre).get(reverse("controls:runbook", args=["rollback"])).content.decode()

    assert "aws lambda update-alias" in body
    assert "flowchart TD" in body
    assert "controls/vendor/mermaid/mermaid.min.js" in body
    assert "controls/mermaid-render.js" in body
    assert "PRR-CHG-004" in body


def test_guardrail_file_is_shown_and_downloadable(catalog, client_for, security):
    client = client_for(security)
    url = reverse("controls:guardrail", args=["guardrails/scp/lambda-code-integrity.json"])

    page = client.get(url)
    download = client.get(url, {"download": "1"})

    assert page.status_code == 200
    assert "DenyCreateFunctionWithoutCodeSigning" in page.content.decode()
    assert "PRR-CICD-001" in page.content.decode()
    assert download["Content-Disposition"] == 'attachment; filename="lambda-code-integrity.json"'


@pytest.mark.parametrize(
    "path",
    [
        "guardrails/../pyproject.toml",
        "guardrails/%2e%2e/pyproject.toml",
        "portal/settings.py",
        "guardrails/requirements.txt/..",
        "guardrails/does-not-exist.json",
    ],
)
def test_guardrail_view_refuses_paths_outside_the_links(catalog, client_for, security, path):
    response = client_for(security).get(f"/catalog/guardrails/{path}")
    assert response.status_code == 404


def test_docs_index_lists_documents_and_formats(catalog, client_for, auditor):
    body = client_for(auditor).get(reverse("controls:docs")).content.decode()
    assert "control-matrix.csv" in body
    assert "prr-document.md" in body
    assert "package.xlsx" in body


@pytest.mark.parametrize(
    "name",
    ["prr-document", "control-matrix", "readiness-checklist", "runbooks", "framework-coverage"],
)
def test_document_pages_render(catalog, client_for, auditor, name):
    response = client_for(auditor).get(reverse("controls:doc", args=[name]))
    assert response.status_code == 200
    assert catalog.version in response.content.decode()


def test_markdown_download_is_audited(catalog, client_for, auditor):
    response = client_for(auditor).get(
        reverse("controls:doc_download", args=["control-matrix", "md"])
    )

    assert response["Content-Type"].startswith("text/markdown")
    assert "| PRR-IAM-001 |" in response.content.decode()
    event = AuditEvent.objects.get(action="catalog.export")
    assert event.actor_label == "auditor"
    assert event.details["document"] == "control-matrix"


def test_csv_download_has_matrix_columns(catalog, client_for, auditor):
    response = client_for(auditor).get(
        reverse("controls:doc_download", args=["control-matrix", "csv"])
    )
    text = response.content.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("Code,Section,Title,Requirement,AWS services,How enforced")
    assert "PRR-IAM-001" in text


def test_package_xlsx_has_a_sheet_per_table(catalog, client_for, auditor):
    response = client_for(auditor).get(reverse("controls:doc_download", args=["package", "xlsx"]))
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [
        "Control matrix",
        "Readiness checklist",
        "Runbooks",
        "Framework coverage",
    ]
    assert workbook["Control matrix"].max_row == 124


def test_prose_document_has_no_csv(catalog, client_for, auditor):
    response = client_for(auditor).get(
        reverse("controls:doc_download", args=["prr-document", "csv"])
    )
    assert response.status_code == 404


def test_diff_page_shows_added_removed_and_changed(catalog, catalog_copy, client_for, auditor):
    path = catalog_copy / "controls" / "11-cost.yaml"
    data = yaml.safe_load(path.read_text())
    data["controls"][0]["severity"] = "medium"
    removed = data["controls"].pop(3)
    data["controls"].append({**removed, "code": "PRR-COST-099", "title": "A brand new control"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    header = catalog_copy / "catalog.yaml"
    head = yaml.safe_load(header.read_text())
    head["version"] = "2026.12.0"
    header.write_text(yaml.safe_dump(head))
    catalog_load(actor=Actor.system("test"), path=catalog_copy)

    body = (
        client_for(auditor)
        .get(reverse("controls:diff"), {"from": "2026.11.0", "to": "2026.12.0"})
        .content.decode()
    )

    assert "1 added, 1 removed, 1 changed" in body
    assert "PRR-COST-099" in body
    assert "PRR-COST-004" in body
    assert "severity" in body


def test_old_version_stays_browsable(catalog, catalog_copy, client_for, auditor):
    header = catalog_copy / "catalog.yaml"
    head = yaml.safe_load(header.read_text())
    head["version"] = "2026.12.0"
    header.write_text(yaml.safe_dump(head))
    catalog_load(actor=Actor.system("test"), path=catalog_copy)

    body = (
        client_for(auditor)
        .get(reverse("controls:detail", args=["PRR-IAM-001"]), {"v": "2026.11.0"})
        .content.decode()
    )

    assert "which is not the current one" in body
    assert "?v=2026.11.0" in body


def test_guardrail_listed_in_the_index_is_viewable_with_its_title(catalog, client_for, sre):
    response = client_for(sre).get(
        reverse("controls:guardrail", args=["guardrails/pipeline/release.yml"])
    )
    assert response.status_code == 200
    assert "GitHub Actions release pipeline" in response.content.decode()


def test_every_guardrail_link_in_the_catalog_opens(catalog, client_for, sre):
    client = client_for(sre)
    links = {link for c in catalog.controls.all() for link in c.guardrails}
    assert len(links) >= 15
    for link in links:
        assert client.get(reverse("controls:guardrail", args=[link])).status_code == 200, link
