"""The job input readers: CSV and JSON Lines into jobs or invalid rows, with line numbers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.e2e import read_ledger
from worker.errors import InputError
from worker.input.jobs import InputFormat, InvalidRow, Job, detect_format, read_jobs

MAX = 2**63 - 1
HEADER = "workspace,person_id,thumbnail_id\n"


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    """Write `content` to a file in tmp_path and return its path as a string."""
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return str(path)


def read(
    tmp_path: Path,
    content: str | bytes,
    name: str = "jobs.csv",
    fmt: InputFormat = "auto",
    delimiter: str = ",",
) -> list[Job | InvalidRow]:
    """All records of `content` written to a file called `name`."""
    return list(read_jobs(write(tmp_path, name, content), fmt, delimiter))


def set_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> io.BytesIO:
    """Make sys.stdin.buffer a BytesIO holding `data`, and return that buffer."""
    buffer = io.BytesIO(data)
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=buffer))
    return buffer


def only_error(records: list[Job | InvalidRow]) -> str:
    """The error of the single record, which must be an invalid row."""
    assert len(records) == 1
    record = records[0]
    assert isinstance(record, InvalidRow), record
    return record.error


# --- CSV: columns and id forms -------------------------------------------------------


def test_csv_basic_row(tmp_path: Path) -> None:
    """A plain CSV row becomes a job whose line is 2 (the header is line 1)."""
    assert read(tmp_path, HEADER + "w,1001,1234\n") == [Job("w", 1001, (1234,), 2)]


def test_csv_columns_any_order_case_and_spacing(tmp_path: Path) -> None:
    """Header names match regardless of order, case, surrounding spaces, inner spaces or hyphens."""
    content = " Thumbnail ID ,Person-Id,  WORKSPACE \n9,7,w1\n"
    assert read(tmp_path, content) == [Job("w1", 7, (9,), 2)]


@pytest.mark.parametrize(
    "cell",
    ["1;2;3", "1|2|3", "1 2 3", '"1,2,3"', '"[1, 2, 3]"', '" 1 ; 2| 3 "', '"[1, ""2"", 3]"'],
)
def test_csv_thumbnail_ids_forms(tmp_path: Path, cell: str) -> None:
    """A thumbnail_ids cell may separate ids by ; | comma or spaces, or be a JSON array."""
    content = f"workspace,person_id,thumbnail_ids\nw,1,{cell}\n"
    assert read(tmp_path, content) == [Job("w", 1, (1, 2, 3), 2)]


def test_csv_both_id_columns_combine_single_first(tmp_path: Path) -> None:
    """With both id columns, a row's ids are thumbnail_id's then thumbnail_ids', duplicates kept."""
    content = "thumbnail_ids,workspace,thumbnail_id,person_id\n5;6;5,w,4,1\n,w,8,2\n9,w,,3\n"
    assert read(tmp_path, content) == [
        Job("w", 1, (4, 5, 6, 5), 2),
        Job("w", 2, (8,), 3),
        Job("w", 3, (9,), 4),
    ]


def test_csv_extra_columns_ignored(tmp_path: Path) -> None:
    """Columns other than the known ones are ignored, whatever they hold."""
    content = "note,workspace,person_id,,thumbnail_id,x\nhello,w,1,junk,2,{\n"
    assert read(tmp_path, content) == [Job("w", 1, (2,), 2)]


def test_csv_values_are_stripped(tmp_path: Path) -> None:
    """Workspace and ids may carry spaces around them."""
    assert read(tmp_path, HEADER + "  w  , 42 , 7 \n") == [Job("w", 42, (7,), 2)]


# --- CSV: dialect ----------------------------------------------------------------------


def test_csv_excel_bom_and_crlf(tmp_path: Path) -> None:
    """An Excel export (UTF-8 BOM, CRLF line endings) reads cleanly, BOM not in the header."""
    content = b"\xef\xbb\xbfworkspace,person_id,thumbnail_id\r\nw,1,2\r\nv,3,4\r\n"
    assert read(tmp_path, content) == [Job("w", 1, (2,), 2), Job("v", 3, (4,), 3)]


