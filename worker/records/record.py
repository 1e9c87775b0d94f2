r"""A ledger record, its statuses and fields, and its line in JSON Lines or CSV.

JSON Lines by default; CSV has the same columns (lists joined by `;`, cells that a spreadsheet
would run as formulas prefixed with `'`).

Any Python str can be written, and reads back exactly. Records end with "\n" only; a "\n"
or "\r" inside a value is escaped (JSON) or quoted (CSV), and other line separators
(U+2028, U+0085, ...) are ordinary text, so readers split on "\n" alone. A lone surrogate
(JSON input or an API reply can spell one "\ud800"; UTF-8 cannot hold it) is written:
- in JSON Lines as a `\udXXX` escape, which JSON readers turn back into the same character
  (JSON cannot tell a high surrogate directly followed by a low one from the character the
  pair encodes, so such a pair reads back joined);
- in CSV, where no escape exists, the cell becomes `'\` followed by its text with each
  backslash doubled and each lone surrogate written `\udXXX`, e.g. `'\bad \ud800 a\\b`
  for "bad <U+D800> a\b". Plain cells never start with `'\` (the formula guard only puts
  `'` before `= + - @ tab CR '`), so `unescape_csv_cell` restores the text exactly.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring
from typing import Any, Literal, NamedTuple

Status = Literal["deleted", "failed", "skipped", "invalid", "dry_run"]
STATUSES: tuple[Status, ...] = ("deleted", "failed", "skipped", "invalid", "dry_run")

REQUEST_FIELDS = (
    "ts",
    "run_id",
    "workspace",
    "person_id",
    "thumbnail_ids",
    "status",
    "http_status",
    "code",
    "message",
    "attempts",
    "elapsed_ms",
    "remaining_thumbnail_ids",
    "primary_thumbnail_id",
    "retryable",
)
INVALID_FIELDS = ("ts", "run_id", "status", "line", "error")
CSV_COLUMNS = (*REQUEST_FIELDS, "line", "error")
# The CSV columns before `retryable` existed: such a ledger is still resumed and appended to.
LEGACY_CSV_COLUMNS = tuple(name for name in CSV_COLUMNS if name != "retryable")
# A leading quote is escaped too, so that unescaping (for --resume) is exact.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "'")
# Marks a CSV cell whose lone surrogates and backslashes are escaped (see the module docstring).
_ESCAPED_CELL = "'\\"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CELL_ESCAPE = re.compile(r"\\(\\|u[0-9a-f]{4})")
# Cells the csv module's reader would split or unquote; only these are quoted.
_CSV_SPECIAL = re.compile('[",\r\n]')


class LedgerRecord(NamedTuple):
    """What happened to one batch of ids, or why one input row was refused (one per request)."""

    run_id: str
    status: Status
    workspace: str | None = None
    person_id: int | None = None
    thumbnail_ids: tuple[int, ...] = ()
    http_status: int | None = None
    code: str | None = None
    message: str | None = None
    attempts: int = 0
    elapsed_ms: int | None = None
    remaining_thumbnail_ids: tuple[int, ...] | None = None
    primary_thumbnail_id: int | None = None
    # failed / skipped: whether a later --resume may make progress (None for other statuses)
    retryable: bool | None = None
    line: int | None = None
    error: str | None = None

    def as_dict(self, ts: str) -> dict[str, Any]:
        """The record's fields in ledger order: request fields, or line and error if invalid."""
        if self.status == "invalid":
            return {"ts": ts, "run_id": self.run_id, "status": self.status,
                    "line": self.line, "error": self.error}  # fmt: skip
        return {
            "ts": ts,
            "run_id": self.run_id,
            "workspace": self.workspace,
            "person_id": self.person_id,
            "thumbnail_ids": list(self.thumbnail_ids),
            "status": self.status,
            "http_status": self.http_status,
            "code": self.code,
            "message": self.message,
            "attempts": self.attempts,
            "elapsed_ms": self.elapsed_ms,
            "remaining_thumbnail_ids": (
                None if self.remaining_thumbnail_ids is None else list(self.remaining_thumbnail_ids)
            ),
            "primary_thumbnail_id": self.primary_thumbnail_id,
            "retryable": self.retryable,
        }


# One encoder for every record: json.dumps with options would build a new one per call.
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_ids(ids: tuple[int, ...]) -> str:
    """A non-empty tuple of ids as a JSON array (one id, the usual case, without a join)."""
    return f"[{ids[0]}]" if len(ids) == 1 else "[" + ",".join(map(str, ids)) + "]"


