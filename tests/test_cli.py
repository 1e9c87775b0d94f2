"""The `thumbsweep` command as a user runs it: exit codes, stderr, stdin, and no leaked secrets."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cli import Finished, Thumbsweep
from tests.e2e import read_ledger
from worker import __version__
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.errors import LedgerBusyError
from worker.sending.signals import SIGNAL_EXIT_CODES

ACCESS_KEY = "cli-access"
SECRET_KEY = "cli-secret-must-never-appear-8086"


# The CLI as a user without configured credentials starts it; tests add what they need.
plain = Thumbsweep(credentials=False)


async def thumbsweep(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> Finished:
    """Run `python -m worker ARGS` with `stdin`; its exit code, stdout and stderr."""
    return await plain.run(*args, input=stdin, env=env, cwd=cwd or Path.cwd())


CREDENTIALS = {"THUMBSWEEP_ACCESS_KEY": ACCESS_KEY, "THUMBSWEEP_SECRET_KEY": SECRET_KEY}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A running emulator that accepts the test credentials."""
    async with Emulator(EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY)) as served:
        yield served


async def test_version_and_help() -> None:
    """--version prints the version; --help lists the run command's contract flags."""
    code, out, _ = await thumbsweep("--version")
    assert (code, out.strip()) == (0, f"thumbsweep {__version__}")
    code, out, _ = await thumbsweep("run", "--help")
    assert code == 0
    flags = "--format --delimiter --ledger --base-url --concurrency --rate --max-ids-per-request"
    flags += " --max-attempts --timeout --dry-run --config"
    for flag in flags.split():
        assert flag in out


