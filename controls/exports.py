"""CSV and XLSX exports of the documentation tables, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from controls.documents import DOCUMENTS, TABULAR, Package, table

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value) -> str:
    """Stop spreadsheet formula injection: a cell starting with = + - @ (or a tab/CR)
    gets a leading apostrophe so it is shown as text."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


def to_csv(package: Package, name: str) -> bytes:
    header, rows = table(package, name)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([neutralize(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(package: Package, names: tuple[str, ...] = TABULAR) -> bytes:
    """One workbook, one sheet per table."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name in names:
        header, rows = table(package, name)
        sheet = workbook.create_sheet(DOCUMENTS[name][:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([neutralize(v) for v in row])
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            letter = column[0].column_letter
            width = max(len(str(c.value or "")) for c in column[:50])
            sheet.column_dimensions[letter].width = min(max(width, 8), 60)
            for cell in column[1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    workbook.properties.title = f"PRR catalog {package.catalog.version}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
