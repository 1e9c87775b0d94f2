"""Test helpers for `thumbsweep report`: the command run in-process, and fault plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from worker.cli import main
from worker.emulator.faults import Fault, FaultPlan, RequestInfo

LAST_THUMBNAIL = Fault(
    "raw",
    status=400,
    body=json.dumps({"code": "4001", "message": "cannot remove the last thumbnail"}).encode(),
)
UNAVAILABLE = Fault("status", status=503)
THROTTLED = Fault("status", status=429, retry_after="0")


def plan(faults: dict[int, Fault], first_only: set[int] | None = None) -> FaultPlan:
    """A fault plan answering each person in `faults` with its fault (only on its first
    request for persons in `first_only`)."""
    seen: set[int] = set()

    def pick(info: RequestInfo) -> Fault | None:
        fault = faults.get(info.person_id)
        if fault is not None and first_only is not None and info.person_id in first_only:
            if info.person_id in seen:
                return None
            seen.add(info.person_id)
        return fault

    return pick


Capture = pytest.CaptureFixture[str]


def report(capsys: Capture, *args: str | Path) -> tuple[int, str, str]:
    """`thumbsweep report ARGS` in-process: its exit code, stdout and stderr."""
    capsys.readouterr()
    code = main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def json_report(capsys: Capture, *args: str | Path) -> dict[str, Any]:
    """The JSON report of `thumbsweep report ARGS --format json` (which must exit 0)."""
    code, out, err = report(capsys, *args, "--format", "json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document