def test_csv_rfc4180_quoting_and_line_numbers(tmp_path: Path) -> None:
    """Quoted delimiters, doubled quotes and a quoted newline parse; later lines keep numbering."""
    content = (
        "workspace,person_id,thumbnail_ids\r\n"
        '"a,b",1,"1,2"\r\n'
        '"say ""hi""",2,3\r\n'
        '"multi\r\nline",3,4\r\n'
        "w,4,5\r\n"
    )
    assert read(tmp_path, content) == [
        Job("a,b", 1, (1, 2), 2),
        Job('say "hi"', 2, (3,), 3),
        Job("multi\r\nline", 3, (4,), 4),
        Job("w", 4, (5,), 6),
    ]


@pytest.mark.parametrize(
    ("delimiter", "char"), [(";", ";"), ("\t", "\t"), ("tab", "\t"), ("\\t", "\t")]
)
def test_csv_semicolon_and_tab_delimiters(tmp_path: Path, delimiter: str, char: str) -> None:
    """Semicolon and tab delimiters work, tab also spelled `tab` or a literal backslash-t."""
    content = char.join(["workspace", "person_id", "thumbnail_ids"]) + "\n"
    content += char.join(["w,x", "1", "2,3"]) + "\n"
    assert read(tmp_path, content, delimiter=delimiter) == [Job("w,x", 1, (2, 3), 2)]


def test_csv_unsupported_delimiter_is_input_error(tmp_path: Path) -> None:
    """A delimiter other than , ; or tab is refused with an InputError."""
    with pytest.raises(InputError, match="delimiter"):
        read(tmp_path, HEADER, delimiter=":")


def test_csv_blank_lines_skipped_with_true_line_numbers(tmp_path: Path) -> None:
    """Empty lines, whitespace lines and all-empty rows are skipped; numbering still counts them."""
    content = "\n  \n" + HEADER + "\nw,1,2\n,,\n , ,\r\n\nw,3,4\n\n"
    assert read(tmp_path, content) == [Job("w", 1, (2,), 5), Job("w", 3, (4,), 9)]


def test_csv_lone_cr_line_endings(tmp_path: Path) -> None:
    """Old Mac files, whose lines end in a bare CR, read with correct line numbers."""
    content = "workspace,person_id,thumbnail_id\rw,1,2\r\rw,3,4\r"
    assert read(tmp_path, content) == [Job("w", 1, (2,), 2), Job("w", 3, (4,), 4)]


# --- CSV: invalid rows and unusable input ----------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (",1,2", "workspace is missing or empty"),
        ("   ,1,2", "workspace is missing or empty"),
        ("w,,2", "person_id is missing or empty"),
        ("w,1.0,2", "person_id '1.0' is not a non-negative 64-bit integer"),
        ("w,-1,2", "person_id '-1' is not a non-negative 64-bit integer"),
        ("w,1e3,2", "person_id '1e3' is not a non-negative 64-bit integer"),
        ("w,+1,2", "person_id '+1' is not a non-negative 64-bit integer"),
        ("w,abc,2", "person_id 'abc' is not a non-negative 64-bit integer"),
        (f"w,{MAX + 1},2", f"person_id '{MAX + 1}' is not a non-negative 64-bit integer"),
        ("w,1,abc", "thumbnail id 'abc' is not a positive 64-bit integer"),
        ("w,1,0", "thumbnail id '0' is not a positive 64-bit integer"),
        ("w,1,-5", "thumbnail id '-5' is not a positive 64-bit integer"),
        ("w,1,2.5", "thumbnail id '2.5' is not a positive 64-bit integer"),
        (f"w,1,{MAX + 1}", f"thumbnail id '{MAX + 1}' is not a positive 64-bit integer"),
        ("w,1,", "no thumbnail ids"),
    ],
)
def test_csv_invalid_rows(tmp_path: Path, row: str, expected: str) -> None:
    """Each validation rule turns a CSV row into an InvalidRow with a clear message."""
    records = read(tmp_path, HEADER + row + "\n")
    assert records == [InvalidRow(2, expected)]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1;x;3", "thumbnail id 'x' is not a positive 64-bit integer"),
        ('"[1, true]"', "thumbnail id true is not a positive 64-bit integer"),
        ('"[1, 2"', "thumbnail ids '[1, 2' are not a valid JSON array"),
        ('"[]"', "no thumbnail ids"),
        (";|", "no thumbnail ids"),
    ],
)
def test_csv_invalid_thumbnail_ids_cell(tmp_path: Path, cell: str, expected: str) -> None:
    """One bad id makes the whole row invalid; an empty list is invalid too."""
    records = read(tmp_path, f"workspace,person_id,thumbnail_ids\nw,1,{cell}\n")
    assert records == [InvalidRow(2, expected)]


