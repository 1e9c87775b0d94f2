"""The results ledger file: one complete line per record, appended as outcomes arrive.

The records handed over together reach the operating system in one `write` (the recorder hands
over those of one event-loop turn), so a SIGKILL loses only outcomes not yet handed over, whose
ids --resume sends again. The file is fsynced about every second (or every `SYNC_EVERY_RECORDS`
records), on a helper thread so a slow disk never stalls the event loop, and again when closed,
against power loss. A torn last line left by a crash is cut off when the ledger is reopened. A
failed write (a full disk) is cut back to the last complete line and raised as
`LedgerWriteError`. What a line holds is `worker.records.record`'s business.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from worker.clock import utc_now_iso
from worker.errors import ConfigError, LedgerWriteError
from worker.records.record import (
    CSV_COLUMNS,
    CSV_HEADER,
    LEGACY_CSV_COLUMNS,
    LedgerRecord,
    csv_line,
    json_line,
)
from worker.records.run_record import RunRecord

SYNC_EVERY_SECONDS = 1.0
# A bound for very fast runs (a dry run records ~100,000 a second). Not lower: against a fast
# API each fsync costs a wake-up of the helper thread and a hand-over of the GIL, and at 1,000
# the syncs of a 7,000 requests/s run followed each other back to back.
SYNC_EVERY_RECORDS = 10_000

log = logging.getLogger("thumbsweep")


def torn_tail_start(handle: BinaryIO, size: int) -> int:
    """The offset just after the last newline of a file of `size` bytes (size if it ends in one)."""
    block = 4096
    end = size
    while end > 0:
        start = max(0, end - block)
        handle.seek(start)
        chunk = handle.read(end - start)
        if end == size and chunk.endswith(b"\n"):
            return size
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


class Ledger:
    """An append-only results file; opened when the run is about to produce its first record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.is_csv = path.suffix.lower() == ".csv"
        self._columns: tuple[str, ...] = CSV_COLUMNS  # an older CSV ledger keeps its own columns
        self._fd: int | None = None
        self._size = 0  # bytes of complete lines: where a failed write is cut back to
        self._unsynced = 0
        self._synced_at = 0.0
        self._syncer: ThreadPoolExecutor | None = None
        self._pending_sync: Future[None] | None = None

    def open(self) -> None:
        """Open for appending; cut off a torn last line; write the CSV header of a new file."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot open ledger '{self.path}': {exc.strerror}") from None
        self._fd = fd
        self._synced_at = time.monotonic()
        try:
            self._size = os.fstat(fd).st_size
            self._mend(fd)
        except OSError as exc:
            self._abandon()
            raise LedgerWriteError(self.path, exc) from None
        except BaseException:
            self._abandon()
            raise

    def _mend(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size == 0:
            if self.is_csv:
                self._write(CSV_HEADER)
            return
        with self.path.open("rb") as existing:
            if self.is_csv:
                header = existing.readline().decode("utf-8", "replace").strip()
                if header == ",".join(LEGACY_CSV_COLUMNS):
                    # Written before `retryable` existed: keep its columns so the file stays
                    # one table; --resume then sends its failures again, as it always did.
                    self._columns = LEGACY_CSV_COLUMNS
                    log.warning(
                        "ledger %s has no retryable column (an older thumbsweep wrote it): "
                        "--resume will send permanent failures again; use a new --ledger to "
                        "record them", self.path,
                    )  # fmt: skip
                elif header != ",".join(CSV_COLUMNS):
                    raise ConfigError(
                        f"ledger '{self.path}' exists with other columns; choose another --ledger"
                    )
            complete = torn_tail_start(existing, size)
        if complete < size:
            # A crash cut the last record short; it was never a finished outcome, so --resume
            # sends its ids again. Cut it off so the next record starts on a line of its own.
            log.warning(
                "ledger %s: dropped a torn last line (%d bytes) left by an interrupted run",
                self.path, size - complete,
            )  # fmt: skip
            os.ftruncate(fd, complete)
            self._size = complete

    def write_many(self, records: Sequence[LedgerRecord]) -> None:
        """Append records as complete lines, all stamped now, in a single write: on failure
        none of them is in the file (a partly written tail is cut back)."""
        ts = utc_now_iso()
        if self.is_csv:
            columns = self._columns
            text = "".join([csv_line(record, ts, columns) for record in records])
        else:
            text = "".join([json_line(record, ts) for record in records])
        self._write(text, len(records))

    def write_run(self, record: RunRecord) -> None:
        """Append the run record (see `worker.records.run_record`) as one complete line."""
        self._write(record.csv_line(self._columns) if self.is_csv else record.json_line())

    def _write(self, text: str, lines: int = 1) -> None:
        if self._fd is None:
            raise RuntimeError("ledger is not open")
        data = text.encode("utf-8")
        size = len(data)
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError as exc:
            self._cut_back()
            raise LedgerWriteError(self.path, exc) from None
        self._size += size
        self._unsynced += lines
        if self._unsynced >= SYNC_EVERY_RECORDS or (
            time.monotonic() - self._synced_at >= SYNC_EVERY_SECONDS
        ):
            self._sync_in_background(self._fd)

    def _cut_back(self) -> None:
        """After a failed write, cut off whatever part of the line reached the file."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:  # the reader and the next open cut a torn tail off anyway
            log.warning("ledger %s: cannot cut off a partial line: %s", self.path, exc.strerror)

    def _sync_in_background(self, fd: int) -> None:
        """fsync on a helper thread, so a slow disk never stalls the event loop."""
        if self._pending_sync is not None:
            if not self._pending_sync.done():
                return  # one at a time; the next write after it finishes asks again
            self._check_sync()
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-fsync")
        self._pending_sync = self._syncer.submit(os.fsync, fd)
        self._unsynced = 0
        self._synced_at = time.monotonic()

    def _check_sync(self) -> None:
        """Raise LedgerWriteError if the last background fsync failed."""
        pending, self._pending_sync = self._pending_sync, None
        error = None if pending is None else pending.exception()
        if isinstance(error, OSError):
            raise LedgerWriteError(self.path, error)
        if error is not None:
            raise error

    def wait_for_sync(self) -> None:
        """Block until a background fsync in progress has finished; raise if it failed."""
        if self._pending_sync is not None:
            self._pending_sync.exception()  # waits
            self._check_sync()

    def close(self) -> None:
        """Flush to stable storage and close; safe to call twice.

        Raises LedgerWriteError when the flush fails (the file is closed all the same).
        """
        if self._fd is None:
            return
        try:
            self.wait_for_sync()
            os.fsync(self._fd)
        except OSError as exc:
            raise LedgerWriteError(self.path, exc) from None
        finally:
            self._abandon()

    def _abandon(self) -> None:
        """Close the file and stop the helper thread, without flushing."""
        fd, self._fd = self._fd, None
        if self._syncer is not None:
            self._syncer.shutdown(wait=True)
            self._syncer = None
        if fd is not None:
            os.close(fd)
