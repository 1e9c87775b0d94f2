"""Property-based fuzzing of the job readers: no crash on any input, and no valid row lost.

Inputs are written to a fresh temporary directory per example (not `tmp_path`: hypothesis runs
many examples inside one function-scoped fixture). Runs are derandomized and keep no example
database, so the same examples run every time.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from worker.errors import InputError
from worker.input.jobs import MAX_LINE_BYTES, InputFormat, InvalidRow, Job, read_jobs

MAX_ID = 2**63 - 1
FUZZ = settings(max_examples=200, derandomize=True, database=None, deadline=None)
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # how the CSV reader counts physical lines
DELIMITERS = [",", ";", "\t"]
JSON_WHITESPACE = " \t\r\n"

Expected = Job | int  # a job, or the line of an invalid row


@dataclass(frozen=True)
class Document:
    """An input file to write, how to read it, and the records it must give."""

    text: str
    name: str
    fmt: InputFormat
    delimiter: str
    expected: list[Expected]


# --- reading -------------------------------------------------------------------------


def read_file(content: bytes, name: str, fmt: InputFormat, delimiter: str = ",") -> list[Any]:
    """Every record read_jobs yields for `content` written to `name`; an InputError is
    returned as the single element. Any other exception propagates."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        records: list[Any] = []
        try:
            records.extend(read_jobs(str(path), fmt, delimiter))
        except InputError as exc:
            records.append(exc)
        return records


def check_invariants(records: list[Any]) -> None:
    """Only jobs and invalid rows (an InputError only last), valid jobs, increasing lines."""
    if records and isinstance(records[-1], InputError):
        records = records[:-1]
    last_line = 0
    for record in records:
        assert type(record) in (Job, InvalidRow), record
        assert type(record.line) is int
        assert record.line > last_line, (record, last_line)
        last_line = record.line
        if isinstance(record, InvalidRow):
            assert isinstance(record.error, str)
            assert record.error
            continue
        assert isinstance(record.workspace, str)
        assert record.workspace
        assert record.workspace == record.workspace.strip()
        assert type(record.person_id) is int
        assert 0 <= record.person_id <= MAX_ID
        assert isinstance(record.thumbnail_ids, tuple)
        assert record.thumbnail_ids
        for tid in record.thumbnail_ids:
            assert type(tid) is int
            assert 1 <= tid <= MAX_ID


def outcome(records: list[Any]) -> list[Expected]:
    """Jobs as they are, invalid rows as their line numbers."""
    assert not any(isinstance(r, InputError) for r in records), records
    return [r.line if isinstance(r, InvalidRow) else r for r in records]


# --- strategies: any input --------------------------------------------------------------

formats = st.sampled_from(["auto", "csv", "jsonl"])
names = st.sampled_from(["in.csv", "in.jsonl", "in.ndjson", "in.txt"])
delimiters = st.sampled_from(DELIMITERS)
TOKENS = [
    '"', "'", ",", ";", "\t", "|", " ", "\n", "\r", "\r\n", "\ufeff", "\x00", "\\",
    "{", "}", "[", "]", ":", "workspace", "Person ID", "person_id", "thumbnail_id",
    "thumbnail_ids", '"workspace"', '"person_id"', '"thumbnail_ids"', '"thumbnail_id"',
    "0", "1", "007", "-1", "1.5", "1e3", "null", "true", "NaN", str(MAX_ID), str(MAX_ID + 1),
    "9" * 400, "[" * 50, "ü", "\u2028", "\x85",
]  # fmt: skip
soup = st.lists(
    st.sampled_from(TOKENS) | st.text(st.characters(codec="utf-8"), max_size=4), max_size=40
).map("".join)
prefixes = st.sampled_from(
    [
        "",
        "\ufeff",
        "workspace,person_id,thumbnail_ids\n",
        "workspace;person_id;thumbnail_id;thumbnail_ids\r\n",
        "workspace\tperson_id\tthumbnail_ids\n",
        '{"workspace": "w", "person_id": 1, "thumbnail_ids": [1]}\n',
    ]
)