def test_csv_64_bit_bounds(tmp_path: Path) -> None:
    """2**63-1 is accepted for both ids, 0 for the person; 2**63 is rejected."""
    content = HEADER + f"w,{MAX},{MAX}\nw,0,1\nw,1,{MAX + 1}\n"
    records = read(tmp_path, content)
    assert records[:2] == [Job("w", MAX, (MAX,), 2), Job("w", 0, (1,), 3)]
    assert isinstance(records[2], InvalidRow)
    assert records[2].line == 4


def test_csv_wrong_field_count(tmp_path: Path) -> None:
    """A row with more or fewer fields than the header is invalid, and reading goes on."""
    content = HEADER + "w,1\nw,1,2,3\nw,1,2\n"
    assert read(tmp_path, content) == [
        InvalidRow(2, "expected 3 fields, found 2"),
        InvalidRow(3, "expected 3 fields, found 4"),
        Job("w", 1, (2,), 4),
    ]


def test_csv_long_value_is_truncated_in_message(tmp_path: Path) -> None:
    """An offending value is shown cut to 40 characters, never in full."""
    error = only_error(read(tmp_path, HEADER + "w,1," + "x" * 500 + "\n"))
    assert "x" * 40 + "..." in error
    assert "x" * 41 not in error


def test_csv_missing_columns_is_input_error(tmp_path: Path) -> None:
    """A header without the needed columns names those missing and those found."""
    with pytest.raises(InputError) as caught:
        read(tmp_path, "workspace,person,thumb\nw,1,2\n")
    message = str(caught.value)
    assert "person_id, thumbnail_id or thumbnail_ids" in message
    assert "workspace, person, thumb" in message


def test_csv_wrong_delimiter_hint(tmp_path: Path) -> None:
    """A semicolon file read with commas fails with a hint about the delimiter."""
    with pytest.raises(InputError, match="wrong delimiter"):
        read(tmp_path, "workspace;person_id;thumbnail_id\nw;1;2\n")


def test_csv_repeated_column_is_input_error(tmp_path: Path) -> None:
    """Two columns meaning the same field make the input ambiguous, so it is refused."""
    with pytest.raises(InputError, match="person_id more than once"):
        read(tmp_path, "workspace,person_id,Person ID,thumbnail_id\nw,1,2,3\n")


@pytest.mark.parametrize(
    ("content", "name"),
    [
        ("\n\n", "jobs.csv"),
        (" \r\n,,\r\n\t\n", "jobs.csv"),
        ("\n \r\n\t\n", "jobs.jsonl"),
        ("\n\n", "-"),
    ],
)
def test_empty_input_yields_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, name: str
) -> None:
    """An input of blank lines only yields no records and no error (0 bytes is an error:
    tests/test_exit_contract.py)."""
    if name == "-":
        set_stdin(monkeypatch, content.encode())
        assert list(read_jobs("-")) == []
    else:
        assert read(tmp_path, content, name=name) == []


def test_csv_oversized_field_is_invalid_row(tmp_path: Path) -> None:
    """A field beyond the csv size limit on one line is an invalid row, not a traceback."""
    content = HEADER + "w,1," + "9" * 200_000 + "\nw,1,2\n"
    records = read(tmp_path, content)
    assert records[1:] == [Job("w", 1, (2,), 3)]
    assert isinstance(records[0], InvalidRow)
    assert records[0].line == 2
    assert "field limit" in records[0].error


def test_csv_unclosed_quote_swallowing_lines_is_input_error(tmp_path: Path) -> None:
    """An unclosed quote that runs past the field limit across lines makes the input unusable."""
    content = HEADER + 'w,1,"2\n' + "w,1,2\n" * 30_000
    with pytest.raises(InputError, match="closing quote"):
        read(tmp_path, content)


# --- JSON Lines --------------------------------------------------------------------------


