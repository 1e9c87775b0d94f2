"""The clock formats of everything thumbsweep writes: one definition each.

Ledger records, progress lines and the lock's holder line carry ISO 8601 UTC times; run ids
start with a compact UTC stamp that sorts like the time; log lines carry the local time with
its offset, as the logging module formats it.
"""

from __future__ import annotations

import time

# ISO 8601 to the second, without a zone: the zone is added by each format below.
_ISO_SECOND = "%Y-%m-%dT%H:%M:%S"
# For `logging.Formatter` (local time, the offset as +HHMM), in text and JSON logs alike.
LOG_TIME_FORMAT = _ISO_SECOND + "%z"
_RUN_ID_STAMP = "%Y%m%dT%H%M%SZ"

_second_text: tuple[int, str] = (-1, "")  # the last whole second formatted, reused per record


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds, e.g. 2026-11-24T14:01:02.123Z."""
    global _second_text  # a one-entry cache: a ledger writes many records per second
    now = time.time()
    second = int(now)
    if second != _second_text[0]:
        _second_text = (second, time.strftime(_ISO_SECOND, time.gmtime(second)))
    return f"{_second_text[1]}.{int((now - second) * 1000):03d}Z"


def utc_now_iso_seconds() -> str:
    """The current time as ISO 8601 UTC to the second, e.g. 2026-11-24T14:01:02Z."""
    return time.strftime(_ISO_SECOND + "Z", time.gmtime())


def run_id_stamp() -> str:
    """The current UTC time as the start of a run id, e.g. 20261124T140102Z."""
    return time.strftime(_RUN_ID_STAMP, time.gmtime())


# The report's times (all UTC, the page says so once): a moment, to the minute, a day, and a
# time of day to the second or the minute (chart axes, the end of a run on its start's day).
REPORT_MOMENT = "%Y-%m-%d %H:%M:%S"
REPORT_MINUTE = "%Y-%m-%d %H:%M"
REPORT_DAY = "%Y-%m-%d"
REPORT_TIME = "%H:%M:%S"
REPORT_TIME_MINUTE = "%H:%M"


def utc_minute(unix_seconds: float) -> str:
    """The UTC minute a Unix time falls in, as ISO 8601, e.g. 2026-11-24T14:01:00Z."""
    return time.strftime(_ISO_SECOND[:-3] + ":00Z", time.gmtime(unix_seconds))
