"""`thumbsweep emulate` as an operator starts it: keys from `.env` like `run`, and one log
line per request at -v (never a signature or a query string)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from tests.cli import PIPE, Finished, Thumbsweep, finish
from tests.e2e import csv_rows, single_id_rows
from worker.errors import ExitCode

NO_KEYS = Thumbsweep(credentials=False)  # neither child gets keys from the environment
DEMO_KEYS = {"THUMBSWEEP_ACCESS_KEY": "demo-access-key", "THUMBSWEEP_SECRET_KEY": "demo-secret-key"}
REQUEST_LINE = re.compile(r" emulator (GET|DELETE|POST) (/[^ ?]*) (\d{3}|dropped) \d+\.\d ms$")


async def run_against_emulator(
    work: Path, *emulate_flags: str, run_env: dict[str, str] | None = None
) -> tuple[Finished, str]:
    """Start `emulate` in `work`, run `run in.csv` (3 ids) against it from `work`, stop it;
    the run's outcome and the emulator's stderr."""
    (work / "in.csv").write_text(csv_rows(single_id_rows(3)))
    emulator = await NO_KEYS.start("emulate", *emulate_flags, cwd=work, stdout=PIPE, stderr=PIPE)
    try:
        assert emulator.stdout is not None
        base_url = (await emulator.stdout.readline()).decode().rsplit(" ", 1)[-1].strip()
        done = await NO_KEYS.run(
            "run", "in.csv", "--base-url", base_url, "--ledger", "l.jsonl", cwd=work, env=run_env
        )
    finally:
        emulator.send_signal(signal.SIGTERM)
        code, err = await finish(emulator, limit=15)
    assert code == 0, err
    return done, err


async def test_emulator_takes_its_keys_from_dotenv(tmp_path: Path) -> None:
    """Keys only in ./.env: `run` signs with them and `emulate` (same .env) accepts them."""
    (tmp_path / ".env").write_text(
        "THUMBSWEEP_ACCESS_KEY=dotenv-access\nTHUMBSWEEP_SECRET_KEY=dotenv-secret-5150\n"
    )
    done, _ = await run_against_emulator(tmp_path)
    assert done.code == ExitCode.OK, done.err


async def test_v_logs_one_line_per_request_without_secrets(tmp_path: Path) -> None:
    """At -v: method, path, status and latency per request; no signature, no secret."""
    done, err = await run_against_emulator(tmp_path, "-v", run_env=DEMO_KEYS)
    assert done.code == ExitCode.OK, done.err
    requests = [m for line in err.splitlines() if (m := REQUEST_LINE.search(line))]
    assert len(requests) == 3, err
    assert {(m[1], m[3]) for m in requests} == {("DELETE", "200")}
    assert all(m[2].endswith("/person-thumbnail") for m in requests)
    assert "demo-secret-key" not in err
    assert "signature" not in err.lower()


async def test_emulator_is_quiet_without_v(tmp_path: Path) -> None:
    """Without -v the emulator logs no request lines."""
    done, err = await run_against_emulator(tmp_path, run_env=DEMO_KEYS)
    assert done.code == ExitCode.OK, done.err
    assert not any(REQUEST_LINE.search(line) for line in err.splitlines()), err
