"""Per-run tallies of a report: when each run started and ended, ids by status, requests,
retries and 429s, throughput, and its timeline (deletions, retries and 429s per minute).

A run's own run record (see `worker.records.run_record`) gives its exit code, host, start and
end, attempts, retries and 429s; a run without one (an older thumbsweep, or a run killed or
unable to write its ledger) is described from its batch records alone, the rest null.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from worker.records.record import STATUSES
from worker.records.run_record import run_facts

BUCKET_SECONDS = 60
_ID_STATUSES = tuple(status for status in STATUSES if status != "invalid")


def minute_of(ts: str) -> str:
    """The minute a ledger `ts` falls in, e.g. "2026-11-30T16:55:00Z"."""
    return ts[:16] + ":00Z"


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from one ledger time to another; None if either is missing or unreadable."""
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


@dataclass
class RunTally:
    """What the ledgers say about one run."""

    run_id: str
    ledgers: list[str] = field(default_factory=list)
    first_ts: str | None = None
    last_ts: str | None = None
    ids: Counter[str] = field(default_factory=Counter)
    records: int = 0
    invalid_rows: int = 0
    attempts: int = 0
    retries: int = 0
    facts: dict[str, Any] | None = None  # its run record's, if it has one
    # minute -> [ids deleted, retries]
    minutes: dict[str, list[int]] = field(default_factory=dict)

    def add(self, record: dict[str, Any], ledger: str) -> None:
        """Count one record of this run (a batch, an invalid row or its run record)."""
        if ledger not in self.ledgers:
            self.ledgers.append(ledger)
        status, ts = record["status"], record["ts"]
        if status == "run":
            self.facts = run_facts(record)
            return
        self.records += 1
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        if status == "invalid":
            self.invalid_rows += 1
            return
        ids = len(record["thumbnail_ids"])
        self.ids[status] += ids
        attempts = record.get("attempts") or 0
        retries = max(attempts - 1, 0)
        self.attempts += attempts
        self.retries += retries
        if status == "deleted" or retries:
            point = self.minutes.setdefault(minute_of(ts), [0, 0])
            point[0] += ids if status == "deleted" else 0
            point[1] += retries

    def _fact(self, name: str) -> Any:
        return None if self.facts is None else self.facts.get(name)

    def as_dict(self) -> dict[str, Any]:
        """The run as the report's JSON object (see the report contract)."""
        started = self._fact("started") or self.first_ts
        ended = self._fact("ended") or self.last_ts
        duration = seconds_between(started, ended)
        deleted = self.ids["deleted"]
        requests = self._fact("attempts")
        retries = self._fact("retries")
        return {
            "run_id": self.run_id,
            "ledgers": self.ledgers,
            "started": started,
            "ended": ended,
            "duration_s": None if duration is None else round(duration, 3),
            "ids": {status: self.ids[status] for status in _ID_STATUSES},
            "records": self.records,
            "invalid_rows": self.invalid_rows,
            "requests": self.attempts if requests is None else requests,
            "retries": self.retries if retries is None else retries,
            "throttled": self._fact("throttled"),
            "ids_per_second": round(deleted / duration, 2) if duration else None,
            "exit_code": self._fact("exit_code"),
            "host": self._fact("host"),
            "dry_run": self._dry_run(),
            "shard": self._fact("shard"),
            "version": self._fact("version"),
        }

    def _dry_run(self) -> bool:
        dry_run = self._fact("dry_run")
        if isinstance(dry_run, bool):
            return dry_run
        return bool(self.ids["dry_run"]) and not any(
            self.ids[status] for status in _ID_STATUSES if status != "dry_run"
        )

    def timeline(self) -> dict[str, Any]:
        """The run's points, one per minute that saw a deletion, a retry or a 429."""
        by_minute = self._fact("throttled_by_minute")
        throttled: dict[str, int] = by_minute if isinstance(by_minute, dict) else {}
        minutes = sorted(set(self.minutes) | set(throttled))
        points = []
        for minute in minutes:
            deleted, retries = self.minutes.get(minute, (0, 0))
            known = throttled.get(minute, 0) if self.facts is not None else None
            points.append({"t": minute, "deleted": deleted, "retries": retries,
                           "throttled": known})  # fmt: skip
        return {"run_id": self.run_id, "points": points}
