"""Settings precedence (CLI > env > .env > TOML > defaults) and where credentials may come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.credentials import load_credentials
from worker.errors import ConfigError
from worker.settings import load_settings


def test_precedence_cli_env_dotenv_toml_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each layer overrides the ones below it, key by key."""
    toml = tmp_path / "t.toml"
    toml.write_text("concurrency = 2\nrate = 3\nmax_attempts = 4\ntimeout = 5\n")
    (Path.cwd() / ".env").write_text("THUMBSWEEP_RATE=30\nTHUMBSWEEP_MAX_ATTEMPTS=40\n")
    monkeypatch.setenv("THUMBSWEEP_MAX_ATTEMPTS", "14")
    monkeypatch.setenv("THUMBSWEEP_TIMEOUT", "50")
    settings = load_settings({"timeout": 500.0}, toml)
    assert settings.concurrency == 2  # TOML
    assert settings.rate == 30  # .env over TOML
    assert settings.max_attempts == 14  # env over .env
    assert settings.timeout == 500  # CLI over env
    assert settings.max_ids_per_request == 100  # default


def test_default_config_file_is_read_when_present() -> None:
    """config/thumbsweep.toml in the working directory is used without --config."""
    (Path.cwd() / "config").mkdir()
    (Path.cwd() / "config" / "thumbsweep.toml").write_text("concurrency = 3\n")
    assert load_settings({}, None).concurrency == 3


def test_credentials_in_toml_are_refused(tmp_path: Path) -> None:
    """A TOML file holding a key is an error that points to the environment instead."""
    toml = tmp_path / "t.toml"
    toml.write_text('secret_key = "oops"\n')
    with pytest.raises(ConfigError, match="never in the TOML file") as caught:
        load_settings({}, toml)
    assert "oops" not in str(caught.value)


def test_unknown_toml_key_and_bad_values_are_clear_errors(tmp_path: Path) -> None:
    """Typos and out-of-range values give one readable ConfigError."""
    toml = tmp_path / "t.toml"
    toml.write_text("concurency = 3\n")
    with pytest.raises(ConfigError, match="unknown keys: concurency"):
        load_settings({}, toml)
    with pytest.raises(ConfigError, match="concurrency"):
        load_settings({"concurrency": 0}, None)
    with pytest.raises(ConfigError, match="delimiter"):
        load_settings({"delimiter": "|"}, None)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({}, tmp_path / "missing.toml")


def test_delimiter_names_and_base_url_normalised() -> None:
    """'tab' means a tab; a trailing slash on the base URL is dropped."""
    settings = load_settings({"delimiter": "tab", "base_url": "http://127.0.0.1:9/"}, None)
    assert settings.delimiter == "\t"
    assert settings.base_url == "http://127.0.0.1:9"


def test_credentials_from_thumbsweep_then_ncloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """THUMBSWEEP_* keys win; NCLOUD_* are the fallback; the secret is a SecretStr."""
    monkeypatch.setenv("NCLOUD_ACCESS_KEY", "nc-ak")
    monkeypatch.setenv("NCLOUD_SECRET_KEY", "nc-sk")
    access, secret = load_credentials().require()
    assert (access, secret.get_secret_value()) == ("nc-ak", "nc-sk")
    monkeypatch.setenv("THUMBSWEEP_ACCESS_KEY", "ts-ak")
    access, secret = load_credentials().require()
    assert access == "ts-ak"
    assert "nc-sk" not in repr(load_credentials())


def test_credentials_from_dotenv_and_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .env file and a secrets directory (one file per key) both supply credentials."""
    (Path.cwd() / ".env").write_text("THUMBSWEEP_ACCESS_KEY=dot-ak\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "THUMBSWEEP_SECRET_KEY").write_text("file-sk\n")
    monkeypatch.setenv("THUMBSWEEP_SECRETS_DIR", str(secrets))
    access, secret = load_credentials().require()
    assert (access, secret.get_secret_value()) == ("dot-ak", "file-sk")


def test_missing_credentials_name_the_variables() -> None:
    """Without keys, the error names the variables to set and nothing else."""
    with pytest.raises(ConfigError, match="THUMBSWEEP_SECRET_KEY"):
        load_credentials().require()
