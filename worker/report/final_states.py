"""The final state of every id across the ledgers: `deleted` if any record deleted it (the
first deletion: when, by which run), otherwise its latest record (by `ts`).

A 10 M-id ledger does not fit in a dict in a few hundred MB (a dict entry and its key cost 97
to 170 bytes per id, measured in docs/benchmarks.md), so the states live in a private,
temporary SQLite database (the standard library's `sqlite3`: a B-tree on disk with a bounded
page cache, deleted when closed). Each id is one row of small integers; workspaces, runs,
ledgers and reasons (HTTP status, API code, message) are numbered in Python, where there are
few of them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any, NamedTuple

from worker.errors import ExitCode, ThumbsweepError

STATUS_CODES = {"deleted": 0, "failed": 1, "skipped": 2, "dry_run": 3}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
_CACHE_KIB = 64 * 1024  # SQLite's page cache: what the database may hold in memory
_CHUNK = 20_000  # rows per executemany
# SQLite's primary result codes for a file it cannot create, write or read (no space, I/O).
_SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 13, 14

_SCHEMA = """
CREATE TABLE ids (
    ws INTEGER, person INTEGER, thumb INTEGER, status INTEGER, retryable INTEGER,
    ts TEXT, run INTEGER, reason INTEGER, attempts INTEGER, ledger INTEGER,
    PRIMARY KEY (ws, person, thumb)
) WITHOUT ROWID
"""
# A deletion replaces any other state, and an earlier deletion a later one; any other record
# replaces a state that is not a deletion and is not later than it.
_UPSERT = """
INSERT INTO ids VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ws, person, thumb) DO UPDATE SET
    status = excluded.status, retryable = excluded.retryable, ts = excluded.ts,
    run = excluded.run, reason = excluded.reason, attempts = excluded.attempts,
    ledger = excluded.ledger
WHERE (excluded.status = 0 AND (ids.status != 0 OR excluded.ts < ids.ts))
   OR (excluded.status != 0 AND ids.status != 0 AND excluded.ts >= ids.ts)
"""
# Permanent: failed, recorded not retryable. Everything else not deleted a --resume sends.
PERMANENT = "status = 1 AND retryable = 0"
RESUMABLE = "status != 0 AND NOT (status = 1 AND IFNULL(retryable, 1) = 0)"


class Reason(NamedTuple):
    """Why a batch ended as it did: the last answer's HTTP status, API code and message."""

    http_status: int | None
    code: str | None
    message: str | None


class IdState(NamedTuple):
    """One id's final state (numbers index `Numbering` lists)."""

    workspace: str
    person_id: int
    thumbnail_id: int
    status: str
    retryable: bool | None
    ts: str
    run: int
    reason: int
    attempts: int
    ledger: int


class Numbering:
    """Numbers for the few distinct values of a kind (workspaces, runs, ledgers, reasons)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._numbers: dict[Any, int] = {}

    def number(self, value: Any) -> int:
        """The value's number, given on first sight."""
        found = self._numbers.get(value)
        if found is None:
            found = self._numbers[value] = len(self.values)
            self.values.append(value)
        return found


class WorkingSpaceError(ThumbsweepError):
    """The temporary database cannot be written where SQLite keeps it (exit 74, EX_IOERR)."""

    exit_code = ExitCode.IOERR


def working_space_error(exc: sqlite3.Error) -> WorkingSpaceError | None:
    """The clear error for a database file that could not be written, or None for any other
    SQLite error (a bug, which must not pass for a full disk)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in (_SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN):
        return None
    # Where SQLite puts its temporary files on Unix: the first of these that is set.
    directory = (
        os.environ.get("SQLITE_TMPDIR") or os.environ.get("TMPDIR") or "/var/tmp"  # noqa: S108 (named, not used)
    )
    return WorkingSpaceError(
        f"the report's temporary database cannot be written in {directory} ({exc}): free "
        "space there, or set TMPDIR to a directory with more room"
    )


class FinalStates:
    """Folds batch records into one state per id; answers counts, groups and rows."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": a private temporary database on disk
        self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._db.execute(_SCHEMA)
        self._pending: list[tuple[Any, ...]] = []
        self.workspaces = Numbering()
        self.reasons = Numbering()

    def add(self, record: dict[str, Any], run: int, ledger: int) -> None:
        """Fold one batch record (deleted, failed, skipped or dry_run) into its ids' states."""
        retryable = record.get("retryable")
        reason = self.reasons.number(
            Reason(record.get("http_status"), record.get("code"), record.get("message"))
        )
        ws = self.workspaces.number(record["workspace"])
        status, person, ts = STATUS_CODES[record["status"]], record["person_id"], record["ts"]
        flag = None if retryable is None else int(bool(retryable))
        attempts = record.get("attempts") or 0
        pending = self._pending
        for thumbnail_id in record["thumbnail_ids"]:
            pending.append((ws, person, thumbnail_id, status, flag, ts, run, reason, attempts,
                            ledger))  # fmt: skip
        if len(pending) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany(_UPSERT, self._pending)
            self._pending = []

    def counts(self) -> dict[tuple[str, bool | None], int]:
        """Ids by (final status, retryable)."""
        self._flush()
        rows = self._db.execute(
            "SELECT status, retryable, COUNT(*) FROM ids GROUP BY status, retryable"
        )
        return {(STATUS_NAMES[s], None if r is None else bool(r)): n for s, r, n in rows}

    def groups(self, where: str, examples: int) -> list[tuple[str, int, int, list[IdState]]]:
        """Ids matching `where`, grouped by (status, reason): each group's status, reason
        number, count and first `examples` ids; biggest group first."""
        self._flush()
        counted = self._db.execute(
            f"SELECT status, reason, COUNT(*) FROM ids WHERE {where} "  # noqa: S608  (constants)
            "GROUP BY status, reason ORDER BY COUNT(*) DESC, status, reason"
        ).fetchall()
        shown: dict[tuple[int, int], list[IdState]] = {}
        rows = self._db.execute(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY status, reason "  # noqa: S608
            f"ORDER BY ws, person, thumb) AS n FROM ids WHERE {where}) WHERE n <= ?",
            (examples,),
        )
        for row in rows:
            shown.setdefault((row[3], row[7]), []).append(self._state(row))
        return [(STATUS_NAMES[s], r, n, shown.get((s, r), [])) for s, r, n in counted]

    def states(self, where: str = "1") -> Iterator[IdState]:
        """Every id matching `where`, by workspace (in order of first sight), person and id."""
        self._flush()
        rows = self._db.execute(
            f"SELECT * FROM ids WHERE {where} ORDER BY ws, person, thumb"  # noqa: S608
        )
        for row in rows:
            yield self._state(row)

    def _state(self, row: tuple[Any, ...]) -> IdState:
        ws, person, thumb, status, retryable, ts, run, reason, attempts, ledger = row[:10]
        return IdState(self.workspaces.values[ws], person, thumb, STATUS_NAMES[status],
                       None if retryable is None else bool(retryable), ts, run, reason,
                       attempts, ledger)  # fmt: skip

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()