# --- strategies: documents with known valid and invalid rows ---------------------------

workspaces = st.text(
    st.characters(codec="utf-8") | st.sampled_from(list(",;\t|\"'\n\r []{}")),
    min_size=1,
    max_size=12,
).filter(lambda ws: ws == ws.strip() and bool(ws))
# the bounds are drawn explicitly: an off-by-one at 2**63-1 is the likeliest range bug
person_ids = st.sampled_from([0, 1, MAX_ID]) | st.integers(min_value=0, max_value=MAX_ID)
thumbnail_ids = st.sampled_from([1, MAX_ID]) | st.integers(min_value=1, max_value=MAX_ID)
thumbnail_lists = st.lists(thumbnail_ids, min_size=1, max_size=5)
notes = st.text(st.characters(codec="utf-8"), max_size=8)


@st.composite
def id_texts(draw: st.DrawFn, ids: list[int]) -> str:
    """A CSV cell spelling `ids`: separated by ; | comma or spaces, or a JSON array."""
    if draw(st.booleans()):
        text = json.dumps(ids, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    else:
        separator = draw(st.sampled_from([";", ",", "|", " ", " ; ", ", ", "\t", ";|"]))
        text = separator.join(str(i) for i in ids)
    return text if draw(st.booleans()) else f" {text} "


@st.composite
def pid_texts(draw: st.DrawFn, pid: int) -> str:
    """A CSV cell spelling `pid`: plain, padded with spaces, or with leading zeros."""
    return draw(st.sampled_from([str(pid), f" {pid} ", f"00{pid}", f"{pid}\t"]))


BAD_PID_TEXTS = [
    "",
    "  ",
    "abc",
    "-1",
    "+5",
    "1.5",
    "1e3",
    "0x1F",
    "1 2",
    "١٢",
    "²",
    str(MAX_ID + 1),
    "9" * 30,
]
BAD_ID_TEXTS = [
    "",
    " ",
    "0",
    "abc",
    "-3",
    "1;0",
    "1;x",
    "1.5",
    "[",
    "[1,",
    "[]",
    "[0]",
    '["a"]',
    "[1.5]",
    "[true]",
    "[[1]]",
    str(MAX_ID + 1),
    f"1;{MAX_ID + 1}",
    "²",
]


def csv_line(cells: list[str], delimiter: str) -> str:
    """One record as the csv module writes it (ending in CRLF)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerow(cells)
    return buffer.getvalue()


def line_breaks(text: str) -> int:
    """Physical line ends in `text`, counted the CSV reader's way (CRLF, lone CR, LF)."""
    return len(LINE_BREAK.findall(text))


@st.composite
def csv_documents(draw: st.DrawFn) -> Document:
    """CSV text from the csv module: valid rows, broken rows and blank lines, interleaved."""
    delimiter = draw(delimiters)
    columns = draw(st.permutations(["workspace", "person_id", "thumbnail_ids", "note"]))
    spellings = {
        "workspace": ["workspace", "Workspace", " WORKSPACE "],
        "person_id": ["person_id", "Person ID", "person-id"],
        "thumbnail_ids": ["thumbnail_ids", "Thumbnail IDs", "thumbnail-ids"],
        "note": ["note", "comment"],
    }
    header = [draw(st.sampled_from(spellings[column])) for column in columns]
    blanks = st.sampled_from(["\n", "\r\n", "\r", "  \n", "\t\r\n", delimiter * 3 + "\r\n"])
    pieces = [draw(st.lists(blanks, max_size=2).map("".join)), csv_line(header, delimiter)]
    expected: list[Expected] = []
    for kind in draw(st.lists(st.sampled_from(["valid", "invalid", "blank"]), max_size=12)):
        if kind == "blank":
            pieces.append(draw(blanks))
            continue
        line = line_breaks("".join(pieces)) + 1
        workspace, pid, ids = draw(workspaces), draw(person_ids), draw(thumbnail_lists)
        values = {
            "workspace": workspace,
            "person_id": draw(pid_texts(pid)),
            "thumbnail_ids": draw(id_texts(ids)),
            "note": draw(notes),
        }
        cells = [values[column] for column in columns]
        if kind == "valid":
            expected.append(Job(workspace, pid, tuple(ids), line))
        else:
            expected.append(line)
            broken = draw(st.sampled_from(["workspace", "person_id", "thumbnail_ids", "width"]))
            if broken == "width":
                cells = cells[:-1] if draw(st.booleans()) else [*cells, draw(notes)]
            else:
                bad = {
                    "workspace": ["", " ", "\t"],
                    "person_id": BAD_PID_TEXTS,
                    "thumbnail_ids": BAD_ID_TEXTS,
                }[broken]
                cells[columns.index(broken)] = draw(st.sampled_from(bad))
        pieces.append(csv_line(cells, delimiter))
    text = "".join(pieces)
    if draw(st.booleans()):  # the last record may lack its line end
        text = text.removesuffix("\r\n")
    csv_choices: list[tuple[str, InputFormat]] = [
        ("in.csv", "auto"),
        ("in.txt", "csv"),
        ("in", "auto"),  # sniffed: a header never starts with "{"
    ]
    name, fmt = draw(st.sampled_from(csv_choices))
    spelled = draw(st.sampled_from([delimiter, {"\t": "tab", ",": ",", ";": ";"}[delimiter]]))
    return Document(text, name, fmt, spelled, expected)


MALFORMED_JSON = [
    "{",
    '{"workspace": "w"',
    "[1, 2]",
    "null",
    '"text"',
    "42",
    "NaN",
    "{} {}",
    "{'workspace': 'w'}",
    "{}",
    '{"workspace": "w", "workspace": "v", "person_id": 1, "thumbnail_ids": [1]}',
    '{"workspace": "w", "Workspace": "v", "person_id": 1, "thumbnail_ids": [1]}',
    '{"workspace": "w", "person_id": 1, "thumbnail_ids": [1]',
    '{"workspace": "w", "person_id": ' + "1" * 5000 + ', "thumbnail_ids": [1]}',
    '{"workspace": "w", "person_id": 1, "thumbnail_ids": ' + "[" * 5000 + "]" * 5000 + "}",
    "\x00",
    "\x0c",
]
BAD_JSON_VALUES: dict[str, list[Any]] = {
    "workspace": ["", "  ", 5, None, ["w"], {"w": 1}, True],
    "person_id": [-1, MAX_ID + 1, "abc", "-1", 1.5, 1.0, True, None, [], {}, ""],
    "thumbnail_ids": [[], [0], ["x"], [True], [1.5], [MAX_ID + 1], 0, "0", "[]", None, {}, -1],
}
non_object_lines = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda t: (
        "\n" not in t
        and bool(t.strip(JSON_WHITESPACE))
        and not t.lstrip(JSON_WHITESPACE).startswith("{")
        and not t.startswith("\ufeff")  # an initial BOM is dropped, which could leave a blank
    )
)


