"""Percentiles and the one table ``bench`` prints (GitHub Markdown, readable in a terminal)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MET, MISSED, INFO = "met", "MISSED", ""


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of unsorted values; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)


@dataclass(frozen=True)
class Row:
    """One line of the results: what was measured, the figure, the target and the verdict."""

    area: str
    measurement: str
    value: str
    target: str = ""
    status: str = INFO


def verdict(ok: bool) -> str:
    return MET if ok else MISSED


def ms(seconds: float) -> str:
    """Seconds as milliseconds, with precision that suits the size."""
    value = seconds * 1000
    if value < 1:
        return f"{value:.3f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:,.0f} ms"


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown pipe table with padded columns."""
    header = ("Area", "Measurement", "Value", "Target", "Result")
    cells = [header, *((r.area, r.measurement, r.value, r.target, r.status) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in cells[1:])])
