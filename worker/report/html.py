"""The HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched)
rendered from the JSON-ready report dict, fit to attach to a ticket.

Sections, top to bottom: the headline (what was asked, deleted, left, over which runs), each
run's timeline, the latency distribution, what is left by reason, and the runs table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from worker.report.markup import (
    ABSENT,
    NAME_LIMIT,
    count,
    duration,
    escape,
    ledger_text,
    mapping,
    marker,
    milliseconds,
    moment,
    number,
    sequence,
    thousands,
    when,
)
from worker.report.page_style import STYLE
from worker.report.svg import latency_chart, timeline_chart
from worker.report.tables import left_table, runs_table

CHARTS_SHOWN = 24  # runs drawn in the timeline; the runs table lists them all
LEDGERS_NAMED = 8
RESUME = '<span class="flag">--resume</span>'  # kept on one line


def render_html(report: Mapping[str, Any]) -> str:
    """The page for `report` (the dict `thumbsweep report --format json` prints)."""
    report = mapping(report)
    headline = mapping(report.get("headline"))
    runs = sequence(report.get("runs"))
    title = f"thumbsweep report: {_deleted_of(headline)}"
    body = "".join(
        (
            _top(report, headline),
            _summary(headline, mapping(report.get("final_status"))),
            _timeline(mapping(report.get("timeline")), runs),
            _latency(mapping(report.get("latency_ms"))),
            _left(mapping(report.get("left"))),
            _runs(runs),
            _footer(report),
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="thumbsweep report">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


def _deleted_of(headline: Mapping[str, Any]) -> str:
    ids, deleted = count(headline.get("ids")), count(headline.get("deleted"))
    if not ids:
        return "no ids in these ledgers"
    return f"{deleted:,} of {ids:,} ids deleted"


def _figure(name: str, value: object) -> str:
    n = number(value)
    exact = "" if n is None else escape(str(n))
    mark = marker("metric", name, value)
    return f'<data class="figure" {mark} value="{exact}">{thousands(value)}</data>'


def _top(report: Mapping[str, Any], headline: Mapping[str, Any]) -> str:
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
    heading = _deleted_of(headline).capitalize()
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
    if not whole:
        return ABSENT
    share = 100 * part / whole
    return f"{share:.1f} %" if 0 < share < 99.95 or share == 100 else f"{share:.0f} %"


def _summary(headline: Mapping[str, Any], final: Mapping[str, Any]) -> str:
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
        legend.append(f"<li>{_swatch(tone)}{shown} <strong>{_percent(n, ids)}</strong></li>")
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


def _swatch(tone: str) -> str:
    return (
        f'<svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">'
        f'<rect class="{tone}" width="10" height="10" rx="2"/></svg>'
    )


def _timeline(timeline: Mapping[str, Any], runs: Sequence[Any]) -> str:
    """Each run's deletions, retries and 429s over time, one chart per run."""
    bucket = count(timeline.get("bucket_seconds")) or 60
    by_id = {
        mapping(run).get("run_id"): mapping(run)
        for run in runs
        if isinstance(mapping(run).get("run_id"), str)
    }
    figures, quiet = [], []
    series = sequence(timeline.get("series"))
    for index, entry in enumerate(series[:CHARTS_SHOWN]):
        line = mapping(entry)
        run_id = line.get("run_id")
        chart = timeline_chart(
            sequence(line.get("points")), bucket, f"timeline-{index}", str(run_id)
        )
        if chart is None:
            quiet.append(ledger_text(run_id, NAME_LIMIT))
            continue
        run = by_id.get(run_id, {}) if isinstance(run_id, str) else {}
        facts = [when(run.get("started"), "%Y-%m-%d %H:%M UTC")] if run.get("started") else []
        facts += (
            [duration(run.get("duration_s"))] if number(run.get("duration_s")) is not None else []
        )
        facts += [f"{thousands(mapping(run.get('ids')).get('deleted'))} deleted"] if run else []
        if chart.buckets > 1:
            facts.append(f"bars {chart.unit}")
        else:
            facts.append(f"every request within one {chart.unit.removeprefix('per ')}")
        name = ledger_text(run_id, NAME_LIMIT)
        figures.append(
            f'<figure class="chart-box"><figcaption><strong>Run <span class="run-id">{name}</span>'
            f'</strong> <span class="meta">{" · ".join(facts)}</span></figcaption>'
            f"{chart.svg}</figure>"
        )
    notes = []
    if quiet:
        notes.append(f'<p class="meta">Not drawn, no request sent: {", ".join(quiet)}.</p>')
    if len(series) > CHARTS_SHOWN:
        notes.append(
            f'<p class="meta">{len(series) - CHARTS_SHOWN:,} more runs not drawn; '
            "the runs table lists them all.</p>"
        )
    if not figures:
        body = '<p class="empty">No timeline: no run in these ledgers sent a request.</p>'
    else:
        legend = (
            f'<ul class="legend">'
            f"<li>{_swatch('c-deleted')}ids deleted (above the line)</li>"
            f"<li>{_swatch('c-retries')}retries (below)</li>"
            f"<li>{_swatch('c-throttled')}429 answers (below)</li></ul>"
        )
        body = legend + "".join(figures)
    return (
        f'<section aria-labelledby="h-timeline">\n<h2 id="h-timeline">Timeline</h2>\n'
        f"{body}{''.join(notes)}\n</section>\n"
    )