@st.composite
def json_objects(draw: st.DrawFn, values: dict[str, Any]) -> str:
    """`values` as a one-line JSON object with keys in any order and spelling."""
    spellings = {
        "workspace": ["workspace", "Workspace", "WORKSPACE"],
        "person_id": ["person_id", "Person ID", "person-id"],
        "thumbnail_ids": ["thumbnail_ids", "thumbnail-ids", "Thumbnail IDs"],
        "thumbnail_id": ["thumbnail_id"],
        "note": ["note"],
    }
    keys = draw(st.permutations(list(values)))
    obj = {draw(st.sampled_from(spellings[key])): values[key] for key in keys}
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " ", "\r"]))


@st.composite
def jsonl_documents(draw: st.DrawFn) -> Document:
    """JSON Lines from json.dumps: valid rows, broken rows and blank lines, interleaved."""
    ends = st.sampled_from(["\n", "\r\n"])
    blanks = st.sampled_from(["", " ", "\t", "\r", " \t "])
    lines: list[str] = []
    expected: list[Expected] = []
    for kind in draw(st.lists(st.sampled_from(["valid", "invalid", "blank"]), max_size=12)):
        number = len(lines) + 1
        if kind == "blank":
            lines.append(draw(blanks))
            continue
        workspace, pid, ids = draw(workspaces), draw(person_ids), draw(thumbnail_lists)
        values: dict[str, Any] = {
            "workspace": workspace,
            "person_id": pid if draw(st.booleans()) else str(pid),
        }
        if len(ids) == 1 and draw(st.booleans()):
            values["thumbnail_id"] = ids[0]
        else:
            values["thumbnail_ids"] = ids if draw(st.booleans()) else draw(id_texts(ids))
        if draw(st.booleans()):
            values["note"] = draw(notes)
        if kind == "valid":
            expected.append(Job(workspace, pid, tuple(ids), number))
            lines.append(draw(json_objects(values)))
            continue
        expected.append(number)
        how = draw(st.sampled_from(["value", "missing", "malformed", "text"]))
        if how == "malformed":
            lines.append(draw(st.sampled_from(MALFORMED_JSON)))
        elif how == "text":
            lines.append(draw(non_object_lines))
        else:
            values.pop("thumbnail_id", None)
            values.setdefault("thumbnail_ids", ids)
            field = draw(st.sampled_from(["workspace", "person_id", "thumbnail_ids"]))
            if how == "missing":
                del values[field]
            else:
                values[field] = draw(st.sampled_from(BAD_JSON_VALUES[field]))
            lines.append(draw(json_objects(values)))
    text = "".join(line + draw(ends) for line in lines)
    if draw(st.booleans()):  # the last line may lack its line end
        text = text.removesuffix("\n")
    first = next((line for line in lines if line.strip(JSON_WHITESPACE)), "")
    sniffable = first.lstrip(JSON_WHITESPACE).startswith("{")
    choices: list[tuple[str, InputFormat]] = [
        ("in.jsonl", "auto"),
        ("in.ndjson", "auto"),
        ("in.csv", "jsonl"),
    ]
    if sniffable:
        choices.append(("in", "auto"))
    name, fmt = draw(st.sampled_from(choices))
    return Document(text, name, fmt, ",", expected)


