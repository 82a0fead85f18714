"""The growth chart's geometry: labels a person can read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from staff.charts import growth_chart
from staff.stats import GrowthDay

LABEL_HEIGHT = 12  # the SVG's font size, in its own units


def _series(movements: list[tuple[int, int]]) -> list[GrowthDay]:
    start, members, days = date(2026, 11, 1), 100, []
    for offset, (joins, cancellations) in enumerate(movements):
        members += joins - cancellations
        days.append(GrowthDay(start + timedelta(days=offset), joins, cancellations, members))
    return days


@pytest.mark.parametrize(
    "movements",
    [
        [(1, 0), (0, 40), (0, 0)],  # a wave of cancellations, hardly any joins
        [(40, 0), (0, 1), (0, 0)],  # a big launch day, hardly any cancellations
        [(3, 2), (5, 1), (2, 0)],
    ],
)
def test_the_axis_labels_never_print_over_each_other(movements):
    chart = growth_chart(_series(movements))
    heights = sorted(label.y for label in chart.labels)
    gaps = [lower - upper for upper, lower in zip(heights, heights[1:], strict=False)]
    assert all(gap >= LABEL_HEIGHT for gap in gaps), [
        (label.text, label.y) for label in chart.labels
    ]


def test_the_zero_line_of_the_bars_is_always_labelled():
    chart = growth_chart(_series([(1, 0), (0, 40)]))
    assert any(
        label.text == "0" and abs(label.y - 4 - chart.zero_y) < 0.01 for label in chart.labels
    )
