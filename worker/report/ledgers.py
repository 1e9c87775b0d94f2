"""Read ledgers back for the report: which files (paths and globs), and each record of each,
streamed, as the JSON-like dict its JSON Lines line would hold (a CSV line's cells typed back).

It rides on `--resume`'s reader (`complete_lines`: lines split on "\\n" alone, a torn last line
left out; `csv_rows`: the CSV header check and the rows; `unescape_csv_cell`), but where
`--resume` refuses a ledger with a corrupt line, a report counts and names it and goes on: a
report describes what is there, and says what it could not read.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.records.record import unescape_csv_cell
from worker.records.resume import complete_lines, csv_rows
from worker.records.run_record import RUN_STATUS

SHOWN_PROBLEMS = 5
"""How many unreadable lines a report names; it counts them all."""

_INT_CELLS = frozenset({"person_id", "http_status", "attempts", "elapsed_ms",
                        "primary_thumbnail_id", "line"})  # fmt: skip
_LIST_CELLS = frozenset({"thumbnail_ids", "remaining_thumbnail_ids"})
_BOOL_CELLS = {"true": True, "false": False}
_BATCH_STATUSES = frozenset({"deleted", "failed", "skipped", "dry_run"})


@dataclass
class Problems:
    """Lines of the ledgers that could not be read: counted, the first few named."""

    corrupt: int = 0
    torn: int = 0
    shown: list[str] = field(default_factory=list)

    def add(self, path: Path, line: int, why: str) -> None:
        """Count one unreadable line (a torn last line is counted apart)."""
        if why.startswith("a torn"):
            self.torn += 1
        else:
            self.corrupt += 1
        if len(self.shown) < SHOWN_PROBLEMS:
            self.shown.append(f"ledger '{path}' line {line}: {why}; left out")


def ledger_paths(patterns: list[str]) -> list[Path]:
    """Each LEDGER argument as files: a path, or a glob (`shard-*.jsonl`) sorted by name.

    Raises `ConfigError` (exit 2) for a path that is missing or not a file, or a glob that
    matches nothing.
    """
    paths: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if not path.exists() and glob.has_magic(pattern):
            matched = sorted(glob.glob(pattern))
            if not matched:
                raise ConfigError(f"no ledger matches '{pattern}'")
            candidates = [Path(name) for name in matched]
        else:
            candidates = [path]
        for candidate in candidates:
            if not candidate.is_file():
                why = "no such file" if not candidate.exists() else "not a file"
                raise ConfigError(f"cannot read ledger '{candidate}': {why}")
            if candidate not in paths:
                paths.append(candidate)
    return paths


def is_batch(record: dict[str, Any]) -> bool:
    """A batch record with its workspace, person and ids (not invalid, not a run record)."""
    return record.get("status") in _BATCH_STATUSES


def read_records(path: Path, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every readable record of the ledger at `path` with its line number, in order; lines
    that cannot be read are counted in `problems` and left out.

    Raises `ConfigError` (exit 2) if the file cannot be opened or read.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read ledger '{path}': {exc.strerror}") from None
    with handle:
        lines = complete_lines(path, handle, lambda line, why: problems.add(path, line, why))
        reader = _csv_records if path.suffix.lower() == ".csv" else _jsonl_records
        for number, record in reader(path, lines, problems):
            why = _malformed(record)
            if why is None:
                yield number, record
            else:
                problems.add(path, number, why)


def _malformed(record: dict[str, Any]) -> str | None:
    """Why a record cannot be used, or None."""
    status = record.get("status")
    if not isinstance(status, str):
        return "not a ledger record"
    if not isinstance(record.get("run_id"), str) or not isinstance(record.get("ts"), str):
        return "a record without run_id or ts"
    if status in _BATCH_STATUSES:
        workspace, person_id = record.get("workspace"), record.get("person_id")
        ids = record.get("thumbnail_ids")
        if (
            not isinstance(workspace, str)
            or not _is_int(person_id)
            or not isinstance(ids, list)
            or not all(_is_int(item) for item in ids)
        ):
            return f"a {status} record without workspace, person or ids"
    elif status not in ("invalid", RUN_STATUS):
        return f"unknown status {status!r}"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _jsonl_records(
    path: Path, lines: Iterator[tuple[int, str]], problems: Problems
) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in lines:
        if not line.strip(" \t\r\n"):
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            problems.add(path, number, "invalid JSON")
            continue
        if not isinstance(record, dict):
            problems.add(path, number, "not a ledger record")
            continue
        yield number, record


def _csv_records(
    path: Path, lines: Iterator[tuple[int, str]], problems: Problems
) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, cells in csv_rows(path, lines, lambda line, why: problems.add(path, line, why)):
        try:
            yield number, _typed(cells)
        except ValueError:
            problems.add(path, number, "a cell that is not what its column holds")


def _typed(cells: dict[str, str]) -> dict[str, Any]:
    """A CSV ledger row as the dict its JSON line would be (empty cells are null)."""
    record: dict[str, Any] = {}
    for name, cell in cells.items():
        if cell == "":
            record[name] = None
        elif name in _INT_CELLS:
            record[name] = int(cell)
        elif name in _LIST_CELLS:
            record[name] = [int(part) for part in cell.split(";")]
        elif name == "retryable":
            if cell not in _BOOL_CELLS:
                raise ValueError(cell)
            record[name] = _BOOL_CELLS[cell]
        else:
            record[name] = unescape_csv_cell(cell)
    if record.get("thumbnail_ids") is None and record.get("status") in _BATCH_STATUSES:
        record["thumbnail_ids"] = []
    return record
