"""The documentation package, generated from one catalog version.

The same rows feed the HTML pages, the Markdown files under ``docs/`` and the CSV/XLSX
exports, so every view of the catalog says the same thing. Output is deterministic (no
timestamps) so a test can keep ``docs/`` in sync with the shipped catalog.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from controls.choices import Section
from controls.models import CatalogVersion, Control, Runbook
from controls.selectors import control_queryset, framework_queryset, requirements_with_controls

DOCUMENTS = OrderedDict(
    [
        ("prr-document", "Production readiness review (PRR) document"),
        ("control-matrix", "Control matrix"),
        ("readiness-checklist", "Readiness checklist"),
        ("runbooks", "Runbooks"),
        ("framework-coverage", "Framework coverage"),
    ]
)
# Documents that are tables, and so also export as CSV and XLSX.
TABULAR = ("control-matrix", "readiness-checklist", "runbooks", "framework-coverage")

MATRIX_HEADER = [
    "Code",
    "Section",
    "Title",
    "Requirement",
    "AWS services",
    "How enforced",
    "Automated check",
    "Check reads",
    "Pass condition",
    "Evidence artifact",
    "Severity",
    "Mandatory tiers",
    "Framework ids",
]
CHECKLIST_HEADER = [
    "Done",
    "Code",
    "Section",
    "Requirement",
    "Severity",
    "Mandatory tiers",
    "Applies when",
    "Automated check",
    "Evidence max age (days)",
    "How a reviewer validates",
]
RUNBOOK_HEADER = ["Runbook", "Step", "Action", "Command", "Expected result", "Troubleshooting"]
COVERAGE_HEADER = ["Framework", "Requirement", "Title", "Controls"]


@dataclass
class Package:
    catalog: CatalogVersion
    controls: list[Control]
    runbooks: list[Runbook]

    @classmethod
    def for_catalog(cls, catalog: CatalogVersion) -> Package:
        return cls(
            catalog=catalog,
            controls=list(control_queryset(catalog)),
            runbooks=list(catalog.runbooks.order_by("position", "slug")),
        )

    def by_section(self) -> list[tuple[str, str, list[Control]]]:
        grouped = []
        for value, label in Section.choices:
            members = [c for c in self.controls if c.section == value]
            if members:
                grouped.append((value, label, members))
        return grouped


def framework_ids(control: Control) -> list[str]:
    """``FRAMEWORK ref`` strings of a control's mappings (needs prefetched mappings)."""
    return [f"{m.requirement.framework.code} {m.requirement.ref}" for m in control.mappings.all()]


def tiers_text(tiers: list[int]) -> str:
    return ", ".join(str(t) for t in sorted(tiers)) if tiers else "none (recommended)"


def matrix_rows(package: Package) -> list[list[str]]:
    return [
        [
            c.code,
            c.get_section_display(),
            c.title,
            c.requirement,
            ", ".join(c.aws_services),
            c.enforcement,
            c.check_id or "manual",
            "; ".join(c.check_reads),
            c.check_pass_condition,
            c.evidence_description,
            c.get_severity_display(),
            tiers_text(c.mandatory_tiers),
            "; ".join(framework_ids(c)),
        ]
        for c in package.controls
    ]


def checklist_rows(package: Package) -> list[list[str]]:
    return [
        [
            "[ ]",
            c.code,
            c.get_section_display(),
            c.requirement,
            c.get_severity_display(),
            tiers_text(c.mandatory_tiers),
            c.applicability_text,
            c.check_id or "manual",
            str(c.freshness_days),
            c.validation_procedure,
        ]
        for c in package.controls
    ]


def runbook_rows(package: Package) -> list[list[str]]:
    return [
        [
            rb.title,
            str(index),
            step["action"],
            step["command"],
            step["expected_result"],
            step["troubleshooting"],
        ]
        for rb in package.runbooks
        for index, step in enumerate(rb.steps, start=1)
    ]


def coverage_rows(package: Package) -> list[list[str]]:
    rows = []
    for framework in framework_queryset(package.catalog):
        for requirement in requirements_with_controls(framework):
            codes = [c.code for c in requirement.controls.all()]
            rows.append(
                [framework.code, requirement.ref, requirement.title, ", ".join(codes) or "GAP"]
            )
    return rows


TABLES = {
    "control-matrix": (MATRIX_HEADER, matrix_rows),
    "readiness-checklist": (CHECKLIST_HEADER, checklist_rows),
    "runbooks": (RUNBOOK_HEADER, runbook_rows),
    "framework-coverage": (COVERAGE_HEADER, coverage_rows),
}


def table(package: Package, name: str) -> tuple[list[str], list[list[str]]]:
    header, rows = TABLES[name]
    return header, rows(package)


# --- Markdown ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _front(package: Package, title: str) -> list[str]:
    cat = package.catalog
    return [
        f"# {title}",
        "",
        f"Catalog version **{cat.version}** (content SHA-256 `{cat.content_sha256}`).",
        "Generated from `controls/catalog/` by `manage.py render_docs`; do not edit by hand.",
        "",
    ]


def render_markdown(package: Package, name: str) -> str:
    renderers = {
        "prr-document": _prr_document,
        "control-matrix": _control_matrix,
        "readiness-checklist": _checklist,
        "runbooks": _runbooks,
        "framework-coverage": _coverage,
    }
    lines = renderers[name](package)
    return "\n".join(lines).rstrip() + "\n"


