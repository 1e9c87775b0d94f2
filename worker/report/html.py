"""The HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched)
rendered from the JSON-ready report dict, fit to attach to a ticket.

Sections, top to bottom: the headline (what was asked, deleted, left, over which runs), each
run's timeline, the latency distribution, what is left by reason, and the runs table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from worker.clock import REPORT_MINUTE
from worker.report.headline import RESUME, deleted_of, summary, top
from worker.report.html_tables import left_table, runs_table
from worker.report.latency_chart import latency_chart
from worker.report.markup import (
    NAME_LIMIT,
    count,
    duration,
    ledger_text,
    mapping,
    marker,
    milliseconds,
    number,
    sequence,
    thousands,
    when,
)
from worker.report.page_style import STYLE
from worker.report.svg import swatch
from worker.report.timeline_chart import timeline_chart

CHARTS_SHOWN = 24  # runs drawn in the timeline; the runs table lists them all
REASONS_SHOWN = 50  # rows of each "what is left" table: the biggest reasons come first


def render_html(report: Mapping[str, Any]) -> str:
    """The page for `report` (the dict `thumbsweep report --format json` prints)."""
    report = mapping(report)
    headline = mapping(report.get("headline"))
    runs = sequence(report.get("runs"))
    title = f"thumbsweep report: {deleted_of(headline)}"
    body = "".join(
        (
            top(report, headline),
            summary(headline, mapping(report.get("final_status"))),
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
            sequence(line.get("points")),
            bucket,
            f"timeline-{index}",
            run_id if isinstance(run_id, str) else "(no run id)",
        )
        if chart is None:
            quiet.append(ledger_text(run_id, NAME_LIMIT))
            continue
        run = by_id.get(run_id, {}) if isinstance(run_id, str) else {}
        facts = [when(run.get("started"), REPORT_MINUTE) + " UTC"] if run.get("started") else []
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
            f"<li>{swatch('c-deleted')}ids deleted (above the line)</li>"
            f"<li>{swatch('c-retries')}retries (below)</li>"
            f"<li>{swatch('c-throttled')}429 answers (below)</li></ul>"
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
        parts.append(
            left_table(kind, groups[:REASONS_SHOWN], label)
            if groups
            else f'<p class="empty">{none}</p>'
        )
        if len(groups) > REASONS_SHOWN:
            rest = groups[REASONS_SHOWN:]
            ids = sum(count(mapping(g).get("count")) for g in rest)
            parts.append(
                f'<p class="meta">{len(rest):,} more reasons, {ids:,} ids, are not listed here: '
                "<code>thumbsweep report --format json</code> lists them all.</p>"
            )
    return (
        f'<section aria-labelledby="h-left">\n<h2 id="h-left">What is left</h2>\n'
        f"{''.join(parts)}\n</section>\n"
    )


def _runs(runs: Sequence[Any]) -> str:
    body = runs_table(runs) if runs else '<p class="empty">No runs in these ledgers.</p>'
    return f'<section aria-labelledby="h-runs">\n<h2 id="h-runs">Runs</h2>\n{body}\n</section>\n'


def _footer(report: Mapping[str, Any]) -> str:
    generated = report.get("generated_at")
    at = f" at {when(generated)} UTC" if generated else ""
    version = ledger_text(report.get("report_version"), 20)
    return (
        f'<footer class="meta">Generated by <code>thumbsweep report</code>{at} · '
        f"report version {version} · every time is UTC.</footer>\n"
    )