# --- properties: any input ------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=600), name=names, fmt=formats, delimiter=delimiters)
def test_any_bytes_give_records_or_input_error(
    data: bytes, name: str, fmt: InputFormat, delimiter: str
) -> None:
    """Any bytes give only valid jobs and invalid rows in line order, or an InputError."""
    check_invariants(read_file(data, name, fmt, delimiter))


@FUZZ
@given(prefix=prefixes, body=soup, name=names, fmt=formats, delimiter=delimiters)
def test_any_text_gives_records_or_input_error(
    prefix: str, body: str, name: str, fmt: InputFormat, delimiter: str
) -> None:
    """Any UTF-8 text, often behind a real header, gives only well-formed records or InputError."""
    check_invariants(read_file((prefix + body).encode(), name, fmt, delimiter))


@FUZZ
@given(
    rows=st.lists(st.lists(st.sampled_from(TOKENS) | st.text(max_size=6), max_size=5), max_size=10),
    delimiter=delimiters,
)
def test_any_csv_cells_give_records_or_input_error(rows: list[list[str]], delimiter: str) -> None:
    """Arbitrary cells written by the csv module under a proper header never crash the reader."""
    text = csv_line(["workspace", "person_id", "thumbnail_ids"], delimiter)
    text += "".join(csv_line(cells, delimiter) for cells in rows)
    records = read_file(text.encode(), "in.csv", "auto", delimiter)
    check_invariants(records)


