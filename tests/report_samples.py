"""Report dicts built by hand after the report contract (issue 13): realistic, empty, hostile.

The HTML renderer takes the same JSON-ready dict that `thumbsweep report --format json` prints;
these stand in for it, so the page can be tested before (and apart from) the ledger reader.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# Three runs: a nightly run stopped by SIGTERM, its --resume, and a dry run the next morning.
_NIGHT = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _points(
    start: datetime, deleted: list[int], retries: list[int], throttled: list[int]
) -> list[dict[str, Any]]:
    return [
        {
            "t": _ts(start + timedelta(minutes=i))[:16] + ":00Z",
            "deleted": d,
            "retries": r,
            "throttled": t,
        }
        for i, (d, r, t) in enumerate(zip(deleted, retries, throttled, strict=True))
    ]


def realistic_report() -> dict[str, Any]:
    """A report over three runs with failures, resumable ids, invalid rows and latencies."""
    first = [380, 1290, 1350, 1310, 1335, 1120, 640, 1280, 1342, 1301, 1290, 870]
    first_retries = [2, 6, 9, 4, 3, 31, 58, 12, 5, 4, 6, 3]
    first_429 = [0, 1, 2, 0, 0, 22, 41, 6, 1, 0, 1, 0]
    second = [910, 1188, 402]
    second_retries = [1, 3, 0]
    second_429 = [0, 1, 0]
    deleted_first, deleted_second = sum(first), sum(second)
    deleted = deleted_first + deleted_second
    runs = [
        {
            "run_id": "20261130T010000Z-6827ab",
            "ledgers": ["nightly.jsonl"],
            "started": _ts(_NIGHT),
            "ended": _ts(_NIGHT + timedelta(minutes=11, seconds=41.5)),
            "duration_s": 701.5,
            "ids": {"deleted": deleted_first, "failed": 64, "skipped": 2500, "dry_run": 0},
            "records": deleted_first + 64 + 2500 + 3,
            "invalid_rows": 3,
            "requests": deleted_first + 64 + sum(first_retries),
            "retries": sum(first_retries),
            "throttled": sum(first_429),
            "ids_per_second": round(deleted_first / 701.5, 1),
            "exit_code": 5,
            "host": "mi.apigw.ntruss.com",
            "dry_run": False,
        },
        {
            "run_id": "20261130T013000Z-91c0de",
            "ledgers": ["nightly.jsonl"],
            "started": _ts(_NIGHT + timedelta(minutes=30)),
            "ended": _ts(_NIGHT + timedelta(minutes=32, seconds=48.25)),
            "duration_s": 168.25,
            "ids": {"deleted": deleted_second, "failed": 40, "skipped": 0, "dry_run": 0},
            "records": deleted_second + 40,
            "invalid_rows": 0,
            "requests": deleted_second + 40 + sum(second_retries),
            "retries": sum(second_retries),
            "throttled": sum(second_429),
            "ids_per_second": round(deleted_second / 168.25, 1),
            "exit_code": 4,
            "host": "mi.apigw.ntruss.com",
            "dry_run": False,
        },
        {
            "run_id": "20261130T080500Z-0badf0",
            "ledgers": ["check.csv"],
            "started": _ts(_NIGHT + timedelta(hours=7, minutes=5)),
            "ended": _ts(_NIGHT + timedelta(hours=7, minutes=5, seconds=2)),
            "duration_s": 2.0,
            "ids": {"deleted": 0, "failed": 0, "skipped": 0, "dry_run": 60},
            "records": 60,
            "invalid_rows": 0,
            "requests": 0,
            "retries": 0,
            "throttled": None,
            "ids_per_second": None,
            "exit_code": None,
            "host": None,
            "dry_run": True,
        },
    ]
    ids = deleted + 40 + 60
    return {
        "report_version": 1,
        "generated_at": "2026-11-30T09:00:00.000Z",
        "ledgers": ["nightly.jsonl", "check.csv"],
        "headline": {
            "ids": ids,
            "deleted": deleted,
            "needs_person": 40,
            "resumable": 60,
            "invalid_rows": 3,
            "runs": 3,
            "first_ts": runs[0]["started"],
            "last_ts": runs[2]["ended"],
        },
        "final_status": {"deleted": deleted, "failed": 40, "skipped": 0, "dry_run": 60},
        "runs": runs,
        "left": {
            "needs_person": [
                {
                    "status": "failed",
                    "http_status": 400,
                    "code": "3003",
                    "message": "cannot remove every thumbnail of a person",
                    "count": 31,
                    "examples": [
                        {"workspace": "faces-kr", "person_id": 7001 + i, "thumbnail_id": 70010 + i}
                        for i in range(5)
                    ],
                },
                {
                    "status": "failed",
                    "http_status": 404,
                    "code": "3001",
                    "message": "person not found",
                    "count": 9,
                    "examples": [{"workspace": "faces-kr", "person_id": 9100, "thumbnail_id": 91}],
                },
                {
                    "status": "invalid",
                    "http_status": None,
                    "code": None,
                    "message": "person_id is not an integer",
                    "count": 3,
                    "examples": [
                        {"ledger": "nightly.jsonl", "line": 12},
                        {"ledger": "nightly.jsonl", "line": 4410},
                    ],
                },
            ],
            "resumable": [
                {
                    "status": "dry_run",
                    "http_status": None,
                    "code": None,
                    "message": "dry run: not sent",
                    "count": 60,
                    "examples": [
                        {"workspace": "faces-jp", "person_id": 31, "thumbnail_id": 310 + i}
                        for i in range(3)
                    ],
                },
            ],
        },
        "timeline": {
            "bucket_seconds": 60,
            "series": [
                {
                    "run_id": runs[0]["run_id"],
                    "points": _points(_NIGHT, first, first_retries, first_429),
                },
                {
                    "run_id": runs[1]["run_id"],
                    "points": _points(
                        _NIGHT + timedelta(minutes=30), second, second_retries, second_429
                    ),
                },
                {"run_id": runs[2]["run_id"], "points": []},
            ],
        },
        "latency_ms": {
            "count": 17020,
            "p50": 38.5,
            "p95": 121.0,
            "p99": 310.0,
            "max": 2210.0,
            "histogram": [
                {"le": 10, "count": 12},
                {"le": 25, "count": 3180},
                {"le": 50, "count": 9100},
                {"le": 100, "count": 3200},
                {"le": 250, "count": 1180},
                {"le": 500, "count": 290},
                {"le": 1000, "count": 50},
                {"le": None, "count": 8},
            ],
        },
    }


def empty_report() -> dict[str, Any]:
    """A report over ledgers that held nothing: no runs, zero ids, no latencies (nulls)."""
    return {
        "report_version": 1,
        "generated_at": "2026-11-30T18:00:00.000Z",
        "ledgers": ["empty.jsonl"],
        "headline": {
            "ids": 0,
            "deleted": 0,
            "needs_person": 0,
            "resumable": 0,
            "invalid_rows": 0,
            "runs": 0,
            "first_ts": None,
            "last_ts": None,
        },
        "final_status": {"deleted": 0, "failed": 0, "skipped": 0, "dry_run": 0},
        "runs": [],
        "left": {"needs_person": [], "resumable": []},
        "timeline": {"bucket_seconds": 60, "series": []},
        "latency_ms": {
            "count": 0,
            "p50": None,
            "p95": None,
            "p99": None,
            "max": None,
            "histogram": [{"le": le, "count": 0} for le in (10, 25, 50, 100, 250, 500, 1000, None)],
        },
    }


SCRIPT = "<script>alert(1)</script>"
QUOTES = "\"'><img src=x onerror=alert(2)>"
SURROGATE = "lone \ud800 surrogate"
BIDI = "evil\u202egpj.exe\u2066x\u2069"
HUGE = "A" * 1_000_000


def hostile_report() -> dict[str, Any]:
    """The realistic report with ledger text an attacker could have put in an input file or a
    reply: markup, quotes, a lone surrogate, bidi controls, a megabyte-long message."""
    report = realistic_report()
    report["ledgers"] = [SCRIPT, QUOTES, "javascript:alert(3)"]
    run = report["runs"][0]
    run["run_id"] = "</title>" + SCRIPT
    run["host"] = QUOTES
    run["ledgers"] = [BIDI]
    report["timeline"]["series"][0]["run_id"] = run["run_id"]
    group = report["left"]["needs_person"][0]
    group["message"] = SCRIPT + HUGE
    group["code"] = QUOTES
    group["examples"] = [
        {"workspace": SCRIPT, "person_id": 1, "thumbnail_id": 2},
        {"workspace": SURROGATE, "person_id": 3, "thumbnail_id": 4},
        {"workspace": BIDI, "person_id": 5, "thumbnail_id": 6},
        {"workspace": HUGE, "person_id": 7, "thumbnail_id": 8},
    ]
    report["left"]["resumable"][0]["message"] = SURROGATE + " " + BIDI + " \x00\x1b[31m"
    return report
