"""`thumbsweep report LEDGER...`: read the ledgers once, then write the report (text, json,
csv or html) to stdout or `--output`, and the ids left to `--failed-out`; or, with `--person`
or `--id`, the records that touched them. Exit 0 when written, 2 for a usage error or a ledger
that cannot be read, 74 when an output cannot be written (see `options.EXIT_CODES`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any, TextIO

from worker.errors import ConfigError
from worker.observe.console import say
from worker.records.failed_out import FailedOut
from worker.report.csv_tables import id_rows, record_rows
from worker.report.final_states import PERMANENT, RESUMABLE
from worker.report.ledgers import ledger_paths
from worker.report.lookup import Wanted, look_up, render_lookup_text
from worker.report.model import Reading, build_report, reading
from worker.report.output import OutputError, report_output
from worker.report.text import render_text


def report_main(args: argparse.Namespace) -> int:
    """Run `thumbsweep report` with its parsed arguments; the exit code."""
    paths = ledger_paths(args.ledgers)
    if args.person is not None or args.thumbnail_id is not None:
        if args.failed_out is not None or args.format == "html":
            raise ConfigError(
                "--person and --id answer with text, json or csv; --failed-out and --format "
                "html are for the whole report"
            )
        found = look_up(paths, Wanted.of(args.person, args.thumbnail_id))
        _warn_unreadable(found["unreadable_lines"], args.quiet)
        with report_output(args.output) as stream:
            if args.format == "json":
                _write_json(stream, found)
            elif args.format == "csv":
                _write_lines(stream, record_rows(found["records"]))
            else:
                stream.write(render_lookup_text(found))
        return 0
    with reading(paths) as gathered:
        report = build_report(gathered)
        _warn_unreadable(report["unreadable_lines"], args.quiet)
        if args.failed_out is not None:
            _write_failed_out(gathered, args)
        with report_output(args.output) as stream:
            if args.format == "json":
                _write_json(stream, report)
            elif args.format == "csv":
                _write_lines(stream, id_rows(gathered))
            elif args.format == "html":
                from worker.report.html import render_html

                stream.write(render_html(report))
            else:
                stream.write(render_text(report))
    return 0


def _warn_unreadable(unreadable: dict[str, Any], quiet: int) -> None:
    """Say on stderr (unless -q) which ledger lines were left out (the report counts them)."""
    if quiet:
        return
    for problem in unreadable["shown"]:
        say(f"thumbsweep: warning: {problem}", "warning", event="unreadable_line")
    hidden = unreadable["corrupt"] + unreadable["torn"] - len(unreadable["shown"])
    if hidden > 0:
        say(f"thumbsweep: warning: ... and {hidden:,} more unreadable ledger lines, left out",
            "warning", event="unreadable_line")  # fmt: skip


def _write_json(stream: TextIO, document: dict[str, Any]) -> None:
    json.dump(document, stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def _write_lines(stream: TextIO, lines: Iterable[str]) -> None:
    for line in lines:
        stream.write(line)


def _write_failed_out(gathered: Reading, args: argparse.Namespace) -> None:
    """The ids left (a --resume's, plus permanent failures with --retry-permanent) as the
    CSV `run --failed-out` writes: one row per person, ids joined by `;`."""
    where = f"({RESUMABLE}) OR ({PERMANENT})" if args.retry_permanent else RESUMABLE
    failed_out = FailedOut(args.failed_out)
    try:
        failed_out.open()
    except ConfigError as exc:  # exit 74 here, as for --output: the report itself was fine
        raise OutputError(str(exc)) from None
    person: tuple[str, int] | None = None
    ids: list[int] = []
    for state in gathered.final.states(where):
        if (state.workspace, state.person_id) != person:
            if person is not None:
                failed_out.add(*person, tuple(ids))
            person, ids = (state.workspace, state.person_id), []
        ids.append(state.thumbnail_id)
    if person is not None:
        failed_out.add(*person, tuple(ids))
    failed_out.close()
    if failed_out.error is not None:
        raise OutputError(failed_out.error)
