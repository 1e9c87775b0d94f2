"""Settings resolved once per run: output paths named for the shard, the sender's own options."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from worker.run_setup import OutputPaths, RunSetup
from worker.sending.options import SenderOptions
from worker.settings import load_settings


def test_without_a_shard_the_outputs_are_the_given_paths(tmp_path: Path) -> None:
    """No --shard: the ledger, --failed-out and --metrics-file are used as given."""
    settings = load_settings(
        {
            "ledger": tmp_path / "l.jsonl",
            "failed_out": tmp_path / "f.csv",
            "metrics_file": tmp_path / "m.prom",
        },
        None,
    )
    setup = RunSetup.from_settings(settings)
    assert setup.shard is None
    assert setup.outputs == OutputPaths(
        tmp_path / "l.jsonl", tmp_path / "f.csv", tmp_path / "m.prom"
    )


def test_each_output_of_a_shard_carries_the_shard_name(tmp_path: Path) -> None:
    """With --shard 1/4 each output, the ledger (so its lock) too, is NAME.shard-1-of-4.EXT."""
    settings = load_settings(
        {
            "ledger": tmp_path / "l.jsonl",
            "failed_out": tmp_path / "f.csv",
            "metrics_file": tmp_path / "m.prom",
            "shard": "1/4",
        },
        None,
    )
    setup = RunSetup.from_settings(settings)
    assert str(setup.shard) == "1/4"
    assert setup.outputs == OutputPaths(
        tmp_path / "l.shard-1-of-4.jsonl",
        tmp_path / "f.shard-1-of-4.csv",
        tmp_path / "m.shard-1-of-4.prom",
    )


def test_unset_outputs_stay_unset_and_a_dry_run_writes_no_failed_out(tmp_path: Path) -> None:
    """No --failed-out or --metrics-file: none; a dry run sends nothing, so no --failed-out."""
    bare = RunSetup.from_settings(load_settings({"ledger": tmp_path / "l.jsonl"}, None))
    assert (bare.outputs.failed_out, bare.outputs.metrics_file) == (None, None)
    dry = load_settings({"failed_out": tmp_path / "f.csv", "dry_run": True}, None)
    assert RunSetup.from_settings(dry).outputs.failed_out is None


def test_sender_options_are_the_settings_of_the_same_names() -> None:
    """Each of the sender's options is the run's setting of that name, unchanged."""
    values: dict[str, Any] = {
        "concurrency": 3,
        "rate": 7.5,
        "max_attempts": 4,
        "backoff_initial": 0.25,
        "backoff_max": 2.0,
        "retry_after_max": 9.0,
        "breaker_min_batches": 11,
        "max_failure_rate": 0.3,
        "drain_timeout": 1.5,
    }
    assert {field.name for field in dataclasses.fields(SenderOptions)} == set(values)
    sender = RunSetup.from_settings(load_settings(values, None)).sender
    assert sender == SenderOptions(**values)