def _surrogate_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _utf8_safe(json_text: str) -> str:
    """JSON text with each lone surrogate (only ever inside a string) as a `\\udXXX` escape.

    The line is hot: `isascii` is a flag check, so ASCII lines pay nothing, and a trial encode
    (C, about a third of the cost of a regex scan) clears other lines.
    """
    if json_text.isascii():
        return json_text
    try:
        json_text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub(_surrogate_escape, json_text)
    return json_text


def json_line(record: LedgerRecord, ts: str) -> str:
    """The record as one compact JSON line, as `json` would encode `as_dict(ts)`, except that a
    lone surrogate is written as its `\\udXXX` escape (so the line is always valid UTF-8).

    A batch's line is written once per request, so it is assembled directly from its fields
    (strings escaped by `json`'s own C escaper) rather than through a dict and the encoder.
    """
    if record.status == "invalid":
        return _utf8_safe(_encode_json(record.as_dict(ts)) + "\n")
    # Unpacked and written inline: one line per request, and a helper call per field cost more
    # than the rest of the line. The status is one of STATUSES (plain ASCII, never escaped).
    (run_id, status, workspace, person_id, ids, http_status, code, message, attempts,
     elapsed_ms, remaining, primary, retryable, _, _) = record  # fmt: skip
    line = (
        f'{{"ts":"{ts}","run_id":{encode_basestring(run_id)},'
        f'"workspace":{"null" if workspace is None else encode_basestring(workspace)},'
        f'"person_id":{"null" if person_id is None else person_id},'
        f'"thumbnail_ids":{_json_ids(ids) if ids else "[]"},"status":"{status}",'
        f'"http_status":{"null" if http_status is None else http_status},'
        f'"code":{"null" if code is None else encode_basestring(code)},'
        f'"message":{"null" if message is None else encode_basestring(message)},'
        f'"attempts":{attempts},"elapsed_ms":{"null" if elapsed_ms is None else elapsed_ms},'
        f'"remaining_thumbnail_ids":'
        f"{'null' if remaining is None else _json_ids(remaining) if remaining else '[]'},"
        f'"primary_thumbnail_id":{"null" if primary is None else primary},'
        f'"retryable":{"null" if retryable is None else "true" if retryable else "false"}}}\n'
    )
    return line if line.isascii() else _utf8_safe(line)  # the check inline: ASCII is the norm


def _csv_cell(value: Any) -> str:
    """One CSV cell: lists joined by `;`, formulas guarded, lone surrogates escaped."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str):
        if not text.isascii() and _LONE_SURROGATE.search(text) is not None:
            escaped = _LONE_SURROGATE.sub(_surrogate_escape, text.replace("\\", "\\\\"))
            return _ESCAPED_CELL + escaped
        if text.startswith(_FORMULA_PREFIXES):
            return "'" + text
    return text


def _cell_unescape(match: re.Match[str]) -> str:
    escaped = match.group(1)
    return "\\" if escaped == "\\" else chr(int(escaped[1:], 16))


def unescape_csv_cell(text: str) -> str:
    """Undo `_csv_cell`'s formula guard or surrogate escaping on a text cell read back."""
    if text.startswith(_ESCAPED_CELL):
        return _CELL_ESCAPE.sub(_cell_unescape, text[len(_ESCAPED_CELL) :])
    return text[1:] if text.startswith("'") else text


def _csv_quoted(cell: str) -> str:
    if _CSV_SPECIAL.search(cell) is None:
        return cell
    return '"' + cell.replace('"', '""') + '"'


def _csv_line(values: list[str]) -> str:
    """One CSV record ending in "\\n"; a cell holding `"`, `,`, CR or LF is quoted (the csv
    module's writer leaves a lone CR bare, which its reader then takes for a line end)."""
    return ",".join(map(_csv_quoted, values)) + "\n"


CSV_HEADER = _csv_line(list(CSV_COLUMNS))
# The ledger's CSV rules for other CSV outputs (the report's per-id table).
csv_cell = _csv_cell
csv_row = _csv_line


def csv_line(record: LedgerRecord, ts: str, columns: tuple[str, ...] = CSV_COLUMNS) -> str:
    """The record as one CSV line in `columns` order (`LEGACY_CSV_COLUMNS` for an old ledger)."""
    fields = record.as_dict(ts)
    return _csv_line([_csv_cell(fields.get(name)) for name in columns])
