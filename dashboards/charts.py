"""Server-side SVG chart geometry. Templates draw rectangles from these numbers with SVG
attributes only (no inline styles: the CSP allows none), colours come from CSS classes, and
every chart ships with a table of the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

BAR_HEIGHT = 22
ROW_GAP = 10
LABEL_WIDTH = 170
PLOT_WIDTH = 420


@dataclass
class Segment:
    key: str
    label: str
    value: int
    x: float
    width: float


@dataclass
class BarRow:
    label: str
    y: float
    total: int
    segments: list[Segment] = field(default_factory=list)
    text_x: float = 0

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT * 0.7


@dataclass
class BarChart:
    rows: list[BarRow]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT
    legend: list[tuple[str, str]] = field(default_factory=list)


def stacked_bars(rows: list[dict], labels: dict[str, str], *, scale_to: int | None = None):
    """``rows``: [{label, counts: [(key, n)], total}] → one horizontal stacked bar per row,
    scaled so the largest total spans the plot."""
    biggest = scale_to or max((r["total"] for r in rows), default=0) or 1
    out = []
    for i, row in enumerate(rows):
        y = i * (BAR_HEIGHT + ROW_GAP)
        x = float(LABEL_WIDTH)
        bar = BarRow(label=row["label"], y=y, total=row["total"])
        for key, n in row["counts"]:
            if not n:
                continue
            width = PLOT_WIDTH * n / biggest
            bar.segments.append(
                Segment(key=key, label=labels.get(key, key), value=n, x=x, width=width)
            )
            x += width
        bar.text_x = x + 6
        out.append(bar)
    height = max(len(rows) * (BAR_HEIGHT + ROW_GAP), BAR_HEIGHT)
    return BarChart(
        rows=out,
        width=LABEL_WIDTH + PLOT_WIDTH + 60,
        height=height,
        legend=list(labels.items()),
    )


def simple_bars(items: list[tuple[str, int]], key: str = "value", *, maximum: int | None = None):
    """One bar per (label, value); ``maximum`` fixes the scale (e.g. 100 for percentages)."""
    rows = [{"label": label, "counts": [(key, value)], "total": value} for label, value in items]
    return stacked_bars(rows, {key: key}, scale_to=maximum)


@dataclass
class Column:
    key: str
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class ColumnGroup:
    label: str
    x: float
    bars: list[Column]


@dataclass
class ColumnChart:
    groups: list[ColumnGroup]
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    maximum: int
    ticks: list[tuple[float, int]]
    series: list[tuple[str, str]]


def grouped_columns(points: list[dict], series: list[tuple[str, str]], label_key: str):
    """Vertical grouped columns, one group per point (e.g. per week), one bar per series."""
    plot_top, plot_bottom, left = 10, 170, 40
    group_width = 44
    bar_width = (group_width - 8) / max(len(series), 1)
    maximum = max((p[key] for p in points for key, _ in series), default=0)
    maximum = max(maximum, 1)
    scale = (plot_bottom - plot_top) / maximum
    groups = []
    for i, point in enumerate(points):
        gx = left + i * group_width
        bars = []
        for j, (key, label) in enumerate(series):
            value = point[key]
            height = value * scale
            bars.append(
                Column(
                    key=key,
                    label=label,
                    value=value,
                    x=gx + 4 + j * bar_width,
                    y=plot_bottom - height,
                    width=bar_width - 2,
                    height=height,
                )
            )
        groups.append(ColumnGroup(label=point[label_key], x=gx + group_width / 2, bars=bars))
    step = max(1, -(-maximum // 4))
    ticks = [(plot_bottom - v * scale, v) for v in range(0, maximum + 1, step)]
    return ColumnChart(
        groups=groups,
        width=left + len(points) * group_width + 10,
        height=plot_bottom + 40,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        maximum=maximum,
        ticks=ticks,
        series=series,
    )
