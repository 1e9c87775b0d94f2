"""Streaming readers of the job input: CSV or JSON Lines in, jobs or invalid rows out.

Every record of the input becomes either a `Job` (delete these thumbnails of one person)
or an `InvalidRow` (why the record cannot be used). Both carry the 1-based physical line
number where the record starts. Problems that make the whole input unusable (a missing
file, bytes that are not UTF-8, a CSV header without the needed columns) raise
`InputError` instead; no other exception leaves `read_jobs`.

The input is read one line at a time, so inputs of any length can be processed.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any, BinaryIO, Literal, NamedTuple, TypeAlias, TypeVar

from worker.errors import InputError

InputFormat = Literal["auto", "csv", "jsonl"]
Format = Literal["csv", "jsonl"]

MAX_ID = 2**63 - 1
_MAX_ID_DIGITS = len(str(MAX_ID))
"""Largest person or thumbnail id (a signed 64-bit integer)."""

MAX_LINE_BYTES = 1 << 20
"""A physical line longer than this (1 MiB) makes the input unusable."""

WORKSPACE = "workspace"
PERSON_ID = "person_id"
THUMBNAIL_ID = "thumbnail_id"
THUMBNAIL_IDS = "thumbnail_ids"
_FIELDS = (WORKSPACE, PERSON_ID, THUMBNAIL_ID, THUMBNAIL_IDS)

_BOM = b"\xef\xbb\xbf"
_SHOWN_CHARS = 40
_DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "\\t": "\t"}
_DIGITS = re.compile(r"[0-9]+")
_ID_SEPARATORS = re.compile(r"[;|,\s]+")
_NAME_SEPARATORS = re.compile(r"[\s\-]+")
_AFTER_LONE_CR = re.compile(r"(?<=\r)(?!\n)")
_JSON_WHITESPACE = " \t\r\n"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Job(NamedTuple):
    """One valid request: delete these thumbnails of one person in one workspace."""

    workspace: str
    person_id: int
    thumbnail_ids: tuple[int, ...]
    line: int


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """A record that cannot become a job, and the reason in a short human sentence."""

    line: int
    error: str


class _RowError(Exception):
    """A record cannot become a job; the message becomes the InvalidRow's error."""


