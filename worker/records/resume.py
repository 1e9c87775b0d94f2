"""Read a ledger back for `--resume`: which (workspace, person, id) are already deleted, and
which ended, in their latest record, as a permanent failure (`failed` with `retryable` false).

Deleted ids are never sent again; permanent failures are held back unless --retry-permanent;
everything else is sent again. A record without `retryable` (an older ledger) counts as
retryable, as every failure did before the field existed. The ledger is streamed, one
binary line at a time, so a ledger of millions of records costs no more memory than its
longest line: records end with "\n" alone (the writer escapes or quotes every other line
break, and U+2028 and its kin are plain text). A torn last line (one without its final "\n":
a crash cut it short) is ignored, and the writer cuts it off when it reopens the file. A
corrupt line anywhere else is an error: resuming from a ledger we cannot read fully could
delete twice or skip ids.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from worker.errors import ConfigError, LedgerCorruptError
from worker.input.batching import Batcher
from worker.records.record import CSV_COLUMNS, LEGACY_CSV_COLUMNS, unescape_csv_cell

"""One `deleted` record: its workspace, person and thumbnail ids."""


class PastOutcome(NamedTuple):
    """What one earlier `deleted`, `failed` or `skipped` record says about its ids."""

    status: str
    permanent: bool  # failed, and recorded not retryable
    workspace: str
    person_id: int
    thumbnail_ids: list[int]


_RESUMED = frozenset({"deleted", "failed", "skipped"})
_BLANK = b" \t\r\n"


def _corrupt(path: Path, line: int, why: str) -> LedgerCorruptError:
    return LedgerCorruptError(
        f"ledger '{path}' line {line} is corrupt ({why}); refusing to resume. "
        "Repair or remove that line, or move the ledger aside"
    )


def _id_list(value: Any) -> list[int] | None:
    if isinstance(value, list) and all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        return value
    return None


def complete_lines(
    path: Path, handle: BinaryIO, on_bad_line: Callable[[int, str], None] | None = None
) -> Iterator[tuple[int, str]]:
    """Each complete line (ending in "\\n") with its 1-based number, decoded from UTF-8.

    Binary lines split on b"\\n" only; a UTF-8 sequence never contains that byte, so each line
    decodes alone. A last line without its "\\n" is torn and left out. A line that is not
    UTF-8 raises `LedgerCorruptError`; with `on_bad_line` (the report's reader, which counts
    rather than refuses) that line, and a torn last line, are told to it and left out instead.
    """
    number = 0
    try:
        for raw in handle:
            number += 1
            if not raw.endswith(b"\n"):
                if on_bad_line is not None:
                    on_bad_line(number, "a torn last line (an interrupted write)")
                return
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                if on_bad_line is None:
                    raise _corrupt(path, number, "not UTF-8") from None
                on_bad_line(number, "not UTF-8")
    except OSError as exc:
        raise ConfigError(f"cannot read ledger '{path}': {exc.strerror}") from None


def _jsonl_outcomes(path: Path, lines: Iterator[tuple[int, str]]) -> Iterator[PastOutcome]:
    for number, line in lines:
        if not line.strip(" \t\r\n"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _corrupt(path, number, f"invalid JSON: {exc.msg}") from None
        except (ValueError, RecursionError):  # a huge number literal, deep nesting
            raise _corrupt(path, number, "invalid JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("status"), str):
            raise _corrupt(path, number, "not a ledger record")
        status = record["status"]
        if status not in _RESUMED:
            continue
        workspace, person_id = record.get("workspace"), record.get("person_id")
        ids = _id_list(record.get("thumbnail_ids"))
        if (
            not isinstance(workspace, str)
            or not isinstance(person_id, int)
            or isinstance(person_id, bool)
            or ids is None
        ):
            if status == "deleted":  # a failure that cannot be read is sent again, as before
                raise _corrupt(path, number, "a deleted record without workspace, person or ids")
            continue
        permanent = status == "failed" and record.get("retryable") is False
        yield PastOutcome(status, permanent, workspace, person_id, ids)


def csv_rows(
    path: Path,
    lines: Iterator[tuple[int, str]],
    on_bad_line: Callable[[int, str], None] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row of a CSV ledger after its header, as {column: cell} with its line number.

    The header must be today's columns or the legacy ones (without `retryable`). A bad header,
    a row with the wrong number of fields, or broken quoting raises `LedgerCorruptError`; with
    `on_bad_line` (the report's reader) it is told to it instead, and the row is left out (after
    a bad header or broken quoting nothing more can be read).
    """

    def bad(number: int, why: str) -> None:
        if on_bad_line is None:
            raise _corrupt(path, number, why)
        on_bad_line(number, why)

    # The csv module's own rules join a quoted cell's lines into one record; its line_num
    # counts the lines it has taken, so a record starts one line after the previous ended.
    reader = csv.reader((line for _, line in lines), strict=True)
    start = 1
    columns: tuple[str, ...] = CSV_COLUMNS
    try:
        for row in reader:
            number, start = start, reader.line_num + 1
            if number == 1:
                if tuple(row) not in (CSV_COLUMNS, LEGACY_CSV_COLUMNS):
                    bad(1, "not a thumbsweep CSV ledger header")
                    return
                columns = tuple(row)
                continue
            if not row:
                continue
            if len(row) != len(columns):
                bad(number, f"expected {len(columns)} fields, found {len(row)}")
                continue
            yield number, dict(zip(columns, row, strict=True))
    except csv.Error as exc:
        bad(start, f"CSV error: {exc}")


