"""Small line charts as SVG: drawn on the server, so the Models view needs no script, no
plotting library in the Airflow image and no network; the monitor saves the same charts
with each run."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44


def line_chart(
    labels: list[str],
    values: list[float | None],
    *,
    title: str,
    threshold: float | None = None,
    flagged: list[bool] | None = None,
) -> str:
    """One series over categorical x labels, with an optional dashed threshold line.

    Missing values (None) leave a gap; flagged points (a breach, the champion) are drawn
    filled red. Returns SVG markup, every text escaped."""
    known = [v for v in values if v is not None]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{LEFT}" y="16" class="title">{escape(title)}</text>',
    ]
    if not known:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">no data yet</text>'
        )
        return "".join([*parts, "</svg>"])
    low, high = _bounds([*known, *([threshold] if threshold is not None else [])])

    def x(i: int) -> float:
        span = WIDTH - LEFT - RIGHT
        return LEFT + (span / 2 if len(labels) == 1 else span * i / (len(labels) - 1))

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (high - value) / (high - low)

    parts += _axes(low, high, y)
    for i, label in _sparse(labels):
        # The outermost labels grow inwards, so the chart's edges do not cut them.
        anchor = "start" if i == 0 and len(labels) > 1 else "end" if i == len(labels) - 1 else "middle"
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}" class="tick">'
                     f"{escape(label)}</text>")  # fmt: skip
    if threshold is not None:
        level = y(threshold)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" y2="{level:.1f}" class="threshold"/>'
            f'<text x="{WIDTH - RIGHT}" y="{level - 4:.1f}" text-anchor="end" class="threshold-label">'
            f"threshold {threshold:g}</text>"
        )
    parts += [f'<polyline class="line" points="{points}"/>' for points in _runs(values, x, y)]
    for i, value in enumerate(values):
        if value is None:
            continue
        kind = "point flagged" if flagged and flagged[i] else "point"
        parts.append(f'<circle class="{kind}" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5">'
                     f"<title>{escape(labels[i])}: {value:.4g}</title></circle>")  # fmt: skip
    return "".join([*parts, "</svg>"])


def _bounds(numbers: list[float]) -> tuple[float, float]:
    low, high = min(numbers), max(numbers)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    return max(0.0, low - pad) if low >= 0 else low - pad, high + pad


def _axes(low: float, high: float, y: Callable[[float], float]) -> list[str]:
    ticks = [low + (high - low) * k / 4 for k in range(5)]
    return [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" class="tick">{t:.3g}</text>'
            for t in ticks]  # fmt: skip


def _sparse(labels: list[str], most: int = 8) -> list[tuple[int, str]]:
    """At most ``most`` x labels, evenly spread, so dates do not overlap."""
    step = max(1, -(-len(labels) // most))
    return [(i, label) for i, label in enumerate(labels) if i % step == 0 or i == len(labels) - 1]


def _runs(values: list[float | None], x: Callable[[int], float], y: Callable[[float], float]) -> list[str]:
    """Polyline point lists for each run of consecutive known values."""
    runs: list[list[str]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(f"{x(i):.1f},{y(value):.1f}")
    return [" ".join(run) for run in runs if len(run) > 1]
