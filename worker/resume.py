"""Read a ledger back for `--resume`: which (workspace, person, id) are already deleted.

Only `deleted` records count; everything else is sent again. A torn last line (a crash cut it
short) is ignored, and the writer cuts it off when it reopens the file. A corrupt line anywhere
else is an error: resuming from a ledger we cannot read fully could delete twice or skip ids.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.ledger import CSV_COLUMNS, torn_tail_start, unescape_csv_cell

DeletedIds = dict[tuple[str, int], set[int]]


class LedgerCorruptError(ConfigError):
    """A line in the middle of the ledger cannot be read."""


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


def _complete_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, io.SEEK_END)
            complete = torn_tail_start(handle, size)
            handle.seek(0)
            data = handle.read(complete)
    except OSError as exc:
        raise ConfigError(f"cannot read ledger '{path}': {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _corrupt(path, line, "not UTF-8") from None


def _add(done: DeletedIds, workspace: str, person_id: int, ids: list[int]) -> None:
    done.setdefault((workspace, person_id), set()).update(ids)


def _read_jsonl(path: Path, text: str, done: DeletedIds) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _corrupt(path, number, f"invalid JSON: {exc.msg}") from None
        if not isinstance(record, dict) or not isinstance(record.get("status"), str):
            raise _corrupt(path, number, "not a ledger record")
        if record["status"] != "deleted":
            continue
        workspace, person_id = record.get("workspace"), record.get("person_id")
        ids = _id_list(record.get("thumbnail_ids"))
        if not isinstance(workspace, str) or not isinstance(person_id, int) or ids is None:
            raise _corrupt(path, number, "a deleted record without workspace, person or ids")
        _add(done, workspace, person_id, ids)


def _read_csv(path: Path, text: str, done: DeletedIds) -> None:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    if tuple(header) != CSV_COLUMNS:
        raise _corrupt(path, 1, "not a thumbsweep CSV ledger header")
    index = {name: position for position, name in enumerate(CSV_COLUMNS)}
    start = 2
    for row in reader:
        number, start = start, reader.line_num + 1
        if not row:
            continue
        if len(row) != len(CSV_COLUMNS):
            raise _corrupt(path, number, f"expected {len(CSV_COLUMNS)} fields, found {len(row)}")
        if row[index["status"]] != "deleted":
            continue
        try:
            person_id = int(row[index["person_id"]])
            ids = [int(part) for part in row[index["thumbnail_ids"]].split(";")]
        except ValueError:
            raise _corrupt(path, number, "a deleted record with a bad person or id") from None
        _add(done, unescape_csv_cell(row[index["workspace"]]), person_id, ids)


def read_deleted(path: Path) -> DeletedIds:
    """Every id the ledger records as deleted, per (workspace, person); empty if no ledger."""
    done: DeletedIds = {}
    if not path.exists():
        return done
    text = _complete_text(path)
    if path.suffix.lower() == ".csv":
        _read_csv(path, text, done)
    else:
        _read_jsonl(path, text, done)
    return done
