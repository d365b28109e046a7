"""Figures of the benchmark suite: medians with min–max, paired ratios, the table and the JSON.

A `Figure` is one measured quantity over several runs. A ratio is taken run by run between
two series measured side by side (same run, same machine moment) and then summarised, so a
noisy neighbour slows both sides of a pair instead of one side of the comparison.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    point: str              # which point of the issue it belongs to ("2", "3", ...)
    name: str
    unit: str
    values: list[float]
    target: str = ""        # e.g. "<= 1.3"; empty when the figure is context, not a goal
    met: bool | None = None  # None: no target
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(median=self.median, min=min(self.values), max=max(self.values))
        return data


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Run-by-run ratios of two series measured side by side."""
    if len(numerators) != len(denominators):
        raise ValueError("paired series must have the same length")
    return [n / d for n, d in zip(numerators, denominators)]


def at_most(figure: Figure, limit: float) -> Figure:
    """Mark `figure` against a ceiling, judged on its median."""
    figure.target, figure.met = f"<= {limit:g}", figure.median <= limit
    return figure


def at_least(figure: Figure, floor: float) -> Figure:
    figure.target, figure.met = f">= {floor:g}", figure.median >= floor
    return figure


def equals(figure: Figure, expected: float) -> Figure:
    """Every run must hit `expected` exactly (counts such as double claims)."""
    figure.target, figure.met = f"= {expected:g}", all(v == expected for v in figure.values)
    return figure


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(figures: Sequence[Figure]) -> str:
    """A plain-text table: point, figure, median, min–max, runs, target and verdict."""
    head = ("pt", "figure", "median", "min–max", "unit", "n", "target", "")
    rows = [head]
    for f in figures:
        verdict = "" if f.met is None else ("ok" if f.met else "MISSED")
        rows.append((f.point, f.name, _number(f.median), f"{_number(min(f.values))}–{_number(max(f.values))}",
                     f.unit, str(len(f.values)), f.target, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(widths[i]) if i != 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)