def test_jsonl_ints_and_digit_strings(tmp_path: Path) -> None:
    """Ids may be JSON integers or strings of digits; keys match like CSV columns."""
    lines = [
        {"workspace": "w", "person_id": 1001, "thumbnail_ids": [1234, 1235]},
        {"Workspace ": " v ", "Person-ID": " 7 ", "thumbnail_id": "99"},
        {"workspace": "w", "person_id": "0", "thumbnail_ids": "1;2|3 4,5"},
        {"workspace": "w", "person_id": 1, "thumbnail_id": 9, "thumbnail_ids": ["8", 9]},
        {"workspace": "w", "person_id": 1, "thumbnail_id": None, "thumbnail_ids": [3]},
        {"workspace": "w", "person_id": 2, "thumbnail_ids": 6, "extra": {"a": [1]}},
    ]
    content = "\n".join(json.dumps(line) for line in lines) + "\n"
    assert read(tmp_path, content, name="jobs.jsonl") == [
        Job("w", 1001, (1234, 1235), 1),
        Job("v", 7, (99,), 2),
        Job("w", 0, (1, 2, 3, 4, 5), 3),
        Job("w", 1, (9, 8, 9), 4),
        Job("w", 1, (3,), 5),
        Job("w", 2, (6,), 6),
    ]


def test_jsonl_blank_lines_and_crlf(tmp_path: Path) -> None:
    """Blank lines are skipped, CRLF endings are fine, and line numbers stay physical."""
    line = '{"workspace":"w","person_id":1,"thumbnail_id":2}'
    content = f"\r\n  \r\n{line}\r\n\r\n{line}"
    assert read(tmp_path, content, name="jobs.ndjson") == [
        Job("w", 1, (2,), 3),
        Job("w", 1, (2,), 5),
    ]


def test_jsonl_64_bit_bounds(tmp_path: Path) -> None:
    """2**63-1 is accepted as an integer and as a string; 2**63 is rejected both ways."""
    content = (
        f'{{"workspace":"w","person_id":{MAX},"thumbnail_ids":[{MAX},"{MAX}"]}}\n'
        f'{{"workspace":"w","person_id":1,"thumbnail_id":{MAX + 1}}}\n'
        f'{{"workspace":"w","person_id":"{MAX + 1}","thumbnail_id":1}}\n'
    )
    assert read(tmp_path, content, name="jobs.jsonl") == [
        Job("w", MAX, (MAX, MAX), 1),
        InvalidRow(2, f"thumbnail id {MAX + 1} is not a positive 64-bit integer"),
        InvalidRow(3, f"person_id '{MAX + 1}' is not a non-negative 64-bit integer"),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"workspace": "w", "person_id": 1', "invalid JSON: "),
        ("not json", "invalid JSON: "),
        ("[1, 2]", "expected a JSON object, found array"),
        ('"text"', "expected a JSON object, found string"),
        ("42", "expected a JSON object, found number"),
        ("null", "expected a JSON object, found null"),
        ('{"person_id": 1, "thumbnail_id": 2}', "workspace is missing or empty"),
        ('{"workspace": " ", "person_id": 1, "thumbnail_id": 2}', "workspace is missing or empty"),
        ('{"workspace": 5, "person_id": 1, "thumbnail_id": 2}', "workspace must be a string"),
        ('{"workspace": "w", "thumbnail_id": 2}', "person_id is missing or empty"),
        ('{"workspace": "w", "person_id": true, "thumbnail_id": 2}', "person_id true is not"),
        ('{"workspace": "w", "person_id": 1.0, "thumbnail_id": 2}', "person_id 1.0 is not"),
        ('{"workspace": "w", "person_id": -1, "thumbnail_id": 2}', "person_id -1 is not"),
        ('{"workspace": "w", "person_id": "1.0", "thumbnail_id": 2}', "person_id '1.0' is not"),
        ('{"workspace": "w", "person_id": "+1", "thumbnail_id": 2}', "person_id '+1' is not"),
        ('{"workspace": "w", "person_id": [1], "thumbnail_id": 2}', "person_id [...] is not"),
        ('{"workspace": "w", "person_id": 1, "thumbnail_id": true}', "thumbnail id true is not"),
        ('{"workspace": "w", "person_id": 1, "thumbnail_id": 2.0}', "thumbnail id 2.0 is not"),
        ('{"workspace": "w", "person_id": 1, "thumbnail_id": 0}', "thumbnail id 0 is not"),
        ('{"workspace": "w", "person_id": 1, "thumbnail_id": "abc"}', "thumbnail id 'abc' is not"),
        ('{"workspace": "w", "person_id": 1, "thumbnail_ids": [1, false]}', "thumbnail id false"),
        ('{"workspace": "w", "person_id": 1, "thumbnail_ids": [1, {}]}', "thumbnail id {...}"),
        ('{"workspace": "w", "person_id": 1, "thumbnail_ids": []}', "no thumbnail ids"),
        ('{"workspace": "w", "person_id": 1}', "no thumbnail ids"),
        ('{"workspace": "w", "workspace": "v", "person_id": 1}', "invalid JSON: duplicate key"),
        ('{"workspace": "w", "Workspace": "v", "person_id": 1}', "key workspace appears more"),
        ("[" * 100_000, "invalid JSON: nested too deeply"),
        ('{"person_id": ' + "1" * 5000 + "}", "invalid JSON: number too long"),
    ],
)
def test_jsonl_invalid_rows(tmp_path: Path, line: str, expected: str) -> None:
    """Each JSON Lines rule turns a bad line into an InvalidRow with a clear message."""
    error = only_error(read(tmp_path, line + "\n", name="jobs.jsonl"))
    assert error.startswith(expected), error
    assert len(error) < 120


