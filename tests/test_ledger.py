"""The results ledger: JSON Lines and CSV records, appending, torn lines, formula safety."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.e2e import write_ledger
from worker.errors import ConfigError
from worker.ledger import (
    CSV_COLUMNS,
    INVALID_FIELDS,
    REQUEST_FIELDS,
    SYNC_EVERY_RECORDS,
    Ledger,
    LedgerRecord,
    Status,
    json_line,
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


def test_fsync_runs_periodically_not_only_at_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long runs are fsynced every SYNC_EVERY_RECORDS records, and again at close."""
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.open()
    for _ in range(SYNC_EVERY_RECORDS * 2 + 5):
        ledger.write(DELETED)
        ledger.wait_for_sync()
    assert len(synced) >= 2
    ledger.close()
    assert len(synced) >= 3


def test_each_record_is_on_disk_before_close(tmp_path: Path) -> None:
    """A record can be read back while the ledger is still open (a SIGKILL would keep it)."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.open()
    ledger.write(DELETED)
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
) -> None:
    """The hand-assembled line equals json's encoding of the record's fields, for any text
    (quotes, backslashes, control characters, non-ASCII) and any field left empty."""
    record = LedgerRecord(
        run_id, status, workspace, person_id, thumbnail_ids, http_status, code, message,
        attempts, elapsed_ms, remaining, primary,
    )  # fmt: skip
    ts = "2026-11-24T14:01:02.123Z"
    expected = json.dumps(record.as_dict(ts), ensure_ascii=False, separators=(",", ":"))
    line = json_line(record, ts)
    assert line == expected + "\n"
    assert json.loads(line) == record.as_dict(ts)