# --- properties: no valid row dropped ---------------------------------------------------


@FUZZ
@given(document=csv_documents())
def test_csv_keeps_every_valid_row(document: Document) -> None:
    """CSV: valid rows come back in order, broken ones as one InvalidRow, on their start line."""
    records = read_file(document.text.encode(), document.name, document.fmt, document.delimiter)
    check_invariants(records)
    assert outcome(records) == document.expected


@FUZZ
@given(document=jsonl_documents())
def test_jsonl_keeps_every_valid_row(document: Document) -> None:
    """JSONL: valid rows come back in order, broken ones as one InvalidRow, on their line."""
    records = read_file(document.text.encode(), document.name, document.fmt)
    check_invariants(records)
    if not document.text:  # 0 bytes: what a failed producer leaves; refused
        assert len(records) == 1
        assert isinstance(records[0], InputError)
        assert "empty (0 bytes)" in str(records[0])
        return
    assert outcome(records) == document.expected


# --- boundaries found by fuzzing and probing ---------------------------------------------


@settings(max_examples=40, derandomize=True, database=None, deadline=None)
@given(
    zeros=st.integers(min_value=0, max_value=20_000),
    value=st.sampled_from([1, 42, MAX_ID]),
    where=st.sampled_from(["csv person_id", "csv thumbnail_ids", "jsonl person_id", "jsonl ids"]),
)
def test_zero_padded_ids_of_any_length(zeros: int, value: int, where: str) -> None:
    """An id spelled with any number of leading zeros is read as its value, never a crash."""
    digits = "0" * zeros + str(value)
    header = "workspace,person_id,thumbnail_ids\n"
    obj: dict[str, Any] = {"workspace": "w", "person_id": 5, "thumbnail_ids": [7]}
    if where == "csv person_id":
        text, expected = f"{header}w,{digits},7\n", Job("w", value, (7,), 2)
    elif where == "csv thumbnail_ids":
        text, expected = f"{header}w,5,{digits}\n", Job("w", 5, (value,), 2)
    elif where == "jsonl person_id":
        obj["person_id"] = digits
        text, expected = json.dumps(obj) + "\n", Job("w", value, (7,), 1)
    else:
        obj["thumbnail_ids"] = ["3", digits]
        text, expected = json.dumps(obj) + "\n", Job("w", 5, (3, value), 1)
    name = "in.csv" if where.startswith("csv") else "in.jsonl"
    assert read_file(text.encode(), name, "auto") == [expected]


@pytest.mark.parametrize(
    ("size", "ending", "accepted"),
    [
        (MAX_LINE_BYTES - 1, "\n", True),  # with its newline the line is exactly 1 MiB
        (MAX_LINE_BYTES, "", True),  # exactly 1 MiB, last line without a newline
        (MAX_LINE_BYTES + 1, "", False),
        (MAX_LINE_BYTES + 1, "\n", False),
    ],
)
def test_line_size_limit_boundary(size: int, ending: str, accepted: bool) -> None:
    """Only a physical line longer than 1 MiB makes the input unusable."""
    head = '{"workspace": "w", "person_id": 1, "thumbnail_ids": [1], "note": "'
    line = head + "x" * (size - len(head) - 2) + '"}'
    assert len(line.encode()) == size
    records = read_file((line + ending).encode(), "in.jsonl", "auto")
    if accepted:
        assert records == [Job("w", 1, (1,), 1)]
    else:
        assert len(records) == 1
        assert isinstance(records[0], InputError)
        assert "longer than 1 MiB" in str(records[0])