def _prr_document(package: Package) -> list[str]:
    lines = _front(package, DOCUMENTS["prr-document"])
    if package.catalog.notes:
        lines += [" ".join(package.catalog.notes.split()), ""]
    automated = sum(1 for c in package.controls if c.is_automated)
    lines += [
        "## How to use this document",
        "",
        f"The catalog holds {len(package.controls)} controls ({automated} with an automated "
        "check over AWS facts). A review in the PRR Portal instantiates the controls that "
        "apply to the service's tier and profile; each needs fresh evidence, a pass, or a "
        "waiver before sign-off.",
        "",
        "## Sections",
        "",
    ]
    sections = package.by_section()
    lines += [f"- {label} ({len(members)} controls)" for _, label, members in sections]
    lines.append("")
    for _, label, members in sections:
        lines += [f"## {label}", ""]
        for c in members:
            lines += _control_block(c)
    return lines


def _control_block(c: Control) -> list[str]:
    lines = [
        f"### {c.code}: {c.title}",
        "",
        f"**Requirement.** {c.requirement}",
        "",
        f"**Rationale.** {_one_line(c.rationale)}",
        "",
        f"- Severity: {c.get_severity_display()}",
        f"- Mandatory for tiers: {tiers_text(c.mandatory_tiers)}",
        f"- Applies when: {c.applicability_text}",
        f"- AWS services: {', '.join(c.aws_services)}",
        f"- How enforced: {_one_line(c.enforcement)}",
    ]
    if c.is_automated:
        lines += [
            f"- Automated check: `{c.check_id}` reads {'; '.join(c.check_reads)}",
            f"- Pass condition: {_one_line(c.check_pass_condition)}",
        ]
    else:
        lines.append("- Automated check: none (manual evidence)")
    lines += [
        f"- Evidence: {_one_line(c.evidence_description)} (max age {c.freshness_days} days)",
        f"- How a reviewer validates: {_one_line(c.validation_procedure)}",
    ]
    if c.guardrails:
        lines.append("- Guardrails: " + ", ".join(f"`{g}`" for g in c.guardrails))
    runbooks = list(c.runbooks.all())
    if runbooks:
        lines.append("- Runbooks: " + ", ".join(rb.title for rb in runbooks))
    lines += ["- Mappings: " + "; ".join(framework_ids(c)), ""]
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _control_matrix(package: Package) -> list[str]:
    lines = _front(package, DOCUMENTS["control-matrix"])
    header = [
        "Code",
        "Requirement",
        "AWS service",
        "How enforced",
        "Automated check",
        "Evidence artifact",
        "Framework ids",
    ]
    rows = [
        [
            c.code,
            c.requirement,
            ", ".join(c.aws_services),
            c.enforcement,
            f"`{c.check_id}`" if c.check_id else "manual",
            c.evidence_description,
            "; ".join(framework_ids(c)),
        ]
        for c in package.controls
    ]
    return lines + _md_table(header, rows)


def _checklist(package: Package) -> list[str]:
    lines = _front(package, DOCUMENTS["readiness-checklist"])
    lines += [
        "Tick each item once its evidence is attached and fresh. Items not mandatory for the "
        "service's tier are recommended; items whose condition does not hold are not "
        "applicable.",
        "",
    ]
    for _, label, members in package.by_section():
        lines += [f"## {label}", ""]
        for c in members:
            check = f"automated `{c.check_id}`" if c.check_id else "manual"
            lines.append(
                f"- [ ] **{c.code}** {c.requirement} _({c.get_severity_display()}; mandatory "
                f"tiers {tiers_text(c.mandatory_tiers)}; applies when "
                f"{c.applicability_text}; {check}; evidence max age {c.freshness_days} days)_"
            )
        lines.append("")
    return lines


def _runbooks(package: Package) -> list[str]:
    lines = _front(package, DOCUMENTS["runbooks"])
    lines += [f"- [{rb.title}](#{rb.slug})" for rb in package.runbooks] + [""]
    for rb in package.runbooks:
        lines += [
            f'<a id="{rb.slug}"></a>',
            "",
            f"## {rb.title}",
            "",
            f"**Scenario.** {_one_line(rb.scenario)}",
            "",
        ]
        rows = [
            [
                str(i),
                s["action"],
                f"`{s['command']}`" if s["command"] else "",
                s["expected_result"],
                s["troubleshooting"],
            ]
            for i, s in enumerate(rb.steps, start=1)
        ]
        lines += _md_table(["#", "Action", "Command", "Expected result", "Troubleshooting"], rows)
        lines += ["", f"**Escalation.** {_one_line(rb.escalation_path)}", ""]
        if rb.mermaid:
            lines += ["```mermaid", rb.mermaid.rstrip(), "```", ""]
    return lines


def _coverage(package: Package) -> list[str]:
    lines = _front(package, DOCUMENTS["framework-coverage"])
    for framework in framework_queryset(package.catalog):
        requirements = list(requirements_with_controls(framework))
        covered = sum(1 for r in requirements if r.controls.all())
        lines += [
            f"## {framework.name} ({framework.version})",
            "",
            f"{covered} of {len(requirements)} listed requirements are mapped to controls.",
            "",
        ]
        rows = [
            [r.ref, r.title, ", ".join(c.code for c in r.controls.all()) or "**gap**"]
            for r in requirements
        ]
        lines += _md_table(["Requirement", "Title (our words)", "Controls"], rows) + [""]
    return lines
