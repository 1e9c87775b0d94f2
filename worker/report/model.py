"""The report itself: every ledger streamed once into final states, per-run tallies, what is
left and the latency counts, then assembled into the JSON-ready report (report_version 1;
docs: README "Report", the shape every output format renders)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.clock import utc_now_iso
from worker.report.final_states import (
    PERMANENT,
    RESUMABLE,
    FinalStates,
    IdState,
    Numbering,
    working_space_error,
)
from worker.report.latency import Latencies
from worker.report.ledgers import Problems, is_batch, read_records
from worker.report.runs import BUCKET_SECONDS, RunTally

REPORT_VERSION = 1
EXAMPLES = 5
"""Example ids (or invalid rows) shown per reason."""


@dataclass
class Reading:
    """What one pass over the ledgers gathered."""

    ledgers: list[str]
    final: FinalStates = field(default_factory=FinalStates)
    runs: dict[str, RunTally] = field(default_factory=dict)
    latencies: Latencies = field(default_factory=Latencies)
    # invalid rows, once per (line, error): the same input re-run (--resume, shards)
    # records its invalid rows again
    invalid_rows: set[tuple[Any, Any]] = field(default_factory=set)
    invalid_examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)
    first_ts: str | None = None
    last_ts: str | None = None
    _run_numbers: Numbering = field(default_factory=Numbering)

    def add(self, record: dict[str, Any], ledger: int, line: int) -> None:
        """Take in one record of ledger number `ledger`."""
        run_id, ts = record["run_id"], record["ts"]
        tally = self.runs.get(run_id)
        if tally is None:
            tally = self.runs[run_id] = RunTally(run_id)
        tally.add(record, self.ledgers[ledger])
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        if is_batch(record):
            self.final.add(record, self._run_number(run_id), ledger)
            self.latencies.add(record.get("elapsed_ms"))
        elif record["status"] == "invalid":
            key = (record.get("line"), record.get("error"))
            if key not in self.invalid_rows:
                self.invalid_rows.add(key)
                shown = self.invalid_examples.setdefault(str(record.get("error")), [])
                if len(shown) < EXAMPLES:
                    shown.append({"ledger": self.ledgers[ledger], "line": record.get("line")})

    def _run_number(self, run_id: str) -> int:
        return self._run_numbers.number(run_id)

    def run_id_of(self, number: int) -> str:
        """The run id numbered `number` in the final states."""
        run_id: str = self._run_numbers.values[number]
        return run_id


@contextmanager
def reading(paths: list[Path]) -> Iterator[Reading]:
    """Read every ledger (in the order given) once; the final states are dropped after."""
    gathered = Reading([str(path) for path in paths])
    try:
        for number, path in enumerate(paths):
            for line, record in read_records(path, gathered.problems):
                gathered.add(record, number, line)
        yield gathered
    except sqlite3.Error as exc:
        clear = working_space_error(exc)
        if clear is None:
            raise
        raise clear from None
    finally:
        gathered.final.close()


def _example(state: IdState) -> dict[str, Any]:
    return {"workspace": state.workspace, "person_id": state.person_id,
            "thumbnail_id": state.thumbnail_id}  # fmt: skip


def _groups(gathered: Reading, where: str) -> list[dict[str, Any]]:
    groups = []
    for status, reason_number, count, examples in gathered.final.groups(where, EXAMPLES):
        reason = gathered.final.reasons.values[reason_number]
        groups.append({
            "status": status, "http_status": reason.http_status, "code": reason.code,
            "message": reason.message, "count": count,
            "examples": [_example(state) for state in examples],
        })  # fmt: skip
    return groups


def _invalid_groups(gathered: Reading) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for _, error in gathered.invalid_rows:
        counts[str(error)] = counts.get(str(error), 0) + 1
    return [
        {"status": "invalid", "http_status": None, "code": None, "message": error,
         "count": count, "examples": gathered.invalid_examples.get(error, [])}
        for error, count in counts.items()
    ]  # fmt: skip


def build_report(gathered: Reading) -> dict[str, Any]:
    """The report as one JSON-ready dict (see the README's Report section)."""
    counts = gathered.final.counts()
    by_status = {"deleted": 0, "failed": 0, "skipped": 0, "dry_run": 0}
    for (status, _), count in counts.items():
        by_status[status] += count
    permanent = counts.get(("failed", False), 0)
    runs = sorted(gathered.runs.values(), key=lambda tally: tally.as_dict()["started"] or "")
    needs_person = _groups(gathered, PERMANENT) + _invalid_groups(gathered)
    needs_person.sort(key=lambda group: -group["count"])
    return {
        "report_version": REPORT_VERSION,
        "generated_at": utc_now_iso(),
        "ledgers": gathered.ledgers,
        "headline": {
            "ids": sum(by_status.values()),
            "deleted": by_status["deleted"],
            "needs_person": permanent,
            "resumable": sum(by_status.values()) - by_status["deleted"] - permanent,
            "invalid_rows": len(gathered.invalid_rows),
            "runs": len(runs),
            "first_ts": gathered.first_ts,
            "last_ts": gathered.last_ts,
        },
        "final_status": by_status,
        "runs": [tally.as_dict() for tally in runs],
        "left": {"needs_person": needs_person, "resumable": _groups(gathered, RESUMABLE)},
        "timeline": {
            "bucket_seconds": BUCKET_SECONDS,
            "series": [tally.timeline() for tally in runs],
        },
        "latency_ms": gathered.latencies.as_dict(),
        "unreadable_lines": {
            "corrupt": gathered.problems.corrupt,
            "torn": gathered.problems.torn,
            "shown": gathered.problems.shown,
        },
    }
