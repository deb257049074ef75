import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from controls.documents import DOCUMENTS, Package, render_markdown
from controls.exports import neutralize, to_csv

DOCS_DIR = Path(settings.BASE_DIR) / "docs"


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_docs_folder_matches_generated_markdown(catalog, name):
    """If this fails, run `manage.py load_catalog && manage.py render_docs` and commit docs/."""
    expected = render_markdown(Package.for_catalog(catalog), name)
    assert (DOCS_DIR / f"{name}.md").read_text(encoding="utf-8") == expected


def test_render_docs_writes_every_document(catalog, tmp_path):
    call_command("render_docs", out=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.md" for n in DOCUMENTS)


def test_control_matrix_markdown_has_the_seed_columns(catalog):
    text = render_markdown(Package.for_catalog(catalog), "control-matrix")
    assert (
        "| Code | Requirement | AWS service | How enforced | Automated check | "
        "Evidence artifact | Framework ids |" in text
    )
    assert "`iam.no_wildcard_actions`" in text


def test_runbooks_markdown_embeds_mermaid(catalog):
    text = render_markdown(Package.for_catalog(catalog), "runbooks")
    assert text.count("```mermaid") == 10


@pytest.mark.parametrize("value", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x"])
def test_formula_like_cells_are_neutralized(value):
    assert neutralize(value) == "'" + value


def test_plain_cells_are_left_alone():
    assert neutralize("PRR-IAM-001") == "PRR-IAM-001"
    assert neutralize(None) == ""


def test_csv_export_neutralizes_cells_from_the_catalog(catalog):
    control = catalog.controls.get(code="PRR-COST-001")
    type(control).objects.filter(pk=control.pk).update(title='=HYPERLINK("http://x")')

    rows = list(
        csv.reader(
            io.StringIO(to_csv(Package.for_catalog(catalog), "control-matrix").decode("utf-8-sig"))
        )
    )

    row = next(r for r in rows if r[0] == "PRR-COST-001")
    assert row[2] == '\'=HYPERLINK("http://x")'
