"""Renderers: one report, many formats. Each writes to a binary file object."""

from __future__ import annotations

from exports.choices import ExportFormat


def render(report, fmt: str, out) -> None:
    """Write ``report`` as ``fmt`` (pdf, xlsx, csv, json) to the binary file ``out``."""
    if fmt == ExportFormat.PDF:
        from exports.render.pdf import write_pdf

        write_pdf(report, out)
    elif fmt == ExportFormat.XLSX:
        from exports.render.tabular import write_xlsx

        write_xlsx(report, out)
    elif fmt == ExportFormat.CSV:
        from exports.render.tabular import write_csv

        write_csv(report, out)
    elif fmt == ExportFormat.JSON:
        from exports.render.jsonfmt import write_json

        write_json(report, out)
    else:
        raise ValueError(f"no single-file renderer for {fmt!r}")


EXTENSIONS = {
    ExportFormat.PDF: "pdf",
    ExportFormat.XLSX: "xlsx",
    ExportFormat.CSV: "csv",
    ExportFormat.JSON: "json",
    ExportFormat.ZIP: "zip",
}


def filename_for(report, fmt: str) -> str:
    name = "matrix" if fmt in (ExportFormat.CSV, ExportFormat.XLSX) else "report"
    if fmt == ExportFormat.ZIP:
        name = "evidence-bundle"
    return f"{report.slug}-{name}.{EXTENSIONS[fmt]}"
