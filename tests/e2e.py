"""Test helpers: a run of the pipeline against the emulator, inputs, and ledger checks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from worker.emulator.app import Emulator
from worker.records.ledger import Ledger
from worker.records.record import LedgerRecord
from worker.records.run_record import RUN_STATUS
from worker.run import RunResult, run
from worker.run_setup import RunSetup
from worker.settings import load_settings

ACCESS_KEY = "e2e-access"
SECRET_KEY = "e2e-secret-never-printed-5150"


async def sweep(
    emulator: Emulator, tmp_path: Path, text: str, name: str = "in.csv", **overrides: Any
) -> tuple[RunResult, list[dict[str, Any]]]:
    """Run thumbsweep on `text` against the emulator; return the result and the ledger.

    The preflight is off unless `preflight=N` is given (tests/test_preflight.py does)."""
    source = tmp_path / name
    source.write_text(text)
    return await sweep_source(emulator, tmp_path, source, **overrides)


async def sweep_source(
    emulator: Emulator, tmp_path: Path, source: Path, **overrides: Any
) -> tuple[RunResult, list[dict[str, Any]]]:
    """Run thumbsweep on the file (or pipe) `source` against the emulator, with the ledger
    tmp_path/ledger.jsonl; return the result and the ledger."""
    ledger = tmp_path / "ledger.jsonl"
    settings = load_settings(
        {
            "base_url": emulator.base_url,
            "ledger": ledger,
            "backoff_initial": 0.01,
            "backoff_max": 0.05,
            # Off unless a test asks for it: its look-ups would add to the requests counted.
            "preflight": 0,
            **overrides,
        },
        None,
    )
    result = await run(
        RunSetup.from_settings(settings), str(source), (ACCESS_KEY, SecretStr(SECRET_KEY))
    )
    return result, read_ledger(ledger)


def read_ledger(path: Path, *, run_records: bool = False) -> list[dict[str, Any]]:
    """Every batch and invalid-row record of a JSON Lines ledger (lines end with \\n only;
    nothing else splits them); its run records too if `run_records`."""
    if not path.exists():
        return []
    lines = path.read_bytes().decode("utf-8").split("\n")
    records = [json.loads(line) for line in lines if line]
    return [r for r in records if run_records or r.get("status") != RUN_STATUS]


def csv_rows(rows: list[tuple[str, int, int]]) -> str:
    """A CSV input with one id per row (quoted where a workspace needs it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("workspace", "person_id", "thumbnail_id"))
    writer.writerows(rows)
    return buffer.getvalue()


IdKey = tuple[str, int, int]


def final_states(records: list[dict[str, Any]], run_id: str | None = None) -> dict[IdKey, str]:
    """The status of every id in one run's records; fails if an id appears twice."""
    run_id = run_id or records[-1]["run_id"]
    states: dict[IdKey, str] = {}
    for record in records:
        if record["run_id"] != run_id or record["status"] == "invalid":
            continue
        for thumbnail_id in record["thumbnail_ids"]:
            key = (record["workspace"], record["person_id"], thumbnail_id)
            assert key not in states, f"{key} recorded twice in run {run_id}"
            states[key] = record["status"]
    return states


def single_id_rows(persons: int, workspace: str = "w") -> list[tuple[str, int, int]]:
    """One thumbnail id (person * 10 + 1) for each of `persons` persons."""
    return [(workspace, person, person * 10 + 1) for person in range(1, persons + 1)]


def write_ledger(path: Path, *records: LedgerRecord) -> None:
    """Open a ledger, write the records the way a run does, and close it."""
    ledger = Ledger(path)
    ledger.open()
    for record in records:
        ledger.write_many([record])
    ledger.close()
