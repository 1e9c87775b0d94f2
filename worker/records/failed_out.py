"""`--failed-out PATH`: every id that did not end deleted, as a CSV in the input format.

Failed, skipped and never-sent batches are written as `workspace,person_id,thumbnail_ids` rows
(ids joined by `;`), so the file feeds straight back into `thumbsweep run`. It is written to a
temporary name and renamed into place when the run ends, so a reader never sees half a file;
a run where everything was deleted leaves a file with just the header. If it cannot be
written completely (a full disk), the temporary file is removed and nothing is renamed into
place: a partial list of what is left must never pass for the whole list.
"""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path
from typing import Any, TextIO

from worker.errors import ConfigError, describe_os_error

HEADER = ("workspace", "person_id", "thumbnail_ids")


class FailedOut:
    """Collects the batches that did not end deleted into a re-feedable CSV."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._handle: TextIO | None = None
        self._rows: Any = None  # the csv writer over _handle
        self.ids = 0
        self.error: str | None = None  # why the file could not be completed, if it could not

    def open(self) -> None:
        """Start the file (under a temporary name) with its header."""
        try:
            self._handle = self._partial.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write --failed-out '{self.path}': {exc.strerror}") from None
        self._rows = csv.writer(self._handle, lineterminator="\n")
        self._rows.writerow(HEADER)

    def add(self, workspace: str, person_id: int, thumbnail_ids: tuple[int, ...]) -> None:
        """Record one person's ids that were not deleted."""
        if self._handle is None:
            return  # abandoned after a write error
        try:
            self._rows.writerow((workspace, person_id, ";".join(map(str, thumbnail_ids))))
        except OSError as exc:
            self._abandon(exc)
            return
        self.ids += len(thumbnail_ids)

    def close(self) -> None:
        """Flush, fsync and move the file into place; safe to call twice."""
        if self._handle is None:
            return
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            os.replace(self._partial, self.path)
        except OSError as exc:
            self._abandon(exc)

    def _abandon(self, exc: OSError) -> None:
        """Give the file up: remove the temporary file, so no partial list is left behind."""
        self.error = (
            f"cannot complete --failed-out '{self.path}': {describe_os_error(exc)}; it was not "
            "written (the ledger lists every id that did not end deleted)"
        )
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):  # its buffer cannot be written either
                handle.close()
        with contextlib.suppress(OSError):
            self._partial.unlink(missing_ok=True)