class _RepeatedFieldError(Exception):
    """Two names that mean the same field (e.g. `person_id` and `Person ID`)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


_Value = TypeVar("_Value")


class _DuplicateKeyError(ValueError):
    """A JSON object names the same key twice."""


# --- public entry points ---------------------------------------------------------------


def open_input(source: str) -> BinaryIO:
    """Open `source` for binary reading: "-" is standard input, anything else a file path."""
    if source == "-":
        stdin = sys.stdin
        if stdin is None or getattr(stdin, "buffer", None) is None:
            raise InputError("cannot read input '-': standard input is not available")
        return stdin.buffer
    try:
        return open(source, "rb")  # the caller closes it
    except OSError as exc:
        raise InputError(f"cannot read input {source!r}: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an embedded NUL character in the path
        raise InputError(f"cannot read input {source!r}: {exc}") from None


def detect_format(source: str, fmt: InputFormat, head: bytes = b"") -> Format:
    """Decide how to parse the input.

    An explicit `fmt` wins, then the file extension; otherwise `head` (the first
    non-blank line of the input) is sniffed: a leading `{` means JSON Lines, else CSV.
    """
    by_name = _format_from_name(source, fmt)
    if by_name is not None:
        return by_name
    return "jsonl" if head.removeprefix(_BOM).lstrip().startswith(b"{") else "csv"


def read_jobs(
    source: str, fmt: InputFormat = "auto", delimiter: str = ","
) -> Iterator[Job | InvalidRow]:
    """Yield a `Job` or an `InvalidRow` for every non-blank record of `source`, in order.

    `source` is a file path or "-" for standard input; `delimiter` (CSV only) is ",",
    ";" or a tab ("\\t", "tab"). Being a generator, it does all its work lazily: even
    a missing file raises `InputError` only on the first `next()`.
    """
    csv_delimiter = _csv_delimiter(delimiter)
    if fmt not in ("auto", "csv", "jsonl"):
        raise InputError(f"unknown input format {fmt!r}: use auto, csv or jsonl")
    name = _display_name(source)
    stream = open_input(source)
    try:
        raw_lines: Iterator[bytes] = _byte_lines(stream, name)
        resolved = _format_from_name(source, fmt)
        if resolved is None:
            head, raw_lines = _peek_head(raw_lines)
            resolved = detect_format(source, fmt, head)
        if resolved == "jsonl":
            yield from _read_jsonl(_text_lines(raw_lines, name, split_lone_cr=False))
        else:
            lines = _text_lines(raw_lines, name, split_lone_cr=True)
            yield from _read_csv(lines, csv_delimiter, name)
    finally:
        if source != "-":
            stream.close()


# --- format, delimiter and names ------------------------------------------------------


def _format_from_name(source: str, fmt: InputFormat) -> Format | None:
    """The format fixed by `fmt` or by the file extension, or None when sniffing is needed."""
    if fmt != "auto":
        return fmt
    lowered = source.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return None


def _csv_delimiter(delimiter: str) -> str:
    """Map the accepted spellings of a delimiter to the character itself."""
    found = _DELIMITERS.get(delimiter) or _DELIMITERS.get(delimiter.lower())
    if found is None:
        shown = _show(delimiter)
        raise InputError(f"unsupported CSV delimiter {shown}: use ',', ';' or tab")
    return found


def _display_name(source: str) -> str:
    """How messages name the input."""
    return "<stdin>" if source == "-" else repr(source)


def _normalize_name(name: str) -> str:
    """Column or key name in canonical form: `Person ID` and `person-id` are `person_id`."""
    return _NAME_SEPARATORS.sub("_", name.strip().lower())


# --- lines ---------------------------------------------------------------------------


def _byte_lines(stream: BinaryIO, name: str) -> Iterator[bytes]:
    """Raw lines of the stream, each ending in b"\\n" except perhaps the last."""
    number = 0
    while True:
        number += 1
        try:
            raw = stream.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read input {name}: {exc.strerror or exc}") from None
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise InputError(f"line {number} of input {name} is longer than 1 MiB")
        yield raw


def _peek_head(raw_lines: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """Read up to the first non-blank line; return it and an iterator over all lines."""
    seen: list[bytes] = []
    for raw in raw_lines:
        seen.append(raw)
        if raw.removeprefix(_BOM).strip():
            return raw, chain(seen, raw_lines)
    return b"", iter(seen)


def _text_lines(raw_lines: Iterable[bytes], name: str, *, split_lone_cr: bool) -> Iterator[str]:
    """Decode lines as UTF-8 (an initial BOM is dropped), keeping their line endings.

    With `split_lone_cr` a lone "\\r" also ends a line (old Mac files), as it does for
    the csv module. Splitting at b"\\n" never cuts a UTF-8 sequence, so lines decode alone.
    """
    number = 0
    encoding = "utf-8-sig"
    for raw in raw_lines:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise InputError(f"input {name} is not valid UTF-8 (line {number + 1})") from None
        encoding = "utf-8"
        pieces = _AFTER_LONE_CR.split(text) if split_lone_cr and "\r" in text else [text]
        for piece in pieces:
            if piece:
                number += 1
                yield piece


# --- CSV -----------------------------------------------------------------------------


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


def _read_csv(lines: Iterable[str], delimiter: str, name: str) -> Iterator[Job | InvalidRow]:
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
        and len(person_id) < _MAX_ID_DIGITS
        and len(thumbnail_id) < _MAX_ID_DIGITS
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
        columns = _known_fields((raw, index) for index, raw in enumerate(fields))
    except _RepeatedFieldError as repeated:
        raise InputError(f"input {name} has the column {repeated.field} more than once") from None
    missing = [column for column in (WORKSPACE, PERSON_ID) if column not in columns]
    if THUMBNAIL_ID not in columns and THUMBNAIL_IDS not in columns:
        missing.append(f"{THUMBNAIL_ID} or {THUMBNAIL_IDS}")
    if missing:
        raise InputError(_missing_columns_message(name, missing, fields))
    return _Header(columns, len(fields))


def _missing_columns_message(name: str, missing: list[str], fields: list[str]) -> str:
    """Name the missing columns and the ones found, hinting at a wrong delimiter."""
    found = _truncate(", ".join(field.strip() for field in fields), 60)
    message = f"input {name} lacks the column(s) {', '.join(missing)}; found: {found!r}"
    if len(fields) == 1:
        hint = next((d for d in (";", "\t", ",") if d in fields[0]), None)
        if hint is not None:
            message += f" (the header contains {hint!r}: wrong delimiter?)"
    return message


def _csv_row(line: int, fields: list[str], header: _Header) -> Job | InvalidRow:
    """Turn one non-blank data record into a job or an invalid row."""
    if len(fields) != header.width:
        return InvalidRow(line, f"expected {header.width} fields, found {len(fields)}")
    columns = header.columns
    values = {column: fields[index] for column, index in columns.items()}
    return _job_from(line, values)


# --- JSON Lines ----------------------------------------------------------------------


def _read_jsonl(lines: Iterable[str]) -> Iterator[Job | InvalidRow]:
    """Jobs and invalid rows of JSON Lines text; blank lines are skipped."""
    for line, text in enumerate(lines, start=1):
        if text.strip(_JSON_WHITESPACE):
            yield _json_row(line, text)


def _json_row(line: int, text: str) -> Job | InvalidRow:
    """Turn one JSON line into a job or an invalid row."""
    try:
        value = _loads(text)
    except _RowError as exc:
        return InvalidRow(line, f"invalid JSON: {exc}")
    if not isinstance(value, dict):
        return InvalidRow(line, f"expected a JSON object, found {_json_type(value)}")
    try:
        values = _known_fields(value.items())
    except _RepeatedFieldError as repeated:
        return InvalidRow(line, f"key {repeated.field} appears more than once")
    return _job_from(line, values)


def _loads(text: str) -> Any:
    """Parse JSON text; every failure becomes a `_RowError` with a short reason."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise _RowError(f"{exc.msg} (column {exc.colno})") from None
    except _DuplicateKeyError as exc:
        raise _RowError(str(exc)) from None
    except ValueError:  # an integer literal with thousands of digits
        raise _RowError("number too long") from None
    except RecursionError:
        raise _RowError("nested too deeply") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, refusing repeated keys instead of silently keeping the last."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {_show(key)}")
        result[key] = value
    return result


