"""The results ledger: JSON Lines and CSV records, appending, torn lines, formula safety."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.e2e import write_ledger
from worker.errors import ConfigError
from worker.records.ledger import SYNC_EVERY_RECORDS, SYNC_EVERY_SECONDS, Ledger
from worker.records.record import (
    CSV_COLUMNS,
    INVALID_FIELDS,
    REQUEST_FIELDS,
    LedgerRecord,
    Status,
    json_line,
    unescape_csv_cell,
)

DELETED = LedgerRecord(
    run_id="r1", status="deleted", workspace="w", person_id=7, thumbnail_ids=(1, 2),
    http_status=200, code="0", message="success", attempts=1, elapsed_ms=12,
    remaining_thumbnail_ids=(9,), primary_thumbnail_id=9,
)  # fmt: skip
INVALID = LedgerRecord(run_id="r1", status="invalid", line=4, error="bad id 'x'")


def test_jsonl_has_documented_fields(tmp_path: Path) -> None:
    """Request records carry the request fields; invalid ones carry line and error instead."""
    path = tmp_path / "l.jsonl"
    write_ledger(path, DELETED, INVALID)
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert tuple(first) == REQUEST_FIELDS
    assert first["thumbnail_ids"] == [1, 2]
    assert first["remaining_thumbnail_ids"] == [9]
    assert first["ts"].endswith("Z")
    assert tuple(second) == INVALID_FIELDS
    assert second["line"] == 4


def test_appends_never_truncates(tmp_path: Path) -> None:
    """A second run appends to the same ledger."""
    path = tmp_path / "l.jsonl"
    write_ledger(path, DELETED)
    write_ledger(path, INVALID)
    assert len(path.read_text().splitlines()) == 2


def test_torn_last_line_is_cut_off_before_appending(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A half-written line from a crash is dropped with a warning; complete lines stay."""
    path = tmp_path / "l.jsonl"
    write_ledger(path, INVALID)
    with path.open("a") as handle:
        handle.write('{"ts": "half')
    write_ledger(path, DELETED)
    lines = path.read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["invalid", "deleted"]
    assert "dropped a torn last line (12 bytes)" in caplog.text


