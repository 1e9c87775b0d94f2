"""The emulator's `--state FILE`: real persons, unknown persons 404, unknown ids ignored."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import Thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, sweep
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.errors import ExitCode


async def test_state_file_persons_are_served_and_unknown_ones_are_404(tmp_path: Path) -> None:
    """With state, known ids are removed, unknown ids ignored, an unknown person fails 404."""
    state = tmp_path / "state.jsonl"
    person = {"workspace": "w", "person_id": 1, "thumbnail_ids": [11, 12, 13], "primary": 12}
    state.write_text(json.dumps(person) + "\n\n")
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, state=str(state))
    async with Emulator(config) as emulator:
        rows = [("w", 1, 11), ("w", 1, 99), ("w", 2, 21)]
        _, records = await sweep(emulator, tmp_path, csv_rows(rows), max_ids_per_request=1)
        assert emulator.thumbnail_ids("w", 1) == [12, 13]
        assert ("w", 2) not in emulator.persons
    by_id = {(r["person_id"], r["thumbnail_ids"][0]): r for r in records}
    assert by_id[1, 11]["status"] == by_id[1, 99]["status"] == "deleted"  # 99: ignored, as upstream
    assert by_id[2, 21]["status"] == "failed"
    assert by_id[2, 21]["http_status"] == 404


async def test_unreadable_state_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    """`emulate --state` with a bad line refuses to start (exit 2) and names the line."""
    state = tmp_path / "state.jsonl"
    state.write_text('{"workspace": "w", "person_id": 1, "thumbnail_ids": [1]}\n{"person_id": 2}\n')
    done = await Thumbsweep().run("emulate", "--state", str(state), limit=30)
    assert done.code == ExitCode.USAGE
    assert "line 2" in done.err