@pytest.mark.parametrize("workspace", ["\\ud800", "a\\udfffb", "\\udbff\\ud800"])
def test_jsonl_workspace_with_lone_surrogate_is_invalid_row(tmp_path: Path, workspace: str) -> None:
    """A workspace that is not valid Unicode text (a lone surrogate escape) is an invalid row
    whose error shows it escaped; the next row is still read."""
    good = '{"workspace":"w","person_id":1,"thumbnail_id":2}'
    content = f'{{"workspace":"{workspace}","person_id":1,"thumbnail_id":2}}\n{good}\n'
    records = read(tmp_path, content, name="jobs.jsonl")
    assert records[1] == Job("w", 1, (2,), 2)
    error = only_error(records[:1])
    assert error.startswith("workspace "), error
    assert "lone surrogate" in error
    assert f"'{workspace}'" in error
    error.encode("utf-8")  # shown escaped, so it can be written anywhere


async def test_dry_run_on_lone_surrogate_workspace_records_invalid_row(tmp_path: Path) -> None:
    """`run --dry-run` on such a JSONL row exits 1 with an invalid record and no traceback."""
    source = tmp_path / "jobs.jsonl"
    source.write_text(
        '{"workspace":"\\ud800","person_id":1,"thumbnail_id":2}\n'
        '{"workspace":"w","person_id":1,"thumbnail_id":3}\n'
    )
    ledger = tmp_path / "ledger.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THUMBSWEEP_", "NCLOUD_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "run", str(source), "--ledger", str(ledger), "--dry-run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 4, stderr.decode()  # the invalid row needs a person
    assert b"Traceback" not in stderr
    records = read_ledger(ledger)
    assert [r["status"] for r in records] == ["invalid", "dry_run"]
    assert records[0]["line"] == 1
    assert "'\\ud800'" in records[0]["error"]


def test_jsonl_bad_line_does_not_stop_reading(tmp_path: Path) -> None:
    """A broken line is reported and the following lines are still read."""
    content = '{oops\n{"workspace":"w","person_id":1,"thumbnail_id":2}\n'
    records = read(tmp_path, content, name="jobs.jsonl")
    assert isinstance(records[0], InvalidRow)
    assert records[0].line == 1
    assert records[1] == Job("w", 1, (2,), 2)


# --- unreadable input ----------------------------------------------------------------


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    """A missing file raises InputError naming it and the reason."""
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(InputError) as caught:
        list(read_jobs(missing))
    assert str(caught.value) == f"cannot read input {missing!r}: No such file or directory"


def test_directory_is_input_error(tmp_path: Path) -> None:
    """A directory given as input raises InputError, not IsADirectoryError."""
    with pytest.raises(InputError, match="Is a directory"):
        list(read_jobs(str(tmp_path)))