async def test_run_from_stdin_deletes_and_prints_summary(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Piped CSV is sent, the summary names the ledger, and the exit code is 0."""
    ledger = tmp_path / "out.jsonl"
    csv_text = b"Person_ID , WORKSPACE,thumbnail_ids\r\n1,w,1;2;3\r\n2,w,4|5\r\n1,w,3 6\r\n"
    code, out, err = await thumbsweep(
        "run", "--base-url", emulator.base_url, "--ledger", str(ledger),
        stdin=b"\xef\xbb\xbf" + csv_text, env=CREDENTIALS,
    )  # fmt: skip
    assert code == 0, err
    assert emulator.stats.total_requests == 2
    assert "ids:      deleted 6" in err
    assert "requests: deleted 2" in err
    assert "latency p50" in err
    assert str(ledger) in err
    records = read_ledger(ledger)
    assert sorted(tuple(r["thumbnail_ids"]) for r in records) == [(1, 2, 3, 6), (4, 5)]
    assert SECRET_KEY not in out + err + ledger.read_text()


async def test_jsonl_via_jq_style_pipe_is_sniffed(emulator: Emulator, tmp_path: Path) -> None:
    """JSON Lines on stdin is recognised without --format."""
    lines = b'{"workspace":"w","person_id":1,"thumbnail_id":9}\n'
    code, _, err = await thumbsweep(
        "run", "-", "--base-url", emulator.base_url, "--ledger", str(tmp_path / "l.jsonl"),
        stdin=lines, env=CREDENTIALS,
    )  # fmt: skip
    assert code == 0, err
    assert emulator.stats.total_requests == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "cannot read input"),
        ("not-utf8", "UTF-8"),
        ("no-columns", "person_id"),
    ],
)
async def test_unreadable_input_exits_2_with_one_line(
    emulator: Emulator, tmp_path: Path, setup: str, message: str
) -> None:
    """Unreadable input: exit 2, one clear line, no traceback, nothing sent, no ledger."""
    source = tmp_path / "in.csv"
    if setup == "not-utf8":
        source.write_bytes(b"workspace,person_id,thumbnail_id\nw,1,2\nw\xff\xfe,1,3\n")
    elif setup == "no-columns":
        source.write_text("workspace,thumbnail_id\nw,2\n")
    ledger = tmp_path / "l.jsonl"
    code, _, err = await thumbsweep(
        "run", str(source), "--base-url", emulator.base_url, "--ledger", str(ledger),
        env=CREDENTIALS,
    )  # fmt: skip
    assert code == 2
    assert "Traceback" not in err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert emulator.stats.total_requests == 0
    assert not ledger.exists()


async def test_missing_credentials_exit_2(tmp_path: Path) -> None:
    """A real run without keys exits 2 naming the variables to set."""
    source = tmp_path / "in.csv"
    source.write_text("workspace,person_id,thumbnail_id\nw,1,2\n")
    code, _, err = await thumbsweep("run", str(source), "--ledger", str(tmp_path / "l.jsonl"))
    assert code == 2
    assert "THUMBSWEEP_ACCESS_KEY" in err


async def test_bad_flag_value_exits_2(tmp_path: Path) -> None:
    """An out-of-range option is a usage error (exit 2) with a readable message."""
    code, _, err = await thumbsweep("run", "--concurrency", "0", "--dry-run", env=CREDENTIALS)
    assert code == 2
    assert "concurrency" in err
    assert "Traceback" not in err


async def test_dry_run_needs_no_credentials(tmp_path: Path) -> None:
    """--dry-run validates and batches without keys and sends nothing; exit 1 on invalid rows."""
    source = tmp_path / "in.csv"
    source.write_text("workspace,person_id,thumbnail_id\nw,1,2\nw,1,3\nw,bad,4\n")
    ledger = tmp_path / "l.jsonl"
    code, _, err = await thumbsweep(
        "run", str(source), "--dry-run", "--ledger", str(ledger),
        "--base-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert code == 4, err  # an invalid row needs a person
    statuses = [record["status"] for record in read_ledger(ledger, run_records=True)]
    assert statuses == ["invalid", "dry_run", "run"]
    assert "invalid input rows: 1" in err
    assert "ids:      dry_run 2" in err


async def test_authentication_failure_exits_3_and_names_the_clock(tmp_path: Path) -> None:
    """Wrong keys: exit 3, a plain message about credentials and clock, and no secret shown."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key="the-emulators-own")
    async with Emulator(config) as emulator:
        source = tmp_path / "in.csv"
        source.write_text("workspace,person_id,thumbnail_id\nw,1,2\nw,2,3\n")
        ledger = tmp_path / "l.csv"
        code, out, err = await thumbsweep(
            "run", str(source), "--base-url", emulator.base_url, "--ledger", str(ledger),
            "--concurrency", "1", env=CREDENTIALS,
        )  # fmt: skip
    assert code == 3
    assert "refused the credentials" in err
    assert "clock" in err
    assert "Traceback" not in err
    assert SECRET_KEY not in out + err + ledger.read_text()
    assert "skipped" in ledger.read_text()


async def test_emulate_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`thumbsweep emulate` prints its URL, serves a real run, and exits 0 on SIGTERM."""
    server = await plain.start(
        "emulate", "--port", "0", "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY
    )
    try:
        assert server.stdout is not None
        line = (await asyncio.wait_for(server.stdout.readline(), timeout=30)).decode()
        base_url = line.strip().rsplit(" ", 1)[-1]
        assert base_url.startswith("http://127.0.0.1:")
        source = tmp_path / "in.jsonl"
        source.write_text('{"workspace": "w", "person_id": 1, "thumbnail_ids": [1, 2]}\n')
        code, _, err = await thumbsweep(
            "run", str(source), "--base-url", base_url, "--ledger", str(tmp_path / "l.jsonl"),
            env=CREDENTIALS,
        )  # fmt: skip
        assert code == 0, err
    finally:
        server.send_signal(signal.SIGTERM)
        _, server_err = await asyncio.wait_for(server.communicate(), timeout=30)
    assert server.returncode == 0
    assert b"Traceback" not in server_err
    assert SECRET_KEY.encode() not in server_err


def _codes(cell: str) -> set[int]:
    return {int(code) for code in re.findall(r"\d+", cell)}


async def test_exit_codes_agree_in_help_readme_and_code() -> None:
    """`run --help` and README's exit-code table list the same codes, including the lock's 75
    and the signals' 128 + n (from the code itself)."""
    code, out, _ = await thumbsweep("run", "--help")
    assert code == 0
    help_codes: set[int] = set()
    for line in out.split("exit codes:", 1)[1].splitlines():
        if line.strip():
            help_codes |= _codes(line.split()[0])
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    readme_codes: set[int] = set()
    for row in section.splitlines():
        if row.startswith("| ") and not row.startswith("| code"):
            readme_codes |= _codes(row.split("|")[1])
    assert help_codes == readme_codes
    expected = {LedgerBusyError.exit_code, *SIGNAL_EXIT_CODES.values()}
    assert expected <= help_codes
    assert {signal.SIGHUP: 129, signal.SIGINT: 130, signal.SIGTERM: 143} == SIGNAL_EXIT_CODES
