"""The CSV reader: a header naming the known columns, then one job or invalid row per record.

Records may span lines (quoted line breaks); each keeps the physical line it starts on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

from worker.errors import InputError
from worker.input.display import truncate
from worker.input.fields import (
    PERSON_ID,
    THUMBNAIL_ID,
    THUMBNAIL_IDS,
    WORKSPACE,
    RepeatedFieldError,
    known_fields,
)
from worker.input.validation import MAX_ID_DIGITS, InvalidRow, Job, job_from


@dataclass(frozen=True, slots=True)
class _Header:
    """Where the known columns are, and how many fields every row must have."""

    columns: dict[str, int]
    width: int

    @property
    def plain(self) -> tuple[int, int, int] | None:
        """The workspace, person_id and thumbnail_id columns, when those are the id columns
        (no thumbnail_ids column): then a row of plain cells can take the fast path."""
        columns = self.columns
        if THUMBNAIL_IDS in columns or THUMBNAIL_ID not in columns:
            return None
        return columns[WORKSPACE], columns[PERSON_ID], columns[THUMBNAIL_ID]


_Record: TypeAlias = tuple[int, list[str]] | InvalidRow
"""A CSV record with the line it starts on, or the csv module's complaint about it."""


def read_csv(lines: Iterable[str], delimiter: str, name: str) -> Iterator[Job | InvalidRow]:
    """Jobs and invalid rows of CSV text whose first non-blank record is the header."""
    records = _csv_records(lines, delimiter, name)
    header = _read_header(records, name)
    if header is None:
        return
    plain = header.plain
    width = header.width
    for record in records:
        if isinstance(record, InvalidRow):
            yield record
            continue
        line, fields = record
        if plain is not None and len(fields) == width:
            job = _plain_job(line, fields[plain[0]], fields[plain[1]], fields[plain[2]])
            if job is not None:
                yield job
                continue
        if not _is_blank(fields):
            yield _csv_row(line, fields, header)


def _plain_job(line: int, workspace: str, person_id: str, thumbnail_id: str) -> Job | None:
    """The job of a row of plain cells (a workspace, and ids of ASCII digits without spaces
    or signs, short enough to be in range), or None to take the general path.

    Most rows of a large manifest look like this, and the general validation costs several
    calls per cell; a row it accepts is exactly the job the general path would give.
    """
    workspace = workspace.strip()
    if (
        workspace
        and len(person_id) < MAX_ID_DIGITS
        and len(thumbnail_id) < MAX_ID_DIGITS
        and person_id.isdigit()
        and thumbnail_id.isdigit()
        and person_id.isascii()
        and thumbnail_id.isascii()
    ):
        thumbnail = int(thumbnail_id)
        if thumbnail:
            return Job(workspace, int(person_id), (thumbnail,), line)
    return None


def _csv_records(lines: Iterable[str], delimiter: str, name: str) -> Iterator[_Record]:
    """Each CSV record with the physical line it starts on.

    A csv error within one line (a field over the size limit) becomes an invalid row;
    one in a record spanning lines means quoting went astray, so the input is unusable.
    """
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    while True:
        consumed = reader.line_num
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num == consumed:  # no progress: stop rather than loop forever
                return
            if reader.line_num > consumed + 1:  # lost inside a quoted field: cannot resync
                raise InputError(
                    f"cannot parse input {name} from line {consumed + 1}: {exc}"
                    " (is a closing quote missing?)"
                ) from None
            yield InvalidRow(consumed + 1, f"CSV error: {exc}")
            continue
        yield consumed + 1, fields


def _is_blank(fields: list[str]) -> bool:
    """A record with no fields, or only empty ones, is a blank line."""
    return not "".join(fields).strip()


def _read_header(records: Iterator[_Record], name: str) -> _Header | None:
    """Consume the header record; None for an input without any non-blank record."""
    for record in records:
        if isinstance(record, InvalidRow):
            raise InputError(f"cannot parse the header of input {name}: {record.error}")
        _, fields = record
        if not _is_blank(fields):
            return _header_from(fields, name)
    return None


def _header_from(fields: list[str], name: str) -> _Header:
    """Locate the known columns; InputError when some are missing or repeated."""
    try:
        columns = known_fields((raw, index) for index, raw in enumerate(fields))
    except RepeatedFieldError as repeated:
        raise InputError(f"input {name} has the column {repeated.field} more than once") from None
    missing = [column for column in (WORKSPACE, PERSON_ID) if column not in columns]
    if THUMBNAIL_ID not in columns and THUMBNAIL_IDS not in columns:
        missing.append(f"{THUMBNAIL_ID} or {THUMBNAIL_IDS}")
    if missing:
        raise InputError(_missing_columns_message(name, missing, fields))
    return _Header(columns, len(fields))


def _missing_columns_message(name: str, missing: list[str], fields: list[str]) -> str:
    """Name the missing columns and the ones found, hinting at a wrong delimiter."""
    found = truncate(", ".join(field.strip() for field in fields), 60)
    message = f"input {name} lacks the column(s) {', '.join(missing)}; found: {found!r}"
    if len(fields) == 1:
        # Excel's "Unicode text" is tab-delimited; a semicolon is Excel's CSV in many locales.
        hint = next((d for d in (";", "\t", ",") if d in fields[0]), None)
        if hint is not None:
            flag = {";": "';'", "\t": "tab", ",": "','"}[hint]
            message += f" (the header contains {hint!r}: wrong delimiter? use --delimiter {flag})"
    return message


def _csv_row(line: int, fields: list[str], header: _Header) -> Job | InvalidRow:
    """Turn one non-blank data record into a job or an invalid row."""
    if len(fields) != header.width:
        return InvalidRow(line, f"expected {header.width} fields, found {len(fields)}")
    columns = header.columns
    values = {column: fields[index] for column, index in columns.items()}
    return job_from(line, values)
