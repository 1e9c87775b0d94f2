"""Where every record of a run goes: the ledger, the run's counters and `--failed-out`.

Records are counted at once and reach the ledger at the end of the event-loop turn that made
them, all of that turn's records in one write (at most `FLUSH_EVERY_RECORDS` at a time): at
concurrency 64 a turn often finishes several requests, and one write and one timestamp for all
of them is a good share of a request's CPU. Nothing waits in between, so a SIGKILL loses only
the outcomes of the turn in progress, whose ids --resume sends again (the delete is idempotent).
Outside an event loop a record is written at once.

Once the ledger cannot be written (a full disk, an I/O error), each record that could not be
written is printed on stderr as its JSON ledger line instead, so no outcome is lost, and the run
is told to start nothing new. A `--failed-out` file that cannot be completed is dropped, never
left looking complete.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from typing import TextIO

from worker.clock import utc_now_iso
from worker.errors import LedgerWriteError
from worker.observe.summary import RunStats
from worker.records.failed_out import FailedOut
from worker.records.ledger import Ledger
from worker.records.record import LedgerRecord, json_line
from worker.records.run_record import RunRecord

log = logging.getLogger("thumbsweep")

# The most records held for one write: bounds the memory of a turn that records many (a dry
# run records every batch without yielding) and what a SIGKILL in that turn could lose.
FLUSH_EVERY_RECORDS = 256


class Recorder:
    """Writes and counts records; falls back to stderr when the ledger fails."""

    def __init__(
        self,
        ledger: Ledger,
        stats: RunStats,
        failed_out: FailedOut | None = None,
        on_ledger_failure: Callable[[str], None] | None = None,
        fallback: TextIO | None = None,
    ) -> None:
        self._ledger = ledger
        self._stats = stats
        self._failed_out = failed_out
        self._on_ledger_failure = on_ledger_failure
        self._fallback_stream = fallback
        self.ledger_error: str | None = None  # set once the ledger could not be written
        self.unwritten = 0  # records printed on stderr instead of the ledger
        # What the exit code is made of: records a later --resume may progress (failed and
        # retryable, skipped), and records only a person can settle (permanent, invalid).
        self.retryable_left = 0
        self.needs_person = 0
        self._pending: list[LedgerRecord] = []  # recorded in this loop turn, not yet written

    def record(self, record: LedgerRecord) -> None:
        """Count one record and have it written (to the ledger, or to stderr once the ledger
        failed) at the end of this event-loop turn, or now outside an event loop."""
        pending = self._pending
        pending.append(record)
        if len(pending) >= FLUSH_EVERY_RECORDS:
            self.flush()
        elif len(pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no event loop: write it now
                self.flush()
        self._stats.count(record)
        if record.status == "invalid" or (record.status == "failed" and not record.retryable):
            self.needs_person += 1
        elif record.status in ("failed", "skipped"):
            self.retryable_left += 1
        if self._failed_out is not None and record.status in ("failed", "skipped"):
            workspace, person_id = record.workspace, record.person_id
            if workspace is not None and person_id is not None:  # always, for a batch
                self._failed_out.add(workspace, person_id, record.thumbnail_ids)

    def flush(self) -> None:
        """Write the records recorded so far: in one write to the ledger, or each on stderr
        when the ledger fails (then or before)."""
        records, self._pending = self._pending, []
        if not records:
            return
        if self.ledger_error is None:
            try:
                self._ledger.write_many(records)
                return
            except LedgerWriteError as exc:
                self._ledger_failed(exc, "write")
            except Exception as exc:  # a bug: at the end of a turn no sender would see it
                log.debug("internal error writing the ledger", exc_info=exc)
                reason = f"thumbsweep hit an internal error ({type(exc).__name__})"
                self._ledger_failed(LedgerWriteError(self._ledger.path, reason), "write")
        for record in records:
            self._print(record)

    def record_run(self, record: RunRecord) -> None:
        """Write the run record after every other, unless the ledger already failed (it is then
        lost: the report falls back to the times of the run's batch records)."""
        self.flush()
        if self.ledger_error is None:
            try:
                self._ledger.write_run(record)
            except LedgerWriteError as exc:
                self._ledger_failed(exc, "write")

    def set_failure_callback(self, on_ledger_failure: Callable[[str], None]) -> None:
        """Who to tell (once) when the ledger fails: the sender pool, to start nothing new."""
        self._on_ledger_failure = on_ledger_failure
        if self.ledger_error is not None:
            on_ledger_failure(self.ledger_error)

    def close(self) -> None:
        """Write what is pending, flush the ledger to stable storage and close it; a failure
        is kept, not raised."""
        self.flush()
        try:
            self._ledger.close()
        except LedgerWriteError as exc:
            if self.ledger_error is None:
                self._ledger_failed(exc, "flush")

    def _ledger_failed(self, exc: LedgerWriteError, doing: str) -> None:
        self.ledger_error = (
            f"cannot {doing} the ledger '{exc.path}': {exc.reason}. No new request was "
            "started and requests in flight were finished; every outcome that could not be "
            "written to the ledger is printed on stderr as its JSON ledger line. The ledger "
            "holds only complete lines: fix the cause (e.g. free disk space), then rerun with "
            "--resume to continue"
        )
        log.error("%s", self.ledger_error)
        if self._on_ledger_failure is not None:
            self._on_ledger_failure(self.ledger_error)

    def _print(self, record: LedgerRecord) -> None:
        self.unwritten += 1
        stream = self._fallback_stream or sys.stderr
        ts = utc_now_iso()
        try:
            line = json_line(record, ts)
        except Exception:  # the bug that failed the ledger's write: still name the ids
            fields = ("run_id", "status", "workspace", "person_id", "thumbnail_ids", "message")
            kept = {"ts": ts, **{name: getattr(record, name) for name in fields}}
            line = json.dumps(kept, default=str) + "\n"
        try:
            stream.write(line)
            stream.flush()
        except (OSError, ValueError):  # stderr itself is gone: nothing more can be done
            pass
