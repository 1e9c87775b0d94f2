"""The clock formats: their exact shape, and that worker/clock.py is their only definition."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from worker import clock

WORKER = Path(clock.__file__).resolve().parent


def test_utc_now_iso_has_milliseconds_and_z() -> None:
    """Ledger and progress times read like 2026-11-24T14:01:02.123Z and are now, in UTC."""
    before = time.time()
    text = clock.utc_now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), text
    parsed = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    assert abs(time.mktime(parsed) - time.mktime(time.gmtime(before))) <= 1


def test_utc_now_iso_seconds_has_no_fraction() -> None:
    """The lock's holder line reads like 2026-11-24T14:01:02Z."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", clock.utc_now_iso_seconds())


def test_run_id_stamp_is_compact_utc() -> None:
    """A run id starts with a stamp like 20261124T140102Z, which sorts like the time."""
    before = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    stamp = clock.run_id_stamp()
    after = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp), stamp
    assert before <= stamp <= after


def test_log_time_format_is_iso_with_offset() -> None:
    """Log lines carry ISO 8601 local time with its +HHMM offset."""
    text = time.strftime(clock.LOG_TIME_FORMAT, time.localtime(0))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", text), text


@pytest.mark.parametrize(
    "path", sorted(WORKER.rglob("*.py")), ids=lambda path: str(path.relative_to(WORKER))
)
def test_no_other_module_formats_a_clock(path: Path) -> None:
    """strftime-style time formats appear in worker/clock.py alone."""
    if path.name == "clock.py" and path.parent == WORKER:
        return
    assert not re.search(r"%Y|%H:%M|%H%M%S", path.read_text()), path