def test_csv_same_columns_lists_joined_and_header_once(tmp_path: Path) -> None:
    """The CSV ledger has one header, the same columns, and lists joined by ';'."""
    path = tmp_path / "l.csv"
    write_ledger(path, DELETED)
    write_ledger(path, INVALID)
    rows = list(csv.reader(path.read_text().splitlines()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 3
    deleted = dict(zip(rows[0], rows[1], strict=True))
    assert deleted["thumbnail_ids"] == "1;2"
    assert deleted["status"] == "deleted"
    invalid = dict(zip(rows[0], rows[2], strict=True))
    assert (invalid["line"], invalid["status"]) == ("4", "invalid")


def test_csv_cells_are_safe_from_formula_injection(tmp_path: Path) -> None:
    """Text cells that a spreadsheet would evaluate are prefixed with a quote."""
    path = tmp_path / "l.csv"
    evil = LedgerRecord(
        run_id="r", status="failed", workspace="=HYPERLINK(1)", person_id=1,
        thumbnail_ids=(1,), message="@SUM(A1)",
    )  # fmt: skip
    write_ledger(path, evil, LedgerRecord(run_id="r", status="invalid", line=2, error="-1+1"))
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert rows[0]["workspace"] == "'=HYPERLINK(1)"
    assert rows[0]["message"] == "'@SUM(A1)"
    assert rows[1]["error"] == "'-1+1"


def test_csv_with_foreign_header_is_refused(tmp_path: Path) -> None:
    """Appending to a CSV with other columns is a clear configuration error."""
    path = tmp_path / "l.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="other columns"):
        Ledger(path).open()


def test_unwritable_ledger_is_a_config_error(tmp_path: Path) -> None:
    """A ledger in a missing directory fails with one clear line."""
    with pytest.raises(ConfigError, match="cannot open ledger"):
        Ledger(tmp_path / "missing" / "l.jsonl").open()


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The file descriptors fsynced from now on (each fsync still happens)."""
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    return synced


def test_fsync_runs_periodically_not_only_at_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long runs are fsynced every SYNC_EVERY_RECORDS records, and again at close."""
    synced = _count_fsyncs(monkeypatch)
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.open()
    for _ in range(SYNC_EVERY_RECORDS * 2 + 5):
        ledger.write_many([DELETED])
        ledger.wait_for_sync()
    assert len(synced) >= 2
    ledger.close()
    assert len(synced) >= 3


def test_a_fast_run_is_fsynced_about_every_second_not_back_to_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """7,000 records in well under a second, in writes of ten as a fast run's event-loop turns
    hand them over, with each fsync finished before the next write: one periodic fsync at most
    (plus the one at close), not one per thousand records (each wakes the helper thread and
    takes the GIL from the event loop)."""
    synced = _count_fsyncs(monkeypatch)
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.open()
    started = time.monotonic()
    for _ in range(700):
        ledger.write_many([DELETED] * 10)
        ledger.wait_for_sync()
    assert time.monotonic() - started < SYNC_EVERY_SECONDS  # else the second may have fired
    assert len(synced) <= 1
    ledger.close()
    assert len(synced) <= 2


def test_each_record_is_on_disk_before_close(tmp_path: Path) -> None:
    """A record can be read back while the ledger is still open (a SIGKILL would keep it)."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.open()
    ledger.write_many([DELETED])
    assert json.loads(path.read_text())["status"] == "deleted"
    ledger.close()


_texts = st.none() | st.text()
_ids = st.tuples() | st.lists(st.integers(min_value=0, max_value=2**63 - 1), max_size=5).map(tuple)


@settings(max_examples=300, deadline=None)
@given(
    run_id=st.text(min_size=1),
    status=st.sampled_from(["deleted", "failed", "skipped", "dry_run"]),
    workspace=_texts,
    person_id=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    thumbnail_ids=_ids,
    http_status=st.none() | st.integers(min_value=100, max_value=599),
    code=_texts,
    message=_texts,
    attempts=st.integers(min_value=0, max_value=20),
    elapsed_ms=st.none() | st.integers(min_value=0, max_value=10**7),
    remaining=st.none() | _ids,
    primary=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    retryable=st.none() | st.booleans(),
)
def test_json_line_is_exactly_what_json_would_encode(
    run_id: str,
    status: Status,
    workspace: str | None,
    person_id: int | None,
    thumbnail_ids: tuple[int, ...],
    http_status: int | None,
    code: str | None,
    message: str | None,
    attempts: int,
    elapsed_ms: int | None,
    remaining: tuple[int, ...] | None,
    primary: int | None,
    retryable: bool | None,
) -> None:
    """The hand-assembled line equals json's encoding of the record's fields, for any text
    (quotes, backslashes, control characters, non-ASCII) and any field left empty."""
    record = LedgerRecord(
        run_id, status, workspace, person_id, thumbnail_ids, http_status, code, message,
        attempts, elapsed_ms, remaining, primary, retryable,
    )  # fmt: skip
    ts = "2026-11-24T14:01:02.123Z"
    expected = json.dumps(record.as_dict(ts), ensure_ascii=False, separators=(",", ":"))
    line = json_line(record, ts)
    assert line == expected + "\n"
    assert json.loads(line) == record.as_dict(ts)


# Text as hostile as a workspace, a wire message or an input row can carry: lone surrogates
# (JSON input can spell them "\\ud800"), NUL and other controls, line separators that
# str.splitlines() would split on, quotes, backslashes and spreadsheet formula prefixes.
_HOSTILE = "\ud800\udfff\x00\r\n\u2028\u2029\x85\x1c\x1d\x1e\x0b\x0c\"',;\\=+-@'\t"
_any_text = st.text(st.characters(exclude_categories=()) | st.sampled_from(_HOSTILE), max_size=12)
_any_texts = st.none() | _any_text


def as_json_reads(value: object) -> object:
    """What a JSON reader gives back for `value`: JSON cannot tell a high surrogate followed by
    a low one from the character the pair encodes, so such pairs read back joined."""
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return value


_records = st.builds(
    LedgerRecord,
    run_id=_any_text,
    status=st.sampled_from(["deleted", "failed", "skipped", "dry_run", "invalid"]),
    workspace=_any_texts,
    person_id=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    thumbnail_ids=_ids,
    http_status=st.none() | st.integers(min_value=100, max_value=599),
    code=_any_texts,
    message=_any_texts,
    remaining_thumbnail_ids=st.none() | _ids,
    line=st.none() | st.integers(min_value=1, max_value=10**9),
    error=_any_texts,
)


def test_lone_surrogate_is_written_as_a_json_escape(tmp_path: Path) -> None:
    """A lone surrogate (which UTF-8 cannot hold) is written as a \\udXXX escape and reads back."""
    path = tmp_path / "l.jsonl"
    record = DELETED._replace(message="gone \ud800 here", code="\udfff")
    write_ledger(path, record, INVALID._replace(error="bad \udc80"))
    data = path.read_bytes()
    assert b"gone \\ud800 here" in data
    first, second = (json.loads(line) for line in data.split(b"\n")[:2])
    assert (first["message"], first["code"], second["error"]) == (
        "gone \ud800 here", "\udfff", "bad \udc80",
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(records=st.lists(_records, min_size=1, max_size=5))
def test_jsonl_ledger_reads_back_exactly_whatever_the_text(
    tmp_path_factory: pytest.TempPathFactory, records: list[LedgerRecord]
) -> None:
    """Any record, whatever its text, is written without error as one line (split on "\\n"
    only) whose JSON equals the record's fields."""
    path = tmp_path_factory.mktemp("jsonl") / "l.jsonl"
    write_ledger(path, *records)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == len(records) + 1
    for line, record in zip(lines, records, strict=False):
        read = json.loads(line.decode("utf-8"))
        expected = {key: as_json_reads(value) for key, value in record.as_dict(read["ts"]).items()}
        assert read == expected


@settings(max_examples=300, deadline=None)
@given(records=st.lists(_records, min_size=1, max_size=5))
def test_csv_ledger_reads_back_exactly_whatever_the_text(
    tmp_path_factory: pytest.TempPathFactory, records: list[LedgerRecord]
) -> None:
    """Any record, whatever its text (lone surrogates and CR included), is written without
    error as one CSV record that the csv module and unescape_csv_cell read back exactly."""
    path = tmp_path_factory.mktemp("csv") / "l.csv"
    write_ledger(path, *records)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(records) + 1
    for row, record in zip(rows[1:], records, strict=True):
        fields = dict(zip(CSV_COLUMNS, row, strict=True))
        for name, value in record.as_dict(fields["ts"]).items():
            if isinstance(value, str):
                assert unescape_csv_cell(fields[name]) == value, name


def test_csv_shows_a_lone_surrogate_visibly(tmp_path: Path) -> None:
    """A CSV cell holding a lone surrogate shows it as \\udXXX text and stays formula-safe."""
    path = tmp_path / "l.csv"
    write_ledger(path, DELETED._replace(message="=bad \ud800 \\ here"))
    with path.open(encoding="utf-8", newline="") as handle:
        row = dict(zip(CSV_COLUMNS, list(csv.reader(handle))[1], strict=True))
    assert row["message"] == "'\\=bad \\ud800 \\\\ here"
