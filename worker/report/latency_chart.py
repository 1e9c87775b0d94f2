"""The latency of requests as an inline SVG histogram: a bar per bucket of `elapsed_ms`, the
percentiles marked where they fall (linearly within their bucket).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.report.markup import count, escape, mapping, marker, milliseconds, number
from worker.report.svg import LEFT, RIGHT, WIDTH, axis_top, chart_svg, coordinate, y_axis


def _bucket_label(upper: float | None, lower: float) -> str:
    return f"\u2264 {upper:,g} ms" if upper is not None else f"> {lower:,g} ms"


def latency_chart(
    histogram: Sequence[Any], marks: Sequence[tuple[str, object]], slowest: object, chart_id: str
) -> str:
    """The histogram of request latencies, one bar per bucket, with the percentiles marked
    (placed within their bucket by linear interpolation); empty without a readable bucket."""
    buckets: list[tuple[float | None, int]] = []
    for entry in histogram:
        fields = mapping(entry)
        upper = fields.get("le")
        if upper is None or number(upper) is not None:
            buckets.append((number(upper), count(fields.get("count"))))
    if not buckets:
        return ""
    top, mid = 48, 170
    base = top + mid
    plot = WIDTH - LEFT - RIGHT
    slot_w = plot / len(buckets)
    bar_w = min(slot_w * 0.8, 64)
    y_top, y_step = axis_top(max(n for _, n in buckets))
    parts = y_axis(base, mid, y_top, y_step)
    lower = 0.0
    bounds: list[tuple[float, float | None]] = []
    for i, (upper, n) in enumerate(buckets):
        x = LEFT + i * slot_w + (slot_w - bar_w) / 2
        height = mid * n / y_top
        label = _bucket_label(upper, lower)
        parts.append(
            f'<g><title>{label}: {n:,} requests</title><rect class="c-latency" '
            f'x="{coordinate(x)}" y="{coordinate(base - height)}" width="{coordinate(bar_w)}" '
            f'height="{coordinate(height)}" {marker("field", "count", n)}/></g>'
        )
        centre = LEFT + (i + 0.5) * slot_w
        if n and len(buckets) <= 16:
            parts.append(
                f'<text class="bar-label" x="{coordinate(centre)}" '
                f'y="{coordinate(base - height - 5)}" '
                f'text-anchor="middle">{n:,}</text>'
            )
        parts.append(
            f'<text class="tick" x="{coordinate(centre)}" y="{base + 18}" '
            f'text-anchor="middle">{label}</text>'
        )
        bounds.append((lower, upper))
        lower = upper if upper is not None else lower
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>')
    ends: list[float] = []  # where each row of percentile labels ends, to stack them
    for name, raw in marks:
        ms = number(raw)
        if ms is None:
            continue
        i = next((j for j, (_, up) in enumerate(bounds) if up is None or ms <= up), len(bounds) - 1)
        low, up = bounds[i]
        high = up if up is not None else max(number(slowest) or 0, low * 2, low + 1)
        share = min(1.0, max(0.0, (ms - low) / (high - low))) if high > low else 0.5
        x = LEFT + (i + 0.1 + 0.8 * share) * slot_w
        label = f"{escape(name)} {milliseconds(ms)}"
        row = next((r for r, end in enumerate(ends) if end < x), len(ends))
        ends[row : row + 1] = [x + 8 * len(label) + 12]
        y = 14 + 15 * row
        parts.append(
            f'<line class="mark" x1="{coordinate(x)}" x2="{coordinate(x)}" '
            f'y1="{y - 10}" y2="{base}"/>'
        )
        parts.append(f'<text class="mark-label" x="{coordinate(x + 4)}" y="{y}">{label}</text>')
    total = sum(n for _, n in buckets)
    desc = "; ".join(
        f"{_bucket_label(b[1], b[0])}: {n:,}" for b, (_, n) in zip(bounds, buckets, strict=True)
    )
    title = f"Latency of {total:,} requests, by bucket"
    return chart_svg("latency", chart_id, base + 28, title, desc, parts)