@pytest.mark.parametrize("name", ["jobs.csv", "jobs.jsonl"])
def test_non_utf8_is_input_error_with_line(tmp_path: Path, name: str) -> None:
    """Bytes that are not UTF-8 raise InputError from the iterator, naming the line."""
    good = (
        HEADER + "w,1,2\n"
        if name.endswith(".csv")
        else '{"workspace":"w","person_id":1,"thumbnail_id":2}\n' * 2
    )
    path = write(tmp_path, name, good.encode() + b"w,1,\xff\xfe\n")
    records = read_jobs(path)
    assert isinstance(next(records), Job)
    with pytest.raises(InputError, match=r"not valid UTF-8 \(line 3\)"):
        list(records)


def test_overlong_line_is_input_error(tmp_path: Path) -> None:
    """A physical line over 1 MiB makes the input unusable instead of eating memory."""
    with pytest.raises(InputError, match="longer than 1 MiB"):
        read(tmp_path, "x" * (2 << 20), name="jobs.jsonl")


def test_unknown_format_is_input_error(tmp_path: Path) -> None:
    """A format other than auto, csv or jsonl is refused."""
    with pytest.raises(InputError, match="unknown input format"):
        list(read_jobs(write(tmp_path, "a.csv", HEADER), "xml", ","))  # type: ignore[arg-type]


# --- format detection --------------------------------------------------------------------


JSON_LINE = '{"workspace": "w", "person_id": 1, "thumbnail_id": 2}\n'


@pytest.mark.parametrize(
    ("source", "fmt", "head", "expected"),
    [
        ("a.JSONL", "auto", b"workspace", "jsonl"),
        ("a.ndjson", "auto", b"", "jsonl"),
        ("a.Csv", "auto", b"{", "csv"),
        ("a.txt", "auto", b"\xef\xbb\xbf  {", "jsonl"),
        ("-", "auto", b"workspace,person_id", "csv"),
        ("-", "auto", b"", "csv"),
        ("a.jsonl", "csv", b"{", "csv"),
        ("a.csv", "jsonl", b"w", "jsonl"),
    ],
)
def test_detect_format(source: str, fmt: InputFormat, head: bytes, expected: str) -> None:
    """An explicit format wins, then the extension, then the first non-blank bytes."""
    assert detect_format(source, fmt, head) == expected


def test_auto_by_extension(tmp_path: Path) -> None:
    """A .jsonl file is read as JSON Lines and a .csv file as CSV, whatever they start with."""
    assert read(tmp_path, JSON_LINE, name="Jobs.JSONL") == [Job("w", 1, (2,), 1)]
    with pytest.raises(InputError, match="lacks the column"):
        read(tmp_path, JSON_LINE, name="jobs.csv")


def test_auto_sniffs_other_file_names(tmp_path: Path) -> None:
    """A file with another extension is sniffed like standard input."""
    assert read(tmp_path, "\n" + JSON_LINE, name="jobs.txt") == [Job("w", 1, (2,), 2)]
    assert read(tmp_path, HEADER + "w,1,2\n", name="jobs") == [Job("w", 1, (2,), 2)]


def test_stdin_sniffed_as_csv_keeps_first_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV on stdin is detected and its header (the peeked bytes) is still parsed."""
    buffer = set_stdin(monkeypatch, b"\xef\xbb\xbf\r\n" + (HEADER + "w,1,2\n").encode())
    assert list(read_jobs("-")) == [Job("w", 1, (2,), 3)]
    assert not buffer.closed


def test_stdin_sniffed_as_jsonl_keeps_first_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON Lines on stdin is detected and its first line (the peeked bytes) is still a job."""
    set_stdin(monkeypatch, b"\n  \n" + (JSON_LINE * 2).encode())
    assert list(read_jobs("-")) == [Job("w", 1, (2,), 3), Job("w", 1, (2,), 4)]


def test_stdin_explicit_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit format on stdin skips sniffing."""
    set_stdin(monkeypatch, JSON_LINE.encode())
    assert list(read_jobs("-", "jsonl")) == [Job("w", 1, (2,), 1)]


def test_stdin_unavailable_is_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a standard input (sys.stdin is None) reading '-' raises InputError."""
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match="standard input"):
        list(read_jobs("-"))
