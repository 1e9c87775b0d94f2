"""The settings model is the one source of the options: the shipped TOML file, the README's
options table, example.env and `run --help` all say what it says, field by field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from worker.cli import main
from worker.settings import Settings, default_text, load_settings

PROJECT = Path(__file__).resolve().parent.parent
PROJECT_CONFIG = PROJECT / "config" / "thumbsweep.toml"
FIELDS = Settings.model_fields
# Fields without a default of their own: documented as commented-out examples.
UNSET = {name for name in FIELDS if default_text(name) in ("none", "no limit", "all")}
NOT_FLAGS = {"log_level"}  # set through -v and -q


def _commented_keys(text: str) -> dict[str, str]:
    """The `# key = example` lines of a TOML file, as key -> example text."""
    return dict(re.findall(r"^# ([a-z_]+) = (.+)$", text, flags=re.MULTILINE))


def _readme_option_rows() -> list[list[str]]:
    """The cells of each row of the README's options table (header and rule left out)."""
    text = (PROJECT / "README.md").read_text()
    section = text.split("\n## Options\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def _unquoted(cell: str) -> str:
    return cell.replace("`", "").replace("\\|", "|")


def test_shipped_config_documents_the_real_defaults() -> None:
    """config/thumbsweep.toml sets every field that has a default, to that default, and shows
    every field without one as a commented-out example; nothing else."""
    text = PROJECT_CONFIG.read_text()
    shipped = tomllib.loads(text)
    commented = _commented_keys(text)
    assert set(shipped) == set(FIELDS) - UNSET
    assert set(commented) == UNSET
    for key, value in shipped.items():
        assert str(value) == str(FIELDS[key].default), key
    for key, example in commented.items():  # each example is a value the setting accepts
        value = tomllib.loads(f"{key} = {example}")[key]
        assert getattr(load_settings({key: value}, None), key) is not None, key


def test_readme_options_table_lists_every_setting_with_its_default() -> None:
    """One README row per field: its flag, THUMBSWEEP_<NAME>, TOML key and default."""
    rows = {_unquoted(row[2]): row for row in _readme_option_rows() if row[2]}
    assert set(rows) == set(FIELDS)
    for name, (flag, env, _, default, meaning) in rows.items():
        assert _unquoted(env) == f"THUMBSWEEP_{name.upper()}", name
        assert _unquoted(default) == default_text(name), name
        expected_flag = "-v" if name in NOT_FLAGS else "--" + name.replace("_", "-")
        assert _unquoted(flag).split()[0] == expected_flag, name
        assert meaning, name


def test_run_help_shows_each_settings_description_and_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run --help` has one flag per field, helped by the field's description and default."""
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: nothing wrapped mid-phrase
    with pytest.raises(SystemExit) as ended:
        main(["run", "--help"])
    assert ended.value.code == 0
    out = capsys.readouterr().out
    for name, field in FIELDS.items():
        flag = "--" + name.replace("_", "-")
        if name in NOT_FLAGS:
            assert flag not in out
            continue
        assert field.description, name
        if field.annotation is bool:
            assert re.search(rf"^  {flag}\s+{re.escape(field.description)}$", out, re.M), name
            continue
        default = re.escape(default_text(name))
        helped = rf"{re.escape(field.description)} \(default: '?{default}'?\)"
        assert re.search(rf"^  {flag} {name.upper()}\s+{helped}$", out, re.MULTILINE), name


def test_example_env_names_only_real_settings() -> None:
    """Every THUMBSWEEP_ variable in config/example.env is a setting or a credential."""
    text = (PROJECT / "config" / "example.env").read_text()
    named = set(re.findall(r"THUMBSWEEP_([A-Z_]+)=", text))
    assert named
    assert named <= {name.upper() for name in FIELDS} | {"ACCESS_KEY", "SECRET_KEY"}
