"""A run's timeline as an inline SVG chart: ids deleted per bucket (bars up), retries and 429
answers per bucket (bars down), each bar with a tooltip.

Buckets are placed by their time, so a quiet stretch shows as a gap; past MAX_SLOTS buckets,
neighbours are merged (and the chart says what a bar then counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from worker.clock import REPORT_TIME, REPORT_TIME_MINUTE
from worker.report.markup import clean, count, escape, mapping, marker, moment, number, thousands
from worker.report.svg import LEFT, RIGHT, WIDTH, axis_top, chart_svg, coordinate, y_axis

MAX_SLOTS = 240  # more buckets than this are merged, so a bar stays wider than two pixels
# Steps between time labels, in seconds: the smallest that keeps to about seven labels.
LABEL_STEPS = (
    *(1, 2, 5, 10, 15, 30),
    *(60 * minutes for minutes in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)),
)


@dataclass
class Slot:
    """One bucket of a run's timeline."""

    deleted: int = 0
    retries: int = 0
    throttled: int = 0


def _clock(start: datetime, seconds: float, stamp: str) -> str:
    """The time `seconds` after `start`, formatted; "…" past the calendar's end (year 9999)."""
    try:
        return (start + timedelta(seconds=seconds)).strftime(stamp)
    except OverflowError:
        return "\u2026"


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
    stamp = REPORT_TIME if bucket < 60 else REPORT_TIME_MINUTE
    parts = y_axis(base, mid, up_top, up_step)
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
            f'<rect class="c-deleted" x="{coordinate(x)}" y="{coordinate(base - height)}" '
            f'width="{coordinate(bar_w)}" height="{coordinate(height)}" '
            f"{marker('field', 'deleted', slot.deleted)}/>"
        )
        downs = [("retries", slot.retries)] + ([("throttled", slot.throttled)] if known_429 else [])
        for field, n in sorted(downs, key=lambda pair: -pair[1]):  # the smaller one on top
            height = bottom * n / down_top
            bars.append(
                f'<rect class="c-{field}" x="{coordinate(x)}" y="{base}" '
                f'width="{coordinate(bar_w)}" '
                f'height="{coordinate(height)}" {marker("field", field, n)}/>'
            )
        parts.append(f"<g>{''.join(bars)}</g>")
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>')
    step = next((s for s in LABEL_STEPS if s % bucket == 0 and len(slots) * bucket / s <= 7), 0)
    every = step // bucket if step else math.ceil(len(slots) / 7)
    for i in range(0, len(slots), every):
        x = LEFT + i * slot_w
        label = _clock(start, i * bucket, stamp)
        parts.append(
            f'<line class="axis" x1="{coordinate(x)}" x2="{coordinate(x)}" y1="{base + bottom}" '
            f'y2="{base + bottom + 4}"/>'
        )
        parts.append(
            f'<text class="tick" x="{coordinate(x)}" y="{base + bottom + 17}" '
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
    svg = chart_svg("timeline", chart_id, base + bottom + 24, title, desc, parts)
    return Chart(svg, unit, len(slots))