def _csv_outcomes(path: Path, lines: Iterator[tuple[int, str]]) -> Iterator[PastOutcome]:
    for number, cell in csv_rows(path, lines):
        status = cell["status"]
        if status not in _RESUMED:
            continue
        try:
            person_id = int(cell["person_id"])
            ids = [int(part) for part in cell["thumbnail_ids"].split(";")]
        except ValueError:
            if status == "deleted":
                raise _corrupt(path, number, "a deleted record with a bad person or id") from None
            continue
        permanent = status == "failed" and cell.get("retryable") == "false"
        workspace = unescape_csv_cell(cell["workspace"])
        yield PastOutcome(status, permanent, workspace, person_id, ids)


def iter_outcomes(path: Path) -> Iterator[PastOutcome]:
    """Stream every `deleted`, `failed` and `skipped` record of the ledger at `path`, in order;
    nothing if there is no ledger.

    Raises `LedgerCorruptError` (a `ConfigError`: exit 2) at the first unreadable line that is
    not the torn last one, and `ConfigError` if the file cannot be read.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot read ledger '{path}': {exc.strerror}") from None
    with handle:
        lines = complete_lines(path, handle)
        if path.suffix.lower() == ".csv":
            yield from _csv_outcomes(path, lines)
        else:
            yield from _jsonl_outcomes(path, lines)


def resume_from(path: Path, batcher: Batcher, *, retry_permanent: bool = False) -> None:
    """Leave out of `batcher` what the ledger says needs no new request.

    Every id ever recorded `deleted` is dropped (a deletion is final). An id whose latest
    record is a permanent failure is held back (counted in the plan) unless `retry_permanent`:
    sending it again would be refused again, and a cron loop must be able to end. Only those
    ids are held in memory; the ledger itself is streamed.
    """
    permanent: dict[tuple[str, int], set[int]] = {}
    for past in iter_outcomes(path):
        if past.status == "deleted":
            batcher.drop_deleted(past.workspace, past.person_id, past.thumbnail_ids)
        key = (past.workspace, past.person_id)
        if past.permanent:
            permanent.setdefault(key, set()).update(past.thumbnail_ids)
        elif permanent and key in permanent:  # a later record of the id overrides the refusal
            permanent[key].difference_update(past.thumbnail_ids)
    if not retry_permanent:
        for (workspace, person_id), ids in permanent.items():
            batcher.hold_back_permanent(workspace, person_id, ids)