LATENCY_STATS = (
    ("p50", "median (p50)", milliseconds),
    ("p95", "p95", milliseconds),
    ("p99", "p99", milliseconds),
    ("max", "slowest", milliseconds),
    ("count", "requests timed", thousands),
)


def _latency(latency: Mapping[str, Any]) -> str:
    """The percentiles of request latency and its histogram."""
    stats = []
    for key, label, show in LATENCY_STATS:
        raw = latency.get(key)
        figure = f'<span class="figure small" {marker("metric", f"latency.{key}", raw)}>'
        stats.append(f'<div class="stat"><dt>{label}</dt><dd>{figure}{show(raw)}</span></dd></div>')
    marks = [(name, latency.get(name)) for name in ("p50", "p95", "p99")]
    chart = latency_chart(sequence(latency.get("histogram")), marks, latency.get("max"), "latency")
    if not count(latency.get("count")):
        chart = '<p class="empty">No request latencies in these ledgers.</p>'
    return (
        f'<section aria-labelledby="h-latency">\n<h2 id="h-latency">Request latency</h2>\n'
        f'<dl class="stats">{"".join(stats)}</dl>\n'
        f'<figure class="chart-box">{chart}</figure>\n</section>\n'
    )


def _left(left: Mapping[str, Any]) -> str:
    """What is left, by reason: ids that need a person, then ids a --resume would send."""
    parts = []
    for kind, heading, none in (
        ("needs_person", "Need a person", "Nothing needs a person."),
        ("resumable", f"Left for {RESUME}", f"Nothing is left for {RESUME}."),
    ):
        groups = sequence(left.get(kind))
        total = sum(count(mapping(g).get("count")) for g in groups)
        label = f"h-left-{kind.replace('_', '-')}"
        parts.append(
            f'<h3 id="{label}">{heading} <span class="meta">({total:,} in {len(groups):,} '
            f"reason{'' if len(groups) == 1 else 's'})</span></h3>"
            if groups
            else f'<h3 id="{label}">{heading}</h3>'
        )
        parts.append(left_table(kind, groups, label) if groups else f'<p class="empty">{none}</p>')
    return (
        f'<section aria-labelledby="h-left">\n<h2 id="h-left">What is left</h2>\n'
        f"{''.join(parts)}\n</section>\n"
    )


def _runs(runs: Sequence[Any]) -> str:
    body = runs_table(runs) if runs else '<p class="empty">No runs in these ledgers.</p>'
    return f'<section aria-labelledby="h-runs">\n<h2 id="h-runs">Runs</h2>\n{body}\n</section>\n'


def _footer(report: Mapping[str, Any]) -> str:
    generated = report.get("generated_at")
    at = f" at {when(generated, '%Y-%m-%d %H:%M:%S UTC')}" if generated else ""
    version = ledger_text(report.get("report_version"), 20)
    return (
        f'<footer class="meta">Generated by <code>thumbsweep report</code>{at} · '
        f"report version {version} · every time is UTC.</footer>\n"
    )
