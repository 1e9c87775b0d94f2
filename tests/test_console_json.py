"""`--log-format json`: every line on stderr is one JSON object (summary, stop reasons, fatal
errors, the plan, progress); `-q` silences progress; text mode keeps its lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli import run_on_terminal, thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, single_id_rows
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.errors import ExitCode


def every_line_json(err: str) -> list[dict[str, Any]]:
    """Each stderr line parsed as a JSON object (fails on the first line that is not one)."""
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    objects = []
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(parsed, dict), line
        objects.append(parsed)
    return objects


async def test_refused_credentials_stop_summary_and_stop_reason_are_json(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A run stopped by a guard (401): plan, summary and stop reason are each one JSON line."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(3)))
    done = await thumbsweep.run(
        "run", str(tmp_path / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "l.jsonl"), "--log-format", "json",
        env={"THUMBSWEEP_SECRET_KEY": "wrong-secret"},
    )  # fmt: skip
    assert done.code == ExitCode.GUARD
    objects = every_line_json(done.err)
    summary = next(o for o in objects if o.get("event") == "summary")
    assert summary["outcome"] == "stopped"
    assert summary["outputs"]["ledger"].endswith("l.jsonl")
    assert summary["target"].startswith("127.0.0.1:")
    assert any(o.get("event") == "stop" and o["level"] == "error" for o in objects)
    assert any(o.get("message", "").startswith("plan") for o in objects)
    assert "wrong-secret" not in done.err


async def test_fatal_error_is_json(tmp_path: Path) -> None:
    """An unreadable input (exit 2) says so in one JSON object, not a bare text line."""
    done = await thumbsweep.run(
        "run", str(tmp_path / "missing.csv"), "--ledger", str(tmp_path / "l.jsonl"),
        "--log-format", "json",
    )  # fmt: skip
    assert done.code == ExitCode.USAGE
    (fatal,) = every_line_json(done.err)
    assert fatal["event"] == "fatal"
    assert fatal["exit_code"] == ExitCode.USAGE
    assert "missing.csv" in fatal["message"]


async def test_settings_error_is_json_when_the_environment_asks_for_json(tmp_path: Path) -> None:
    """THUMBSWEEP_LOG_FORMAT=json applies even to an error in reading the other settings."""
    done = await thumbsweep.run(
        "run", str(tmp_path / "in.csv"), "--concurrency", "0",
        env={"THUMBSWEEP_LOG_FORMAT": "json"},
    )  # fmt: skip
    assert done.code == ExitCode.USAGE
    (fatal,) = every_line_json(done.err)
    assert "concurrency" in fatal["message"]


async def slow_run(tmp_path: Path, *flags: str) -> tuple[int, str]:
    """40 ids against an emulator taking 30 ms a request, progress every 50 ms."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(40)))
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, latency_ms=30)
    async with Emulator(config) as slow:
        done = await thumbsweep.run(
            "run", str(tmp_path / "in.csv"), "--base-url", slow.base_url,
            "--ledger", str(tmp_path / "l.jsonl"), "--concurrency", "1",
            "--progress-interval", "0.05", *flags,
        )  # fmt: skip
    return done.code, done.err


async def test_quiet_silences_progress(tmp_path: Path) -> None:
    """With -q a run that lasts many progress intervals prints no progress line."""
    code, err = await slow_run(tmp_path, "-q")
    assert code == ExitCode.OK
    assert '"event":"progress"' not in err
    assert "thumbsweep run" in err  # the summary still says how it ended


async def test_json_run_with_progress_is_all_json(tmp_path: Path) -> None:
    """A whole run in JSON mode, progress included, is JSON objects only."""
    code, err = await slow_run(tmp_path, "--log-format", "json")
    assert code == ExitCode.OK
    objects = every_line_json(err)
    assert any(o.get("event") == "progress" for o in objects)
    (summary,) = [o for o in objects if o.get("event") == "summary"]
    assert summary["ids"] == {"deleted": 40}
    assert set(summary["latency_ms"]) == {"p50", "p95"}


async def test_text_mode_keeps_its_lines(emulator: Emulator, tmp_path: Path) -> None:
    """Text mode prints the summary block and "thumbsweep: stopped: ..." as plain text."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(3)))
    done = await thumbsweep.run(
        "run", str(tmp_path / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "l.jsonl"), env={"THUMBSWEEP_SECRET_KEY": "wrong-secret"},
    )  # fmt: skip
    assert done.code == ExitCode.GUARD
    assert "\nthumbsweep: stopped: " in done.err
    assert any(line.startswith("thumbsweep run ") for line in done.err.splitlines())
    assert "{" not in done.err


async def test_json_on_a_terminal_shows_no_bar(emulator: Emulator, tmp_path: Path) -> None:
    """With --log-format json even a terminal gets JSON objects only, never the bar."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(5)))
    code, screen = await run_on_terminal(
        "run", str(tmp_path / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "l.jsonl"), "--log-format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK
    text = screen.replace("\r", "")
    objects = every_line_json("\n".join(line for line in text.split("\n") if line))
    assert any(o.get("event") == "summary" for o in objects)


async def test_usage_errors_are_json_when_json_is_asked_for() -> None:
    """A mistyped flag or a bad value, with JSON asked for by flag or environment: one JSON
    object (with the suggestion), exit 2; without it, argparse's usage text as before."""
    flagged = await thumbsweep.run("run", "x.csv", "--dry", "--log-format", "json")
    assert flagged.code == ExitCode.USAGE
    (error,) = every_line_json(flagged.err)
    assert error["event"] == "usage"
    assert "did you mean --dry-run?" in error["message"]
    from_env = await thumbsweep.run(
        "run", "--concurrency", "x", env={"THUMBSWEEP_LOG_FORMAT": "json"}
    )
    assert from_env.code == ExitCode.USAGE
    (error,) = every_line_json(from_env.err)
    assert "invalid int value" in error["message"]
    plain = await thumbsweep.run("run", "x.csv", "--dry")
    assert plain.code == ExitCode.USAGE
    assert plain.err.startswith("usage: ")
