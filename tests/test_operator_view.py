"""What an operator sees: strict flags and environment names, invalid rows on stderr, and a
plan and summary that say where the run goes, what it reads and what it writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli import Thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, single_id_rows
from worker.cli import main
from worker.emulator.app import Emulator
from worker.errors import ConfigError
from worker.settings import load_settings

HEADER = "workspace,person_id,thumbnail_id\n"
dry = Thumbsweep(credentials=False)


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI in-process on `argv`; assert it exits 2 and return its stderr."""
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 2
    return capsys.readouterr().err


def test_abbreviated_flag_is_refused_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dry` is not taken for `--dry-run` (exit 2, nothing written); it suggests --dry-run."""
    ledger = tmp_path / "ledger.jsonl"
    err = _usage_error(["run", "--dry", "--ledger", str(ledger), str(tmp_path / "x")], capsys)
    assert "did you mean --dry-run?" in err
    assert not ledger.exists()


def test_misspelt_flag_gets_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo of a flag (`--concurency`) is answered with the flag meant."""
    err = _usage_error(["run", "--concurency", "4", "-"], capsys)
    assert "did you mean --concurrency?" in err


def test_unknown_environment_name_is_refused_with_a_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A THUMBSWEEP_ name that is no setting is refused, naming the setting it resembles."""
    monkeypatch.setenv("THUMBSWEEP_CONCURENCY", "4")
    with pytest.raises(ConfigError, match=r"THUMBSWEEP_CONCURENCY.*THUMBSWEEP_CONCURRENCY") as bad:
        load_settings({}, None)
    assert bad.value.exit_code == 2


def test_environment_names_that_are_not_settings_but_known_are_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The credential, config, secrets-directory and shard-count names are not refused."""
    config = tmp_path / "t.toml"
    config.write_text("rate = 2.0\n")
    for name, value in {
        "THUMBSWEEP_ACCESS_KEY": "a", "THUMBSWEEP_SECRET_KEY": "s",
        "THUMBSWEEP_CONFIG": str(config), "THUMBSWEEP_SECRETS_DIR": str(tmp_path),
        "THUMBSWEEP_SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "1",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = load_settings({}, None)
    assert (settings.rate, settings.shard) == (2.0, "1/4")


def test_shard_count_without_an_index_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """THUMBSWEEP_SHARD_COUNT without JOB_COMPLETION_INDEX is refused rather than ignored."""
    monkeypatch.setenv("THUMBSWEEP_SHARD_COUNT", "4")
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    with pytest.raises(ConfigError, match="JOB_COMPLETION_INDEX"):
        load_settings({}, None)


async def test_dry_run_prints_the_first_invalid_rows_and_counts_the_rest(tmp_path: Path) -> None:
    """A dry run shows the first invalid rows (line and error) on stderr, then how many more."""
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "w,1,11\n" + "".join(f"w,x{i},1\n" for i in range(7)))
    done = await dry.run("run", str(source), "--dry-run", "--ledger", str(tmp_path / "l.jsonl"))
    assert done.code == 4, done.err  # invalid rows need a person (issue 11 §1)
    shown = re.findall(r"invalid row at line (\d+): ", done.err)
    assert shown == ["3", "4", "5", "6", "7"]
    assert "and 2 more invalid rows" in done.err


async def test_messages_use_singular_plural_and_thousands(tmp_path: Path) -> None:
    """Counts read "1 person" and "1,200 unique ids"; a dry run shows no latency."""
    one = tmp_path / "one.csv"
    one.write_text(HEADER + "w,1,11\n")
    done = await dry.run("run", str(one), "--dry-run", "--ledger", str(tmp_path / "a.jsonl"))
    assert done.code == 0, done.err
    assert "1 workspace, 1 person, 1 unique id to delete" in done.err
    assert "1 request," in done.err
    assert "p50" not in done.err
    many = tmp_path / "many.csv"
    many.write_text(HEADER + "".join(f"w,{i},{i + 1}\n" for i in range(1200)))
    done = await dry.run("run", str(many), "--dry-run", "--ledger", str(tmp_path / "b.jsonl"))
    assert "1,200 persons, 1,200 unique ids" in done.err
    assert "1,200 requests" in done.err


async def test_plan_and_summary_name_target_config_credentials_and_outputs(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The plan and the summary name the API host, the config file, where the credentials came
    from (not their value) and every output file with its shard name."""
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(single_id_rows(3)))
    config = tmp_path / "site.toml"
    config.write_text("concurrency = 2\n")
    done = await Thumbsweep().run(
        "run", str(source), "--base-url", emulator.base_url, "--config", str(config),
        "--ledger", str(tmp_path / "l.jsonl"), "--failed-out", str(tmp_path / "f.csv"),
        "--metrics-file", str(tmp_path / "m.prom"), "--shard", "0/1",
    )  # fmt: skip
    assert done.code == 0, done.err
    host = emulator.base_url.split("://", 1)[1]
    plan, summary = done.err.split("thumbsweep run ", 1)
    for text in (plan, summary):
        assert host in text
        assert str(config) in text
        assert "THUMBSWEEP_ACCESS_KEY" in text
        for name in ("l.shard-0-of-1.jsonl", "f.shard-0-of-1.csv", "m.shard-0-of-1.prom"):
            assert name in text, (name, text)
    assert SECRET_KEY not in done.err
    assert ACCESS_KEY not in done.err
