"""What an auditor reads in each format, and that user text is inert in every one."""

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from exports import reports
from exports.render import render
from exports.render.cells import neutralize
from tests.exports.conftest import HOSTILE

pytestmark = pytest.mark.django_db


def rendered(report, fmt) -> bytes:
    out = io.BytesIO()
    render(report, fmt, out)
    return out.getvalue()


def pdf_text(blob: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(blob)).pages)


def test_review_pdf_names_service_decision_and_every_item(approved_review):
    report = reports.review_report(approved_review, generated_by="auditor")
    text = pdf_text(rendered(report, "pdf"))
    assert "Payments API" in text
    assert "Decision: Approved on" in text
    for code in ["PRR-SEC-001", "PRR-SEC-002", "PRR-OBS-001", "PRR-DAT-001"]:
        assert code in text
    assert "Daily manual log review" in text  # the waiver's compensating control
    assert "PCI DSS 3.5.1" in text  # the framework mapping
    assert "review.signoff" in text  # the audit trail
    evidence = approved_review.items.first().evidence.first()
    assert evidence.sha256[:20] in text.replace("\n", "")


def test_pdf_shows_markup_in_user_text_literally(approved_review):
    text = pdf_text(rendered(reports.review_report(approved_review), "pdf"))
    flat = text.replace("\n", " ")
    assert "<b>bold</b>" in flat
    assert '<font color="red">x</font>' in flat


def test_csv_matrix_has_every_item_and_neutralizes_formulas(approved_review):
    blob = rendered(reports.review_report(approved_review), "csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(blob)))
    assert [r["Control"] for r in rows] == [
        "PRR-SEC-001",
        "PRR-SEC-002",
        "PRR-OBS-001",
        "PRR-DAT-001",
    ]
    assert {r["Outcome"] for r in rows} == {"Pass", "Fail", "Waived", "Not applicable"}
    assert rows[1]["Reason"] == "'" + HOSTILE
    assert "sha256:" in rows[0]["Evidence"]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "  =cmd"])
def test_formula_triggers_are_neutralized(text):
    assert neutralize(text).startswith("'")


@pytest.mark.parametrize("text", ["plain", "1+1", "a=b", ""])
def test_ordinary_text_is_unchanged(text):
    assert neutralize(text) == text


def test_xlsx_has_a_sheet_per_table_and_no_formulas(approved_review):
    wb = load_workbook(io.BytesIO(rendered(reports.review_report(approved_review), "xlsx")))
    assert {"About", "Control matrix", "Sign-offs", "Waivers", "Audit trail"} <= set(wb.sheetnames)
    ws = wb["Control matrix"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    reasons = [c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert reasons == ["'" + HOSTILE]
    audit = wb["Audit trail"]
    assert any(
        isinstance(c.value, str) and c.value.startswith("'=HYPERLINK")
        for row in audit.iter_rows()
        for c in row
    )


def test_json_export_carries_items_evidence_and_audit(approved_review):
    doc = json.loads(rendered(reports.review_report(approved_review), "json"))
    assert doc["scope"] == "review"
    assert doc["facts"]["Environment"] == "prod"
    assert len(doc["tables"]["matrix"]["rows"]) == 4
    assert {e["sha256"] for e in doc["evidence"]} == {
        e.sha256 for item in approved_review.items.all() for e in item.evidence.all()
    }
    assert [e["Action"] for e in doc["tables"]["audit"]["rows"]] == [
        "review.submit",
        "review.signoff",
        "waiver.approve",
    ]


def test_service_report_lists_history_waivers_and_audit(approved_review, service):
    today = timezone.now().date()
    report = reports.service_report(service, start=today - timedelta(days=30), end=today)
    assert report.table("reviews").rows[0][0] == approved_review.pk
    assert report.table("waivers").rows[0][1] == "PRR-OBS-001"
    assert len(report.matrix.rows) == 4
    assert "review.submit" in [row[3] for row in report.table("audit").rows]
    assert "Approved now for prod" in report.decision


def test_service_report_outside_the_period_is_empty(approved_review, service):
    report = reports.service_report(service, start=date(2000, 1, 1), end=date(2000, 12, 31))
    assert report.matrix.rows == []
    assert report.table("reviews").rows == []


def test_framework_report_maps_requirements_to_service_outcomes(
    approved_review, framework, service, other_service
):
    today = timezone.now().date()
    report = reports.framework_report(
        framework, services=[service, other_service], start=today - timedelta(days=1), end=today
    )
    rows = [(r[0], r[2], r[4], r[7]) for r in report.matrix.rows]
    assert rows == [
        ("3.5.1", "PRR-SEC-001", "payments-api", "Pass"),
        ("3.5.1", "PRR-DAT-001", "payments-api", "Not applicable"),
        ("10.2.1", "PRR-OBS-001", "payments-api", "Waived"),
    ]
    text = pdf_text(rendered(report, "pdf"))
    assert "3.5.1" in text and "PRR-OBS-001" in text
