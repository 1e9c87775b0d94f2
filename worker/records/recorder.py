"""Where every record of a run goes: the ledger, the run's counters and `--failed-out`.

Once the ledger cannot be written (a full disk, an I/O error), each record that could not be
written is printed on stderr as its JSON ledger line instead, so no outcome is lost, and the run
is told to start nothing new. A `--failed-out` file that cannot be completed is dropped, never
left looking complete.
"""

from __future__ import annotations

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

    def record(self, record: LedgerRecord) -> None:
        """Write one record (to the ledger, or to stderr once it failed) and count it."""
        if self.ledger_error is None:
            try:
                self._ledger.write(record)
            except LedgerWriteError as exc:
                self._ledger_failed(exc, "write")
                self._print(record)
        else:
            self._print(record)
        self._stats.count(record)
        if record.status == "invalid" or (record.status == "failed" and not record.retryable):
            self.needs_person += 1
        elif record.status in ("failed", "skipped"):
            self.retryable_left += 1
        if self._failed_out is not None and record.status in ("failed", "skipped"):
            workspace, person_id = record.workspace, record.person_id
            if workspace is not None and person_id is not None:  # always, for a batch
                self._failed_out.add(workspace, person_id, record.thumbnail_ids)

    def record_run(self, record: RunRecord) -> None:
        """Write the run record, unless the ledger already failed (it is then lost: the report
        falls back to the times of the run's batch records)."""
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
        """Flush the ledger to stable storage and close it; a failure is kept, not raised."""
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
        try:
            stream.write(json_line(record, utc_now_iso()))
            stream.flush()
        except (OSError, ValueError):  # stderr itself is gone: nothing more can be done
            pass
