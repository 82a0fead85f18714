"""Geometry for the growth chart, drawn on the server as SVG (no script, no inline style).

Two panels share the time axis: the member count as a line on top, and each day's joins (up)
and cancellations (down) as bars below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from staff.stats import GrowthDay

WIDTH = 960
LEFT = 64
RIGHT = 16
LINE_TOP = 16
LINE_HEIGHT = 170
BARS_TOP = LINE_TOP + LINE_HEIGHT + 40
BARS_HEIGHT = 110
HEIGHT = BARS_TOP + BARS_HEIGHT + 34
LABEL_GAP = 14  # labels are 12 units high: closer than this they print over each other


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    y: float
    text: str


@dataclass
class GrowthChart:
    width: int = WIDTH
    height: int = HEIGHT
    line_path: str = ""
    area_path: str = ""
    joins: list[Bar] = field(default_factory=list)
    cancellations: list[Bar] = field(default_factory=list)
    zero_y: float = 0.0
    line_top: float = LINE_TOP
    line_bottom: float = LINE_TOP + LINE_HEIGHT
    left: float = LEFT
    right: float = WIDTH - RIGHT
    labels: list[AxisLabel] = field(default_factory=list)
    x_labels: list[AxisLabel] = field(default_factory=list)
    # Said in the bars' place when nothing happened: an empty panel looks like a broken chart.
    empty_note: AxisLabel | None = None


def _scale(value: float, low: float, high: float, top: float, height: float) -> float:
    if high == low:
        return top + height / 2
    return top + height - (value - low) / (high - low) * height


def growth_chart(series: list[GrowthDay]) -> GrowthChart:
    chart = GrowthChart()
    if not series:
        return chart
    plot_width = WIDTH - LEFT - RIGHT
    step = plot_width / len(series)
    low = min(0, min(day.members for day in series))
    high = max(1, max(day.members for day in series))

    points = []
    for index, day in enumerate(series):
        x = LEFT + step * (index + 0.5)
        points.append((x, _scale(day.members, low, high, LINE_TOP, LINE_HEIGHT)))
    chart.line_path = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    base = LINE_TOP + LINE_HEIGHT
    chart.area_path = (
        f"M{points[0][0]:.1f},{base:.1f} L"
        + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        + f" L{points[-1][0]:.1f},{base:.1f} Z"
    )

    # One scale for both directions; the zero line sits where the larger side needs it.
    most_joins = max(day.joins for day in series)
    most_cancellations = max(day.cancellations for day in series)
    per_member = BARS_HEIGHT / max(1, most_joins + most_cancellations)
    chart.zero_y = (
        BARS_TOP + most_joins * per_member
        if most_joins + most_cancellations
        else (BARS_TOP + BARS_HEIGHT)
    )
    if not most_joins + most_cancellations:
        chart.empty_note = AxisLabel(
            LEFT + plot_width / 2,
            BARS_TOP + BARS_HEIGHT / 2,
            f"No joins or cancellations in the last {len(series)} days",
        )
    bar_width = max(1.0, step * 0.7)
    for index, day in enumerate(series):
        x = LEFT + step * index + (step - bar_width) / 2
        when = day.day.isoformat()
        if day.joins:
            height = day.joins * per_member
            chart.joins.append(
                Bar(x, chart.zero_y - height, bar_width, height, f"{when}: {day.joins} joined")
            )
        if day.cancellations:
            height = day.cancellations * per_member
            chart.cancellations.append(
                Bar(x, chart.zero_y, bar_width, height, f"{when}: {day.cancellations} cancelled")
            )

    chart.labels = [
        AxisLabel(LEFT - 6, LINE_TOP + 5, f"{high:,}"),
        AxisLabel(LEFT - 6, base + 4, f"{low:,}"),
        AxisLabel(LEFT - 6, chart.zero_y + 4, "0"),
    ]
    # The extreme labels only where they clear the zero label; the table has every figure.
    if most_joins and chart.zero_y - BARS_TOP >= LABEL_GAP:
        chart.labels.append(AxisLabel(LEFT - 6, BARS_TOP + 5, f"+{most_joins}"))
    if most_cancellations and BARS_TOP + BARS_HEIGHT - chart.zero_y >= LABEL_GAP:
        chart.labels.append(
            AxisLabel(LEFT - 6, BARS_TOP + BARS_HEIGHT + 4, f"−{most_cancellations}")
        )
    chart.x_labels = [
        AxisLabel(LEFT + step * (index + 0.5), HEIGHT - 8, series[index].day.strftime("%d %b"))
        for index in sorted({0, len(series) // 2, len(series) - 1})
    ]
    return chart


SIGNUPS_WIDTH = 960
SIGNUPS_HEIGHT = 220
SIGNUPS_TOP = 16
SIGNUPS_PLOT = 160


@dataclass(frozen=True)
class StackedBar:
    source: str
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass
class SignupsChart:
    width: int = SIGNUPS_WIDTH
    height: int = SIGNUPS_HEIGHT
    bars: list[StackedBar] = field(default_factory=list)
    labels: list[AxisLabel] = field(default_factory=list)
    x_labels: list[AxisLabel] = field(default_factory=list)
    baseline: float = SIGNUPS_TOP + SIGNUPS_PLOT
    left: float = LEFT
    right: float = SIGNUPS_WIDTH - RIGHT
    empty_note: AxisLabel | None = None


def signups_chart(weeks, sources) -> SignupsChart:
    """One stacked bar per week: signups from the page, the embed and the API."""
    chart = SignupsChart()
    if not weeks:
        return chart
    step = (SIGNUPS_WIDTH - LEFT - RIGHT) / len(weeks)
    most = max(1, max(week.total for week in weeks))
    per_signup = SIGNUPS_PLOT / most
    width = step * 0.6
    for index, week in enumerate(weeks):
        x = LEFT + step * index + (step - width) / 2
        top = chart.baseline
        for source in sources:
            count = week.by_source.get(source, 0)
            if not count:
                continue
            height = count * per_signup
            top -= height
            label = f"Week of {week.week.isoformat()}: {count} from {source}"
            chart.bars.append(StackedBar(source, x, top, width, height, label))
        chart.x_labels.append(
            AxisLabel(LEFT + step * (index + 0.5), SIGNUPS_HEIGHT - 12, week.week.strftime("%d %b"))
        )
    if not any(week.total for week in weeks):
        chart.empty_note = AxisLabel(
            (LEFT + SIGNUPS_WIDTH - RIGHT) / 2,
            SIGNUPS_TOP + SIGNUPS_PLOT / 2,
            f"No signups in these {len(weeks)} weeks",
        )
    chart.labels = [
        AxisLabel(LEFT - 6, SIGNUPS_TOP + 5, f"{most:,}"),
        AxisLabel(LEFT - 6, chart.baseline + 4, "0"),
    ]
    return chart
