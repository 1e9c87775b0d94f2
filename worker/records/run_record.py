"""The run record: one ledger line per run, written as the run ends, with the facts that no
batch record holds (exit code, target host, start and end, attempts, retries, 429s, dry run).

Its `status` is `run`, which no reader of batches takes for one: `--resume` and every other
reader skip statuses they do not know. In JSON Lines its facts are fields of the line; in a CSV
ledger, whose columns are fixed, the line fills `ts`, `run_id` and `status` and puts the other
facts, as one JSON object, in the `message` cell (every other cell empty), so old and new CSV
ledgers keep their columns. It never holds a secret: the host is host and port only.
A run that cannot write its ledger (exit 74) or is killed loses its run record; a report then
falls back to the times of its batch records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from worker import __version__
from worker.clock import utc_minute, utc_now_iso
from worker.records.record import csv_cell, csv_row

if TYPE_CHECKING:
    from worker.observe.summary import RunStats

RUN_STATUS = "run"
"""The `status` of a run record."""

# JSON object keys of a run record's facts, in the order they are written.
FACT_FIELDS = (
    "started",
    "ended",
    "exit_code",
    "host",
    "dry_run",
    "shard",
    "attempts",
    "retries",
    "throttled",
    "throttled_by_minute",
    "version",
)


@dataclass(frozen=True)
class RunRecord:
    """What a run was: when, against which host, how it ended, what it sent."""

    run_id: str
    started: str
    ended: str
    exit_code: int
    host: str | None
    dry_run: bool
    shard: str | None
    attempts: int
    retries: int
    throttled: int
    throttled_by_minute: dict[str, int]  # "2026-11-30T16:55:00Z" -> 429 answers in that minute
    version: str = __version__

    @classmethod
    def of(
        cls,
        run_id: str,
        started: str,
        exit_code: int,
        base_url: str,
        *,
        dry_run: bool,
        stats: RunStats,
        shard: str | None,
    ) -> RunRecord:
        """The record of a run that came to its end now (host and port only: a user:password
        in the URL never reaches the ledger)."""
        parts = urlsplit(base_url)
        host = (parts.hostname or "") + ("" if parts.port is None else f":{parts.port}")
        by_minute = {
            utc_minute(minute * 60): count
            for minute, count in sorted(stats.throttled_minutes.items())
        }
        return cls(
            run_id=run_id, started=started, ended=utc_now_iso(), exit_code=exit_code,
            host=host or None, dry_run=dry_run, shard=shard, attempts=stats.attempts,
            retries=stats.retries, throttled=stats.throttled, throttled_by_minute=by_minute,
        )  # fmt: skip

    def facts(self) -> dict[str, Any]:
        """The record's facts (all but ts, run_id and status), in `FACT_FIELDS` order."""
        return {name: getattr(self, name) for name in FACT_FIELDS}

    def json_line(self) -> str:
        """The record as one JSON Lines ledger line."""
        line = {"ts": self.ended, "run_id": self.run_id, "status": RUN_STATUS, **self.facts()}
        return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"

    def csv_line(self, columns: tuple[str, ...]) -> str:
        """The record as one CSV ledger line in `columns` order (facts in `message`)."""
        facts = json.dumps(self.facts(), ensure_ascii=False, separators=(",", ":"))
        cells = {"ts": self.ended, "run_id": self.run_id, "status": RUN_STATUS, "message": facts}
        return csv_row([csv_cell(cells.get(name)) for name in columns])


def run_facts(record: dict[str, Any]) -> dict[str, Any]:
    """The facts of a run record read back (JSON Lines fields, or a CSV line's `message`
    object); a fact that is missing or unreadable is None."""
    facts: Any = record
    message = record.get("message")
    if isinstance(message, str) and message.startswith("{"):
        try:
            facts = json.loads(message)
        except ValueError:
            facts = {}
    if not isinstance(facts, dict):
        facts = {}
    return {name: facts.get(name) for name in FACT_FIELDS}
