"""The PDF readiness report (reportlab): cover, summary with a chart, then every table.

All text goes through ``para()``, which escapes it: reportlab's Paragraph understands a
markup language, so user text must never reach it unescaped.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    LongTable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from exports.render.cells import text
from exports.reports import Table as DataTable

PAGE = landscape(A4)
MARGIN = 14 * mm
NAVY = colors.HexColor("#0d2238")
OUTCOME_COLORS = {
    "Pass": colors.HexColor("#1a7f37"),
    "Fail": colors.HexColor("#b3261e"),
    "Waived": colors.HexColor("#b7791f"),
    "Not applicable": colors.HexColor("#8c959f"),
    "Pending": colors.HexColor("#0b5cad"),
    "Not in review": colors.HexColor("#d0d7de"),
}
# Columns whose content is long unbroken tokens (hashes): allow breaks anywhere.
HASH_COLUMNS = {"Evidence", "Hash", "Approval hash"}

_FONT_CANDIDATES = [
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"),
        str(Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf"),
    ),
]


@cache
def fonts() -> tuple[str, str]:
    """A Unicode TrueType font (DejaVu when installed, else Vera shipped with reportlab)."""
    for regular, bold in _FONT_CANDIDATES:
        if Path(regular).exists() and Path(bold).exists():
            pdfmetrics.registerFont(TTFont("PortalSans", regular))
            pdfmetrics.registerFont(TTFont("PortalSans-Bold", bold))
            return "PortalSans", "PortalSans-Bold"
    return "Helvetica", "Helvetica-Bold"


@cache
def styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=11.5, alignment=TA_LEFT)
    grey = colors.HexColor("#4a5563")

    def style(name, **kw):
        return ParagraphStyle(name, base, **kw)

    return {
        "body": base,
        "title": style("title", fontName=bold, fontSize=22, leading=27, textColor=NAVY),
        "subtitle": style("subtitle", fontSize=12, leading=16, textColor=grey),
        "h2": style(
            "h2",
            fontName=bold,
            fontSize=14,
            leading=18,
            spaceBefore=10,
            spaceAfter=6,
            textColor=NAVY,
        ),
        "decision": style("decision", fontName=bold, fontSize=13, leading=17, textColor=NAVY),
        "cell": style("cell", fontSize=7, leading=8.6),
        "hashcell": style("hashcell", fontSize=6.5, leading=8, wordWrap="CJK"),
        "head": style("head", fontName=bold, fontSize=7.2, leading=8.8, textColor=colors.white),
        "fact": style("fact", fontName=bold),
        "small": style("small", fontSize=7.5, leading=9.5, textColor=grey),
    }


MAX_LIST = 12
MAX_CELL_CHARS = 2500


def _fit(value):
    """A cell short enough to fit on a page (a table row cannot split across pages); the
    XLSX, JSON and bundle exports carry the full values."""
    if isinstance(value, list | tuple) and len(value) > MAX_LIST:
        rest = len(value) - MAX_LIST + 1
        value = [*value[: MAX_LIST - 1], f"… and {rest} more (listed in the XLSX/JSON export)"]
    value = text(value)
    if len(value) > MAX_CELL_CHARS:
        value = value[:MAX_CELL_CHARS] + " … (truncated: full text in the XLSX/JSON export)"
    return value


def para(value, style: str = "body") -> Paragraph:
    """Escaped text as a Paragraph: user text can never inject markup."""
    return Paragraph(escape(_fit(value)).replace("\n", "<br/>"), styles()[style])


def _longest_word(value: str, font: str, size: float) -> float:
    words = value.split()
    return max((pdfmetrics.stringWidth(w, font, size) for w in words), default=0)


def _column_widths(table, width: float) -> list[float]:
    """Each column at least as wide as its longest word (capped), the rest shared by how much
    text the column holds, so short columns never break words and text columns get room."""
    regular, bold = fonts()
    minimums, weights = [], []
    for i, name in enumerate(table.columns):
        sample = [text(row[i]) for row in table.rows[:200]]
        longest = max([_longest_word(v, regular, 7) for v in sample] + [0])
        header = _longest_word(name, bold, 7.2)
        cap = 120 if name in HASH_COLUMNS else 110
        minimums.append(max(header, min(longest, cap)) + 7)
        average = sum(len(v) for v in sample) / len(sample) if sample else 0
        weights.append(min(average, 80) + (30 if name in HASH_COLUMNS else 0))
    spare = width - sum(minimums)
    if spare <= 0:
        return [width * m / sum(minimums) for m in minimums]
    total = sum(weights) or 1
    return [m + spare * w / total for m, w in zip(minimums, weights, strict=True)]


def _table_flowable(table, width: float):
    head = [para(c, "head") for c in table.columns]
    body = [
        [
            para(value, "hashcell" if name in HASH_COLUMNS else "cell")
            for name, value in zip(table.columns, row, strict=True)
        ]
        for row in table.rows
    ]
    if not body:
        return para("None.", "small")
    flowable = LongTable([head, *body], colWidths=_column_widths(table, width), repeatRows=1)
    flowable.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), NAVY),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f8")]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d7de")),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return flowable


def outcome_chart(report, width: float) -> Drawing | None:
    """Stacked horizontal bars: outcomes per section (or per service)."""
    if not report.summary:
        return None
    regular, _ = fonts()
    groups = [name for name, _ in report.summary]
    outcomes = [o for o in OUTCOME_COLORS if any(c.get(o) for _, c in report.summary)]
    bar_height = 16
    plot_h = bar_height * len(groups) + 8
    height = plot_h + 70
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 190, 40
    chart.width, chart.height = width - 320, plot_h
    chart.data = [[counts.get(o, 0) for _, counts in reversed(report.summary)] for o in outcomes]
    chart.categoryAxis.categoryNames = [g[:40] for g in reversed(groups)]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.fontName = regular
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = regular
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.forceZero = True
    total_max = max(sum(c.values()) for _, c in report.summary) or 1
    chart.valueAxis.valueMax = total_max
    chart.valueAxis.valueStep = max(1, round(total_max / 8))
    chart.barSpacing = 2
    for i, outcome in enumerate(outcomes):
        chart.bars[i].fillColor = OUTCOME_COLORS[outcome]
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    legend = Legend()
    legend.columnMaximum = len(outcomes)
    legend.alignment = "right"
    legend.x, legend.y = chart.x + chart.width + 20, 40 + plot_h
    legend.fontName, legend.fontSize = regular, 8
    legend.colorNamePairs = [(OUTCOME_COLORS[o], o) for o in outcomes]
    drawing.add(legend)
    drawing.add(
        String(
            0, height - 12, f"Outcomes by {report.summary_by.lower()}", fontName=regular, fontSize=9
        )
    )
    return drawing


def _summary_table(report, width: float):
    outcomes = [o for o in OUTCOME_COLORS if any(o in c for _, c in report.summary)]
    columns = [report.summary_by, *outcomes, "Total"]
    rows = [[name, *[c.get(o, 0) for o in outcomes], sum(c.values())] for name, c in report.summary]
    return _table_flowable(DataTable("summary", "Summary", columns, rows), width)


def _cover(report, width: float) -> list:
    facts = Table(
        [[para(label, "fact"), para(value)] for label, value in report.facts],
        colWidths=[55 * mm, width - 55 * mm],
    )
    facts.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d7de")),
            ]
        )
    )
    return [
        para(report.title, "title"),
        para(report.subtitle, "subtitle"),
        Spacer(1, 8 * mm),
        para(f"Decision: {report.decision}", "decision"),
        Spacer(1, 5 * mm),
        facts,
        Spacer(1, 6 * mm),
        para(
            f"Generated {text(report.generated_at)} by {report.generated_by or 'the portal'}. "
            "The evidence bundle of this scope lists every file with its SHA-256 and carries a "
            "signature over that list (verify with: python -m exports.verify bundle.zip).",
            "small",
        ),
    ]


def write_pdf(report, out) -> None:
    width = PAGE[0] - 2 * MARGIN
    regular, _ = fonts()

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.setFillColor(colors.HexColor("#4a5563"))
        canvas.drawString(MARGIN, 8 * mm, f"PRR Portal · {report.title} · {report.subtitle}"[:170])
        canvas.drawRightString(PAGE[0] - MARGIN, 8 * mm, f"Page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=report.title,
        author="PRR Portal",
        subject=report.subtitle,
    )
    story = _cover(report, width)
    story += [PageBreak(), para("Summary", "h2")]
    chart = outcome_chart(report, width)
    if chart is not None:
        story.append(KeepTogether([chart]))
    story.append(_summary_table(report, width))
    for table in report.tables:
        story += [para(table.title, "h2"), _table_flowable(table, width)]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
