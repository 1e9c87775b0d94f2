"""The report's tables: the runs, and what is left (ids that need a person, ids for --resume).

Wide tables sit in a box that scrolls sideways on a phone (the page itself never does), with
the row's header cell kept in view. Each row is marked `data-row`, each figure `data-field`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from worker.clock import REPORT_DAY, REPORT_MOMENT, REPORT_TIME
from worker.report.markup import (
    NAME_LIMIT,
    duration,
    ledger_text,
    mapping,
    marker,
    moment,
    number,
    sequence,
    thousands,
    when,
)

EXAMPLES_SHOWN = 5
STATUS_WORDS = {"dry_run": "dry run"}

# The runs table: (field, heading, is it a figure); ids.* are the ids by status in the run.
RUN_COLUMNS = (
    ("exit_code", "Exit", True),
    ("started", "When (UTC)", False),
    ("duration_s", "Duration", True),
    ("ids.deleted", "Deleted", True),
    ("ids.failed", "Failed", True),
    ("ids.skipped", "Skipped", True),
    ("ids.dry_run", "Dry run", True),
    ("records", "Records", True),
    ("invalid_rows", "Invalid", True),
    ("requests", "Requests", True),
    ("retries", "Retries", True),
    ("throttled", "429s", True),
    ("ids_per_second", "Ids/s", True),
)


def scroll_box(label_id: str, table: str) -> str:
    """A table in a box of its own that scrolls sideways (focusable, so keys scroll it too)."""
    return (
        f'<div class="scroll" role="region" aria-labelledby="{label_id}" tabindex="0">{table}</div>'
    )


def _heading_row(headings: Sequence[tuple[str, bool]]) -> str:
    cells = "".join(
        f'<th scope="col" class="num">{heading}</th>'
        if figure
        else f'<th scope="col">{heading}</th>'
        for heading, figure in headings
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _run_cell(run: Mapping[str, Any], field: str) -> str:
    raw = mapping(run.get("ids")).get(field[4:]) if field.startswith("ids.") else run.get(field)
    if field == "started":
        return f"<td>{_period(run.get('started'), run.get('ended'))}</td>"
    if field == "duration_s":
        shown = duration(raw)
    elif field == "ids_per_second":
        shown = thousands(raw, 1)
    elif field == "exit_code":
        code = number(raw)
        tone = "ok" if code == 0 else "warn" if code is not None else "none"
        shown = f'<span class="badge {tone}">{thousands(raw)}</span>'
    else:
        shown = thousands(raw)
    return f'<td class="num" {marker("field", field, raw)}>{shown}</td>'


def _period(started: object, ended: object) -> str:
    """When a run started and ended: the day, then the two times (the end's day too when it
    ended on another)."""
    first, last = moment(started), moment(ended)
    same_day = first is not None and last is not None and first.date() == last.date()
    start = when(started, f"{REPORT_DAY}<br>{REPORT_TIME}") if first else when(started)
    end = when(ended, REPORT_TIME if same_day else REPORT_MOMENT)
    return (
        f"<span {marker('field', 'started', started)}>{start}</span>"
        f"<small {marker('field', 'ended', ended)}> to {end}</small>"
    )


def runs_table(runs: Sequence[Any]) -> str:
    """One row per run: when, how long, ids by status, requests, retries, 429s, throughput."""
    rows = []
    for index, entry in enumerate(runs):
        run = mapping(entry)
        dry = run.get("dry_run")
        tag = '<span class="badge">dry run</span>' if dry is True else ""
        ledgers = ", ".join(
            ledger_text(name, NAME_LIMIT) for name in sequence(run.get("ledgers"))[:5]
        )
        host = run.get("host")
        head = (
            f'<th scope="row" {marker("field", "run_id", run.get("run_id"))}>'
            f'<span class="run-id">{ledger_text(run.get("run_id"), NAME_LIMIT)}</span><br>'
            f"<span {marker('field', 'dry_run', dry)}>{tag}</span><small>"
            f"<span {marker('field', 'host', host)}>{ledger_text(host, NAME_LIMIT) if host else ''}"
            f"</span>{'<br>' if host and ledgers else ''}{ledgers}</small></th>"
        )
        cells = "".join(_run_cell(run, field) for field, _, _ in RUN_COLUMNS)
        rows.append(f'<tr data-row="{index}">{head}{cells}</tr>')
    headings = [("Run", False)] + [(heading, figure) for _, heading, figure in RUN_COLUMNS]
    table = (
        f'<table data-table="runs"><caption class="vh">Runs</caption>'
        f"{_heading_row(headings)}<tbody>{''.join(rows)}</tbody></table>"
    )
    return scroll_box("h-runs", table)


def _example(entry: object) -> str:
    """An example id as `workspace/person: thumbnail`, or an invalid row as `ledger line N`."""
    example = mapping(entry)
    if "ledger" in example or "line" in example:
        ledger, line = example.get("ledger"), example.get("line")
        return f"{ledger_text(ledger, NAME_LIMIT)} line {ledger_text(line, 20)}"
    return (
        f"{ledger_text(example.get('workspace'), NAME_LIMIT)}/"
        f"{ledger_text(example.get('person_id'), 40)}: "
        f"{ledger_text(example.get('thumbnail_id'), 40)}"
    )


def left_table(kind: str, groups: Sequence[Any], label_id: str) -> str:
    """One row per reason (status, HTTP status, API code, message) with its count and up to
    five example ids."""
    rows = []
    for index, entry in enumerate(groups):
        group = mapping(entry)
        status = group.get("status")
        word = STATUS_WORDS.get(status, status) if isinstance(status, str) else status
        examples = "".join(
            f"<li>{_example(example)}</li>"
            for example in sequence(group.get("examples"))[:EXAMPLES_SHOWN]
        )
        rows.append(
            f'<tr data-row="{index}">'
            f'<td class="num" {marker("field", "count", group.get("count"))}>'
            f"<strong>{thousands(group.get('count'))}</strong></td>"
            f"<td {marker('field', 'status', status)}>"
            f'<span class="badge">{ledger_text(word, 40)}</span></td>'
            f'<td class="num" {marker("field", "http_status", group.get("http_status"))}>'
            f"{ledger_text(group.get('http_status'), 40)}</td>"
            f"<td {marker('field', 'code', group.get('code'))}>"
            f"{ledger_text(group.get('code'), 40)}</td>"
            f'<td class="message" {marker("field", "message", group.get("message"))}>'
            f"{ledger_text(group.get('message'))}</td>"
            f'<td class="examples"><ul>{examples}</ul></td></tr>'
        )
    headings = [
        ("Ids", True),
        ("Status", False),
        ("HTTP", True),
        ("API code", False),
        ("Message", False),
        ("Examples (workspace/person: thumbnail)", False),
    ]
    table = (
        f'<table data-table="left.{kind}">{_heading_row(headings)}'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return scroll_box(label_id, table)
