"""`--failed-out PATH`: every id that did not end deleted, as a CSV in the input format.

Failed, skipped and never-sent batches are written as `workspace,person_id,thumbnail_ids` rows
(ids joined by `;`), so the file feeds straight back into `thumbsweep run`. It is written to a
temporary name and renamed into place when the run ends, so a reader never sees half a file;
a run where everything was deleted leaves a file with just the header.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, TextIO

from worker.batching import PersonBatch
from worker.errors import ConfigError

HEADER = ("workspace", "person_id", "thumbnail_ids")


class FailedOut:
    """Collects the batches that did not end deleted into a re-feedable CSV."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._handle: TextIO | None = None
        self._rows: Any = None  # the csv writer over _handle
        self.ids = 0

    def open(self) -> None:
        """Start the file (under a temporary name) with its header."""
        try:
            self._handle = self._partial.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write --failed-out '{self.path}': {exc.strerror}") from None
        self._rows = csv.writer(self._handle, lineterminator="\n")
        self._rows.writerow(HEADER)

    def add(self, batch: PersonBatch) -> None:
        """Record one batch whose ids were not deleted."""
        assert self._rows is not None, "open() first"
        ids = ";".join(map(str, batch.thumbnail_ids))
        self._rows.writerow((batch.workspace, batch.person_id, ids))
        self.ids += len(batch.thumbnail_ids)

    def close(self) -> None:
        """Flush, fsync and move the file into place; safe to call twice."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(self._partial, self.path)