def _known_fields(pairs: Iterable[tuple[str, _Value]]) -> dict[str, _Value]:
    """The known fields among (name, value) pairs, names matched case- and space-insensitively
    (CSV header cells and JSON keys alike); a field named twice is ambiguous."""
    matched: dict[str, _Value] = {}
    for raw, value in pairs:
        field = _normalize_name(raw)
        if field not in _FIELDS:
            continue
        if field in matched:
            raise _RepeatedFieldError(field)
        matched[field] = value
    return matched


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- validation (both formats) -------------------------------------------------------


def _job_from(line: int, values: dict[str, Any]) -> Job | InvalidRow:
    """Validate the known fields of one record (CSV strings or JSON values)."""
    try:
        workspace = _workspace(values.get(WORKSPACE))
        person_id = _person_id(values.get(PERSON_ID))
        ids = _thumbnail_ids(values.get(THUMBNAIL_ID), values.get(THUMBNAIL_IDS))
    except _RowError as exc:
        return InvalidRow(line, str(exc))
    return Job(workspace, person_id, ids, line)


def _workspace(value: object) -> str:
    """A non-empty workspace name, stripped."""
    if value is not None and not isinstance(value, str):
        raise _RowError(f"workspace must be a string, found {_json_type(value)}")
    workspace = (value or "").strip()
    if not workspace:
        raise _RowError("workspace is missing or empty")
    # JSON can spell a lone surrogate ("\ud800"), which is not text: it has no UTF-8 form, so
    # it cannot go into a URL (or a ledger line) as it is. _show escapes it in the message.
    if not workspace.isascii() and _LONE_SURROGATE.search(workspace) is not None:
        raise _RowError(
            f"workspace {_show(workspace)} is not valid Unicode text (it holds a lone surrogate)"
        )
    return workspace


def _person_id(value: object) -> int:
    """A person id: an integer from 0 to 2**63-1."""
    if _is_absent(value):
        raise _RowError("person_id is missing or empty")
    number = _as_int(value)
    if number is None or not 0 <= number <= MAX_ID:
        raise _RowError(f"person_id {_show(value)} is not a non-negative 64-bit integer")
    return number


def _thumbnail_ids(single: object, many: object) -> tuple[int, ...]:
    """The ids of the `thumbnail_id` value followed by those of `thumbnail_ids`."""
    ids: list[int] = []
    if not _is_absent(single):
        ids.append(_thumbnail_id(single))
    if not _is_absent(many):
        ids.extend(_thumbnail_id(item) for item in _id_items(many))
    if not ids:
        raise _RowError("no thumbnail ids")
    return tuple(ids)


def _id_items(value: object) -> list[object]:
    """Split a `thumbnail_ids` value: a list, a JSON array text, or separated ids."""
    if isinstance(value, list):
        return list(value)
    if not isinstance(value, str):
        return [value]
    text = value.strip()
    if not text.startswith("["):
        return [item for item in _ID_SEPARATORS.split(text) if item]
    try:
        parsed = _loads(text)
    except _RowError:
        raise _RowError(f"thumbnail ids {_show(text)} are not a valid JSON array") from None
    if not isinstance(parsed, list):
        raise _RowError(f"thumbnail ids {_show(text)} are not a valid JSON array")
    return list(parsed)


def _thumbnail_id(value: object) -> int:
    """A thumbnail id: an integer from 1 to 2**63-1."""
    number = _as_int(value)
    if number is None or not 1 <= number <= MAX_ID:
        raise _RowError(f"thumbnail id {_show(value)} is not a positive 64-bit integer")
    return number


def _is_absent(value: object) -> bool:
    """JSON null and blank strings (empty CSV cells) count as no value."""
    return value is None or (isinstance(value, str) and not value.strip())


def _as_int(value: object) -> int | None:
    """A JSON integer or a string of ASCII digits (spaces around allowed) as an int."""
    if type(value) is str and len(value) < _MAX_ID_DIGITS and value.isascii() and value.isdigit():
        return int(value)  # the common case: a plain CSV cell of digits
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.fullmatch(text) and len(text.lstrip("0")) <= _MAX_ID_DIGITS:
            return int(text.lstrip("0") or "0")  # int() refuses > 4300 digits, even zeros
    return None


def _show(value: object) -> str:
    """A short rendering of an offending value for an error message."""
    if isinstance(value, str):
        return repr(_truncate(value, _SHOWN_CHARS))
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return _truncate(repr(value), _SHOWN_CHARS)
    if isinstance(value, list):
        return "[...]"
    return "{...}"


def _truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with "..." when cut."""
    return text if len(text) <= limit else text[:limit] + "..."
