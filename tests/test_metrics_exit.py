"""The metrics textfile tells how the process really ended: rewritten with the exit code on
every way out, every series labelled with its shard, the last success carried over."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.cli import PIPE, Thumbsweep, finish, thumbsweep, wait_until
from tests.e2e import csv_rows, single_id_rows
from tests.test_preflight import SWAPPED, real  # noqa: F401  # real: the state emulator fixture
from worker.emulator.app import Emulator
from worker.errors import ExitCode

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(path: Path) -> Samples:
    """The samples of a Prometheus textfile, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def value(path: Path, name: str, **labels: str) -> float:
    """One sample of the textfile (KeyError when it is missing)."""
    return samples(path)[(name, tuple(sorted(labels.items())))]


async def test_preflight_stop_writes_exit_3(real: Emulator, tmp_path: Path) -> None:  # noqa: F811
    """A manifest the preflight refuses (exit 3) leaves a textfile saying exit code 3."""
    (tmp_path / "in.csv").write_text(csv_rows(SWAPPED))
    metrics = tmp_path / "m.prom"
    done = await Thumbsweep(preflight=True).run(
        "run", str(tmp_path / "in.csv"), "--base-url", real.base_url,
        "--ledger", str(tmp_path / "l.jsonl"), "--metrics-file", str(metrics),
    )  # fmt: skip
    assert done.code == ExitCode.GUARD, done.err
    assert value(metrics, "thumbsweep_exit_code") == ExitCode.GUARD
    assert value(metrics, "thumbsweep_ids", status="deleted") == 0


async def test_unreadable_input_writes_exit_2(tmp_path: Path) -> None:
    """Input that is not UTF-8 (exit 2, nothing sent) leaves a textfile saying exit code 2."""
    (tmp_path / "in.csv").write_bytes(b"workspace,person_id,thumbnail_id\nw\xc7\xd1,1,2\n")
    metrics = tmp_path / "m.prom"
    done = await thumbsweep.run(
        "run", str(tmp_path / "in.csv"), "--base-url", "http://127.0.0.1:9",
        "--ledger", str(tmp_path / "l.jsonl"), "--metrics-file", str(metrics),
    )  # fmt: skip
    assert done.code == ExitCode.USAGE, done.err
    assert value(metrics, "thumbsweep_exit_code") == ExitCode.USAGE


async def test_signal_while_reading_stdin_writes_its_exit_code(
    emulator: Emulator, tmp_path: Path
) -> None:
    """SIGTERM before sending started (exit 143) is in the textfile as exit code 143."""
    metrics = tmp_path / "m.prom"
    process = await thumbsweep.start(
        "run", "-", "--base-url", emulator.base_url, "--ledger", str(tmp_path / "l.jsonl"),
        "--metrics-file", str(metrics), stdin=PIPE,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(b"workspace,person_id,thumbnail_id\nw,1,2\n")
    await process.stdin.drain()
    lock = tmp_path / "l.jsonl.lock"
    await wait_until(lambda: lock.exists() and b"pid" in lock.read_bytes())
    await asyncio.sleep(0.3)  # past the lock, inside the read (nothing to observe there)
    process.send_signal(signal.SIGTERM)
    code, err = await finish(process, limit=15)
    assert code == 143, err
    assert value(metrics, "thumbsweep_exit_code") == 143


async def test_every_series_carries_the_shard(emulator: Emulator, tmp_path: Path) -> None:
    """With --shard every sample in the textfile has the shard label (no collision on a host)."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(8)))
    metrics = tmp_path / "m.prom"
    done = await thumbsweep.run(
        "run", str(tmp_path / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "l.jsonl"), "--metrics-file", str(metrics), "--shard", "1/2",
    )  # fmt: skip
    assert done.code == ExitCode.OK, done.err
    written = list(tmp_path.glob("m*.prom"))
    assert len(written) == 1
    found = samples(written[0])
    assert found
    assert all(dict(labels).get("shard") == "1/2" for _, labels in found), found


async def test_last_success_survives_a_run_that_deleted_nothing(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A --resume that finds nothing left keeps the previous run's last-success time."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(3)))
    metrics = tmp_path / "m.prom"
    args = (
        "run", str(tmp_path / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "l.jsonl"), "--metrics-file", str(metrics), "--resume",
    )  # fmt: skip
    first = await thumbsweep.run(*args)
    assert first.code == ExitCode.OK, first.err
    before = value(metrics, "thumbsweep_last_success_timestamp_seconds")
    again = await thumbsweep.run(*args)
    assert again.code == ExitCode.OK, again.err
    assert "0 unique ids to delete" in again.err  # this run deleted nothing
    assert value(metrics, "thumbsweep_last_success_timestamp_seconds") == before


async def test_run_refused_the_lock_leaves_the_holders_textfile(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A second run that exits 75 (ledger locked) does not overwrite the holder's textfile."""
    metrics = tmp_path / "m.prom"
    args = (
        "run", "-", "--base-url", emulator.base_url, "--ledger", str(tmp_path / "l.jsonl"),
        "--metrics-file", str(metrics),
    )  # fmt: skip
    holder = await thumbsweep.start(*args, stdin=PIPE)  # reads stdin until told to stop
    lock = tmp_path / "l.jsonl.lock"
    await wait_until(lambda: lock.exists() and f'"pid": {holder.pid}' in lock.read_text())
    metrics.write_text("# the holder's\n")
    second = await thumbsweep.run(*args, input=b"")
    assert second.code == ExitCode.TEMPFAIL, second.err
    assert metrics.read_text() == "# the holder's\n"
    holder.send_signal(signal.SIGTERM)
    code, err = await finish(holder, limit=15)
    assert code == 143, err
    assert value(metrics, "thumbsweep_exit_code") == 143
