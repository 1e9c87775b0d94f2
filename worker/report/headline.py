"""The report's headline: what was asked and what became of it, in one look.

The title ("16,008 of 16,108 ids deleted"), a one-line verdict, the period and ledgers read,
a card per headline figure, the share of ids by outcome as a bar, and the ids by final status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.report.markup import (
    ABSENT,
    NAME_LIMIT,
    count,
    escape,
    ledger_text,
    marker,
    moment,
    number,
    sequence,
    thousands,
    when,
)
from worker.report.svg import swatch

LEDGERS_NAMED = 8
RESUME = '<span class="flag">--resume</span>'  # kept on one line


def deleted_of(headline: Mapping[str, Any]) -> str:
    """The headline in words: "41 of 43 ids deleted"."""
    ids, deleted = count(headline.get("ids")), count(headline.get("deleted"))
    if not ids:
        return "no ids in these ledgers"
    return f"{deleted:,} of {ids:,} ids deleted"


def _figure(name: str, value: object) -> str:
    n = number(value)
    exact = "" if n is None else escape(str(n))
    mark = marker("metric", name, value)
    return f'<data class="figure" {mark} value="{exact}">{thousands(value)}</data>'


def top(report: Mapping[str, Any], headline: Mapping[str, Any]) -> str:
    """The title, the verdict in one line, the period and the ledgers read."""
    ids, deleted = count(headline.get("ids")), count(headline.get("deleted"))
    needs, resumable = count(headline.get("needs_person")), count(headline.get("resumable"))
    if not ids:
        verdict = ""
    elif deleted == ids:
        verdict = '<p class="verdict ok">Every id was deleted</p>'
    else:
        left = [f"{needs:,} need{'s' if needs == 1 else ''} a person"] if needs else []
        left += [f"{resumable:,} left for {RESUME}"] if resumable else []
        other = ids - deleted - needs - resumable
        left += [f"{other:,} not deleted"] if other > 0 else []
        items = " · ".join(f'<span class="flag">{item}</span>' for item in left)
        verdict = f'<p class="verdict {"bad" if needs else "warn"}">{items}</p>'
    runs = count(headline.get("runs"))
    first, last = headline.get("first_ts"), headline.get("last_ts")
    period = f"Over {runs:,} run{'' if runs == 1 else 's'}" if runs else "No runs"
    if moment(first) or moment(last):
        period += (
            f", from <span {marker('metric', 'headline.first_ts', first)}>{when(first)}</span>"
            f" to <span {marker('metric', 'headline.last_ts', last)}>{when(last)}</span> UTC"
        )
    else:
        period += (
            f"<span {marker('metric', 'headline.first_ts', first)}></span>"
            f"<span {marker('metric', 'headline.last_ts', last)}></span>"
        )
    ledgers = sequence(report.get("ledgers"))
    named = ", ".join(
        f"<code>{ledger_text(name, NAME_LIMIT)}</code>" for name in ledgers[:LEDGERS_NAMED]
    )
    more = f" and {len(ledgers) - LEDGERS_NAMED:,} more" if len(ledgers) > LEDGERS_NAMED else ""
    read = f'<p class="meta">Ledgers read: {named}{more}</p>' if ledgers else ""
    heading = deleted_of(headline).capitalize()
    return (
        f'<header>\n<p class="kicker">thumbsweep report</p>\n<h1>{heading}</h1>\n'
        f'{verdict}\n<p class="meta">{period}.</p>\n{read}\n</header>\n'
    )


CARDS = (
    ("ids", "Ids requested", "", "distinct workspace, person and thumbnail"),
    ("deleted", "Deleted", "ok", ""),
    ("needs_person", "Need a person", "bad", "permanent failures and invalid rows: see below"),
    ("resumable", f"Left for {RESUME}", "warn", f"ids a {RESUME} run would send"),
    ("invalid_rows", "Invalid rows", "", "input rows without a usable id"),
    ("runs", "Runs", "", "see the runs table"),
)
SHARES = (
    ("deleted", "deleted", "c-deleted"),
    ("needs_person", "need a person", "c-bad"),
    ("resumable", "left for --resume", "c-warn"),
)


def _percent(part: int, whole: int) -> str:
    """A share to a tenth of a percent, never rounded to look like none or all of it (as
    HTML: `&lt; 0.1 %`)."""
    if not whole:
        return ABSENT
    share = 100 * part / whole
    if share in (0, 100):
        return f"{share:.0f} %"
    if share < 0.1:
        return "&lt; 0.1 %"
    return "&gt; 99.9 %" if share > 99.9 else f"{share:.1f} %"


def summary(headline: Mapping[str, Any], final: Mapping[str, Any]) -> str:
    """The headline figures as cards, the share of ids by outcome, the ids by final status."""
    ids = count(headline.get("ids"))
    cards = []
    for key, label, tone, note in CARDS:
        value = headline.get(key)
        if key == "deleted":
            note = f"{_percent(count(value), ids)} of the ids" if ids else "of no ids"
        cards.append(
            f'<div class="card {tone}"><dt>{label}</dt><dd>{_figure(f"headline.{key}", value)}'
            f'<span class="note">{note}</span></dd></div>'
        )
    parts = [(label, count(headline.get(key)), tone) for key, label, tone in SHARES]
    other = ids - sum(n for _, n, _ in parts)
    parts += [("other", other, "c-other")] if other > 0 else []
    # A small share stays visible (at least 0.5 % of the bar); the legend gives exact figures.
    widths = [max(5.0, 1000 * n / ids) if ids and n else 0.0 for _, n, _ in parts]
    scale = 1000 / sum(widths) if sum(widths) else 0
    bar, legend, x = [], [], 0.0
    for (label, n, tone), width in zip(parts, widths, strict=True):
        if width:
            bar.append(
                f'<rect class="{tone}" x="{x:.1f}" y="0" width="{width * scale:.1f}" height="16"/>'
            )
        x += width * scale
        shown = label.replace("--resume", RESUME)
        legend.append(f"<li>{swatch(tone)}{shown} <strong>{_percent(n, ids)}</strong></li>")
    share = ""
    if ids:
        words = ", ".join(f"{label} {_percent(n, ids)}" for label, n, _ in parts)
        share = (
            f'<svg class="share" viewBox="0 0 1000 16" preserveAspectRatio="none" role="img" '
            f'aria-label="Share of ids: {words}">{"".join(bar)}</svg>'
            f'<ul class="legend">{"".join(legend)}</ul>'
        )
    statuses = " · ".join(
        f"{status.replace('_', ' ')} <strong {marker('metric', f'final.{status}', n)}>"
        f"{thousands(n)}</strong>"
        for status, n in ((s, final.get(s)) for s in ("deleted", "failed", "skipped", "dry_run"))
    )
    return (
        f'<section aria-labelledby="h-summary">\n<h2 id="h-summary" class="vh">Summary</h2>\n'
        f'<dl class="cards">{"".join(cards)}</dl>\n{share}\n'
        f'<p class="meta">Ids by final status: {statuses}.</p>\n</section>\n'
    )