# --- the fast path for plain CSV rows ----------------------------------------------------
# Under a header of exactly workspace, person_id and thumbnail_id, rows of plain cells take a
# fast path; a header that also has a thumbnail_ids column (left empty here, which means no
# ids) sends every row through full validation. Reading one row under both headers compares
# the two paths through `read_jobs` alone, and an expectation written here from the rules
# (README: ids are ASCII digits, spaces around allowed) checks both against the spec.
FAST_HEADER = ["workspace", "person_id", "thumbnail_id"]
GENERAL_HEADER = [*FAST_HEADER, "thumbnail_ids"]

_CELL = st.one_of(
    st.integers(min_value=0, max_value=10**20).map(str),
    st.integers(min_value=0, max_value=999).map(lambda n: f"{n:05d}"),  # leading zeros
    st.sampled_from(["", " ", "0", "00", " 7", "7 ", "+7", "-7", "٣", "²", "1e3", "0x1f"]),
    st.text(max_size=6),
)


@FUZZ
@given(workspace=st.one_of(st.sampled_from(["w", " w ", "", "  "]), st.text(max_size=4)),
       person_id=_CELL, thumbnail_id=_CELL)  # fmt: skip
@example(workspace="w", person_id="٣", thumbnail_id="1")  # a digit, but not an ASCII one
@example(workspace="w", person_id="1", thumbnail_id="٣")
@example(workspace="w", person_id="1", thumbnail_id="²")
@example(workspace="w", person_id="1", thumbnail_id="0")  # thumbnail ids start at 1
@example(workspace="w", person_id="1", thumbnail_id="000")
@example(workspace="w", person_id="0", thumbnail_id="1")  # person ids start at 0
@example(workspace="w", person_id="9" * 19, thumbnail_id="1")  # over 2**63 - 1
@example(workspace="w", person_id="1", thumbnail_id="9" * 19)
@example(workspace="w", person_id="1", thumbnail_id="9" * 18)
@example(workspace=" w ", person_id=" 1", thumbnail_id="1 ")
def test_plain_row_fast_path_gives_what_the_general_path_gives(
    workspace: str, person_id: str, thumbnail_id: str
) -> None:
    """A row read under the fast path's header gives exactly what full validation gives (the
    same job, or an invalid row with the same reason), and a job only when the spec says so."""
    cells = [workspace, person_id, thumbnail_id]
    fast = read_file(csv_rows(FAST_HEADER, cells), "in.csv", "csv")
    general = read_file(csv_rows(GENERAL_HEADER, [*cells, ""]), "in.csv", "csv")
    assert fast == general
    check_invariants(fast)
    if not "".join(cells).strip():  # a blank row is skipped
        assert fast == []
        return
    expected = spec_job(workspace, person_id, thumbnail_id)
    if expected is None:
        assert len(fast) == 1
        assert isinstance(fast[0], InvalidRow)
        assert fast[0].line == 2
    else:
        assert fast == [expected]


def csv_rows(header: list[str], cells: list[str]) -> bytes:
    """A header and one row as the csv module writes them (ending in CRLF, so a cell holding a
    line break is quoted and the row still starts on line 2)."""
    return (csv_line(header, ",") + csv_line(cells, ",")).encode()


def spec_job(workspace: str, person_id: str, thumbnail_id: str) -> Job | None:
    """The job a one-row file gives for these cells by the documented rules, or None when the
    row is invalid: a workspace with text, a person id from 0 and a thumbnail id from 1, both at
    most 2**63 - 1, spelled in ASCII digits with spaces around allowed."""
    name = workspace.strip()
    pid = spec_id(person_id)
    tid = spec_id(thumbnail_id)
    if not name or pid is None or tid is None or tid == 0:
        return None
    return Job(name, pid, (tid,), 2)


def spec_id(cell: str) -> int | None:
    """The value of an id cell, or None when it is not one: ASCII digits only, spaces around
    allowed, and no more than 2**63 - 1."""
    text = cell.strip()
    if not text or not all("0" <= char <= "9" for char in text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
