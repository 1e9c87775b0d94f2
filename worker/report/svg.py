"""The report's charts as inline SVG: each run's timeline and the latency histogram.

Plain SVG elements styled by the page's stylesheet (class names, so dark mode and print apply),
each chart a labelled image (`role="img"`, a <title> and a <desc>) with a tooltip per bar. Every
bar carries its count in `data-field`/`data-value`, so the drawn figures can be read back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from worker.report.markup import (
    clean,
    count,
    escape,
    mapping,
    marker,
    milliseconds,
    moment,
    number,
    thousands,
)

WIDTH = 960
LEFT, RIGHT = 64, 16  # room for the y axis' labels; a margin
MAX_SLOTS = 240  # more buckets than this are merged, so a bar stays wider than two pixels
# Steps between time labels, in seconds: the smallest that keeps to about seven labels.
LABEL_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)


@dataclass
class Slot:
    """One bucket of a run's timeline."""

    deleted: int = 0
    retries: int = 0
    throttled: int = 0


def _f(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _clock(start: datetime, seconds: float, stamp: str) -> str:
    """The time `seconds` after `start`, formatted; "…" past the calendar's end (year 9999)."""
    try:
        return (start + timedelta(seconds=seconds)).strftime(stamp)
    except OverflowError:
        return "\u2026"


def axis_top(peak: float) -> tuple[float, float]:
    """A round top for an axis reaching `peak`, and the whole-number step (1, 2 or 5 times a
    power of ten) between its gridlines: the smallest step that needs at most five."""
    if peak <= 0:
        return 1, 1
    scale = 10 ** max(0, math.floor(math.log10(peak)) - 1)
    step = next(m * scale for m in (1, 2, 5, 10, 20, 50) if peak / (m * scale) <= 5)
    return step * math.ceil(peak / step), step


def per_bucket(seconds: int) -> str:
    """'per minute', 'per 10 s', 'per 5 min', 'per hour'."""
    if seconds % 3600 == 0:
        return "per hour" if seconds == 3600 else f"per {seconds // 3600} h"
    if seconds % 60 == 0:
        return "per minute" if seconds == 60 else f"per {seconds // 60} min"
    return "per second" if seconds == 1 else f"per {seconds} s"


def _slots(points: Sequence[Any], bucket: int) -> tuple[datetime, int, list[Slot], bool] | None:
    """The run's points in time order, merged into at most MAX_SLOTS buckets: the first
    bucket's start, the bucket length, the buckets, whether 429s are known."""
    timed: list[tuple[datetime, dict[str, Any]]] = []
    for point in points:
        fields = mapping(point)
        at = moment(fields.get("t"))
        if at is not None:
            timed.append((at, dict(fields)))
    if not timed:
        return None
    start = min(at for at, _ in timed)
    span = max(int((at - start).total_seconds() // bucket) for at, _ in timed) + 1
    merge = math.ceil(span / MAX_SLOTS)
    bucket *= merge
    slots = [Slot() for _ in range(math.ceil(span / merge))]
    known_429 = False
    for at, fields in timed:
        slot = slots[int((at - start).total_seconds() // bucket)]
        slot.deleted += count(fields.get("deleted"))
        slot.retries += count(fields.get("retries"))
        if number(fields.get("throttled")) is not None:
            known_429 = True
            slot.throttled += count(fields.get("throttled"))
    return start, bucket, slots, known_429


class Chart(NamedTuple):
    """A drawn timeline: the SVG, what each bar counts ('per minute'), and how many bars."""

    svg: str
    unit: str
    buckets: int


def timeline_chart(
    points: Sequence[Any], bucket_seconds: object, chart_id: str, run: str
) -> Chart | None:
    """A run's deletions (bars up) and retries and 429 answers (bars down) per bucket; None
    when the run has no readable point."""
    bucket = count(bucket_seconds) or 60
    merged = _slots(points, bucket)
    if merged is None:
        return None
    start, bucket, slots, known_429 = merged
    unit = per_bucket(bucket)
    top, mid, bottom = 20, 150, 50  # heights: margin, deletions, retries and 429s
    base = top + mid
    plot = WIDTH - LEFT - RIGHT
    slot_w = plot / len(slots)
    bar_w = slot_w if slot_w < 3 else min(slot_w * 0.78, 40)
    up_top, up_step = axis_top(max(s.deleted for s in slots))
    trouble = max(max(s.retries, s.throttled) for s in slots)
    down_top, _ = axis_top(trouble)
    stamp = "%H:%M:%S" if bucket < 60 else "%H:%M"
    parts: list[str] = []
    for i in range(int(up_top / up_step) + 1):
        y = base - mid * (i * up_step) / up_top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y)}" y2="{_f(y)}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{_f(y + 4)}" text-anchor="end">'
            f"{thousands(i * up_step)}</text>"
        )
    if trouble:
        y = base + bottom
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y}" text-anchor="end">'
            f"{thousands(down_top)}</text>"
        )
    else:
        words = "no retries, no 429s" if known_429 else "no retries"
        parts.append(f'<text class="tick" x="{LEFT + 6}" y="{base + 22}">{words}</text>')
    for i, slot in enumerate(slots):
        if not (slot.deleted or slot.retries or slot.throttled):
            continue
        x = LEFT + i * slot_w + (slot_w - bar_w) / 2
        at = _clock(start, i * bucket, stamp)
        tip = f"{at} UTC: {slot.deleted:,} deleted, {slot.retries:,} retries"
        tip += f", {slot.throttled:,} 429s" if known_429 else ""
        bars = [f"<title>{tip}</title>"]
        height = mid * slot.deleted / up_top
        bars.append(
            f'<rect class="c-deleted" x="{_f(x)}" y="{_f(base - height)}" '
            f'width="{_f(bar_w)}" height="{_f(height)}" '
            f"{marker('field', 'deleted', slot.deleted)}/>"
        )
        downs = [("retries", slot.retries)] + ([("throttled", slot.throttled)] if known_429 else [])
        for field, n in sorted(downs, key=lambda pair: -pair[1]):  # the smaller one on top
            height = bottom * n / down_top
            bars.append(
                f'<rect class="c-{field}" x="{_f(x)}" y="{base}" width="{_f(bar_w)}" '
                f'height="{_f(height)}" {marker("field", field, n)}/>'
            )
        parts.append(f"<g>{''.join(bars)}</g>")
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>')
    step = next((s for s in LABEL_STEPS if s % bucket == 0 and len(slots) * bucket / s <= 7), 0)
    every = step // bucket if step else math.ceil(len(slots) / 7)
    for i in range(0, len(slots), every):
        x = LEFT + i * slot_w
        label = _clock(start, i * bucket, stamp)
        parts.append(
            f'<line class="axis" x1="{_f(x)}" x2="{_f(x)}" y1="{base + bottom}" '
            f'y2="{base + bottom + 4}"/>'
        )
        parts.append(
            f'<text class="tick" x="{_f(x)}" y="{base + bottom + 17}" '
            f'text-anchor="middle">{label}</text>'
        )
    total = sum(s.deleted for s in slots)
    peak = max(slots, key=lambda s: s.deleted)
    peak_at = _clock(start, slots.index(peak) * bucket, stamp)
    end = _clock(start, len(slots) * bucket, stamp)
    desc = (
        f"From {start.strftime(stamp)} to {end} UTC: {total:,} ids deleted, at most "
        f"{peak.deleted:,} {unit} (at {peak_at}); {sum(s.retries for s in slots):,} retries"
    )
    desc += f", {sum(s.throttled for s in slots):,} 429 answers." if known_429 else "."
    title = f"Run {escape(clean(run, 120))}: ids deleted, retries and 429 answers {unit}"
    height = base + bottom + 24
    svg = (
        f'<svg class="chart" data-chart="timeline" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{title}</title><desc id="{chart_id}-desc">{desc}</desc>'
        f"{''.join(parts)}</svg>"
    )
    return Chart(svg, unit, len(slots))


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
    parts: list[str] = []
    for i in range(int(y_top / y_step) + 1):
        y = base - mid * (i * y_step) / y_top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y)}" y2="{_f(y)}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{_f(y + 4)}" text-anchor="end">'
            f"{thousands(i * y_step)}</text>"
        )
    lower = 0.0
    bounds: list[tuple[float, float | None]] = []
    for i, (upper, n) in enumerate(buckets):
        x = LEFT + i * slot_w + (slot_w - bar_w) / 2
        height = mid * n / y_top
        label = _bucket_label(upper, lower)
        parts.append(
            f'<g><title>{label}: {n:,} requests</title><rect class="c-latency" '
            f'x="{_f(x)}" y="{_f(base - height)}" width="{_f(bar_w)}" '
            f'height="{_f(height)}" {marker("field", "count", n)}/></g>'
        )
        centre = LEFT + (i + 0.5) * slot_w
        if n and len(buckets) <= 16:
            parts.append(
                f'<text class="bar-label" x="{_f(centre)}" y="{_f(base - height - 5)}" '
                f'text-anchor="middle">{n:,}</text>'
            )
        parts.append(
            f'<text class="tick" x="{_f(centre)}" y="{base + 18}" '
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
        parts.append(f'<line class="mark" x1="{_f(x)}" x2="{_f(x)}" y1="{y - 10}" y2="{base}"/>')
        parts.append(f'<text class="mark-label" x="{_f(x + 4)}" y="{y}">{label}</text>')
    total = sum(n for _, n in buckets)
    desc = "; ".join(
        f"{_bucket_label(b[1], b[0])}: {n:,}" for b, (_, n) in zip(bounds, buckets, strict=True)
    )
    return (
        f'<svg class="chart" data-chart="latency" viewBox="0 0 {WIDTH} {base + 28}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">Latency of {total:,} requests, by bucket</title>'
        f'<desc id="{chart_id}-desc">{desc}</desc>{"".join(parts)}</svg>'
    )
