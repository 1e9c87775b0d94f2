"""What the report's inline SVG charts share: the drawing's size, round axes, gridlines, and
the labelled <svg> element itself.

Plain SVG elements styled by the page's stylesheet (class names, so dark mode and print apply),
each chart a labelled image (`role="img"`, a <title> and a <desc>). Every bar carries its count
in `data-field`/`data-value`, so the drawn figures can be read back.
"""

from __future__ import annotations

import math

from worker.report.markup import thousands

WIDTH = 960  # the drawing's width; the page scales it to the column
LEFT, RIGHT = 64, 16  # room for the y axis' labels; a margin


def coordinate(value: float) -> str:
    """A coordinate to a tenth of a unit, without a trailing .0."""
    return f"{value:.1f}".removesuffix(".0")


def axis_top(peak: float) -> tuple[float, float]:
    """A round top for an axis reaching `peak`, and the whole-number step (1, 2 or 5 times a
    power of ten) between its gridlines: the smallest step that needs at most five."""
    if peak <= 0:
        return 1, 1
    scale = 10 ** max(0, math.floor(math.log10(peak)) - 1)
    step = next(m * scale for m in (1, 2, 5, 10, 20, 50) if peak / (m * scale) <= 5)
    return step * math.ceil(peak / step), step


def y_axis(base: float, height: float, top: float, step: float) -> list[str]:
    """Gridlines and their labels from 0 at `base` up to `top`, `height` units above."""
    parts = []
    for i in range(int(top / step) + 1):
        y = base - height * (i * step) / top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{coordinate(y)}" '
            f'y2="{coordinate(y)}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{coordinate(y + 4)}" text-anchor="end">'
            f"{thousands(i * step)}</text>"
        )
    return parts


def chart_svg(
    kind: str, chart_id: str, height: float, title: str, desc: str, parts: list[str]
) -> str:
    """The <svg> element: an image labelled by its title and description (both escaped by
    the caller), scaled to the page's width."""
    return (
        f'<svg class="chart" data-chart="{kind}" viewBox="0 0 {WIDTH} {coordinate(height)}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{title}</title><desc id="{chart_id}-desc">{desc}</desc>'
        f"{''.join(parts)}</svg>"
    )


def swatch(tone: str) -> str:
    """A small square of a chart's colour, for a legend."""
    return (
        f'<svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">'
        f'<rect class="{tone}" width="10" height="10" rx="2"/></svg>'
    )
