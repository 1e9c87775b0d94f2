"""Run settings and credentials, from CLI > environment > .env > TOML file > defaults.

Credentials are a separate model that reads only the environment, `.env` and a secrets
directory, so they can never come from a flag or from a TOML file that may be committed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from worker.environment import ENV_PREFIX, check_environment_names
from worker.errors import ConfigError
from worker.input.decoding import check_encoding
from worker.input.formats import DELIMITERS, InputFormat
from worker.input.sharding import Shard, shard_from_environment
from worker.sending.event_loop import EventLoopChoice

DEFAULT_CONFIG_PATH = Path("config/thumbsweep.toml")
CREDENTIAL_KEYS = frozenset({"access_key", "secret_key"})
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Every option of `thumbsweep run`; each is also THUMBSWEEP_<NAME> and a TOML key.

    The one source of the options: the CLI makes a flag of each field (`--max-attempts` for
    `max_attempts`) with its description and default as help; config/thumbsweep.toml and the
    README's table are checked against the fields (tests/test_documented_options.py).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    # The order here is the order of `thumbsweep run --help`.
    format: InputFormat = Field("auto", description="input format: auto, csv or jsonl")
    delimiter: str = Field(",", description="CSV delimiter: ',' ';' or tab")
    encoding: str = Field(
        "auto",
        description="input encoding: auto (UTF-8, or UTF-16 by its byte-order mark), utf-8, "
        "cp949 (Excel's Korean CSV), utf-16 or any Python codec name",
    )
    ledger: Path = Field(
        Path("thumbsweep-ledger.jsonl"),
        description="results ledger; .csv gives CSV, else JSON Lines; appended to; locked for "
        "the run through LEDGER.lock",
    )
    base_url: str = Field("https://mi.apigw.ntruss.com", description="API base URL")
    method: Literal["delete", "post"] = Field(
        "delete",
        description="remove call: delete (DELETE .../person-thumbnail) or post (POST "
        ".../person-thumbnail/remove, for proxies that drop a DELETE's body)",
    )
    proxy: str | None = Field(
        None,
        repr=False,  # it may hold the proxy's password
        description="HTTP proxy URL for API requests (http://[user:password@]host:port); "
        "wins over HTTPS_PROXY/HTTP_PROXY/NO_PROXY, which are honoured without it",
    )
    ca_bundle: Path | None = Field(
        None,
        description="PEM file of the CAs to trust for the API (e.g. a TLS-inspecting proxy's); "
        "default: SSL_CERT_FILE if set, else the system's",
    )
    concurrency: int = Field(8, ge=1, le=1024, description="most requests in flight at once")
    rate: float = Field(0.0, ge=0, description="most requests started per second, 0 = no limit")
    max_ids_per_request: int = Field(100, ge=1, le=10_000, description="ids per request")
    max_attempts: int = Field(6, ge=1, le=100, description="attempts per request, first included")
    timeout: float = Field(30.0, gt=0, description="seconds for one attempt")
    backoff_initial: float = Field(0.5, ge=0, description="first backoff window, s")
    backoff_max: float = Field(30.0, ge=0, description="largest backoff window, s")
    retry_after_max: float = Field(60.0, ge=0, description="cap on a Retry-After, s")
    drain_timeout: float = Field(
        10.0, ge=0, le=600,
        description="on SIGTERM/SIGINT/SIGHUP, seconds to let requests in flight finish",
    )  # fmt: skip
    breaker_min_batches: int = Field(
        100, ge=1, description="finished batches before the failure-rate breaker may trip"
    )
    max_failure_rate: float = Field(
        0.5, ge=0, le=1,
        description="stop (exit 3) when more than this share of finished batches failed",
    )  # fmt: skip
    max_deletes: int | None = Field(
        None, ge=0, description="refuse (exit 3) an input with more unique ids"
    )
    preflight: int = Field(
        20, ge=0,
        description="before the first DELETE, look up this many sampled persons and stop "
        "(exit 3) if too few of their ids exist; also in --dry-run with credentials; 0 = off",
    )  # fmt: skip
    preflight_min_match: float = Field(
        0.5, ge=0, le=1,
        description="the least share of the sampled ids that must exist on their persons",
    )  # fmt: skip
    shard: str | None = Field(
        default_factory=shard_from_environment, validate_default=True,
        description="I/N: only the persons whose stable hash mod N is I; the shard writes its "
        "own ledger, NAME.shard-I-of-N.EXT",
    )  # fmt: skip
    progress_interval: float = Field(
        10.0, ge=0,
        description="seconds between JSON progress lines when stderr is not a terminal; "
        "0 = none",
    )  # fmt: skip
    log_format: Literal["text", "json"] = Field("text", description="text or json, for all logs")
    metrics_file: Path | None = Field(
        None,
        description="Prometheus textfile, rewritten atomically while running and at exit",
    )
    pushgateway: str | None = Field(
        None, description="Prometheus Pushgateway URL to push to at the end"
    )
    failed_out: Path | None = Field(
        None,
        description="write every id that did not end deleted as a CSV in the input format, "
        "ready to feed back",
    )
    event_loop: EventLoopChoice = Field(
        "auto",
        description="auto, asyncio or uvloop; auto takes uvloop when the uvloop extra is installed",
    )
    dry_run: bool = Field(
        False,
        description="validate, batch and write dry_run records; delete nothing; needs no "
        "credentials (with them, the preflight's read-only look-ups run)",
    )
    resume: bool = Field(
        False,
        description="skip the ids the ledger records as deleted, and those whose latest record "
        "is a permanent failure; append to it",
    )
    retry_permanent: bool = Field(
        False,
        description="with --resume, send again the ids whose latest record is a permanent "
        "failure (after a person fixed the cause)",
    )
    log_level: LogLevel = Field(
        "INFO", description="DEBUG, INFO, WARNING or ERROR; -v and -q move it one step"
    )

    @field_validator("shard")
    @classmethod
    def _shard_spec(cls, value: str | None) -> str | None:
        return None if value is None else str(Shard.parse(value))

    @property
    def shard_spec(self) -> Shard | None:
        """The parsed --shard, if any."""
        return None if self.shard is None else Shard.parse(self.shard)

    @field_validator("delimiter")
    @classmethod
    def _known_delimiter(cls, value: str) -> str:
        try:
            return DELIMITERS[value]
        except KeyError:
            raise ValueError("must be ',', ';' or tab") from None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        return check_encoding(value)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or "?" in value:
            raise ValueError("must be an http:// or https:// URL without a query string")
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        # The message never quotes the value: it may hold the proxy's password.
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")) or "@" in value.rsplit("@", 1)[-1]:
            raise ValueError("must be an http:// or https:// proxy URL")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """CLI values (passed as init arguments) win, then env, then .env, then TOML."""
        toml_values = _TOML_VALUES.get(settings_cls, {})
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            InitSettingsSource(settings_cls, init_kwargs=toml_values),
        )


# What a setting left unset (None) means, where the help and the README show its default.
_UNSET_MEANING = {"max_deletes": "no limit", "shard": "all"}


def default_text(name: str) -> str:
    """A setting's built-in default as `run --help` and the README show it: `30`, off, none."""
    field = Settings.model_fields[name]
    # A default from a factory (`shard`: an Indexed Job's environment) is unset without one.
    value = None if field.default_factory is not None else field.default
    if value is None:
        return _UNSET_MEANING.get(name, "none")
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# The TOML values for the Settings class being built; set by load_settings just before
# construction (a CLI builds one Settings per process).
_TOML_VALUES: dict[type[BaseSettings], dict[str, Any]] = {}


def read_toml(path: Path) -> dict[str, Any]:
    """Settings from a TOML file, with unknown keys and credentials refused."""
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from None
    leaked = CREDENTIAL_KEYS & values.keys()
    if leaked:
        raise ConfigError(
            f"config file '{path}' holds {', '.join(sorted(leaked))}: credentials belong in the "
            "environment, a .env file or the secrets directory, never in the TOML file"
        )
    unknown = sorted(values.keys() - Settings.model_fields.keys())
    if unknown:
        raise ConfigError(f"config file '{path}' has unknown keys: {', '.join(unknown)}")
    return values


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def config_file(config_path: Path | None) -> Path | None:
    """The TOML file a run reads: --config, else THUMBSWEEP_CONFIG, else the default if present."""
    if config_path is not None:
        return config_path
    env_path = os.environ.get("THUMBSWEEP_CONFIG")
    if env_path:
        return Path(env_path)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def load_settings(overrides: dict[str, Any], config_path: Path | None) -> Settings:
    """Build Settings from CLI overrides and the TOML file (explicit, or the default if present)."""
    check_environment_names(ENV_PREFIX + name.upper() for name in Settings.model_fields)
    config_path = config_file(config_path)
    _TOML_VALUES[Settings] = read_toml(config_path) if config_path is not None else {}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {describe_validation_error(exc)}") from None
    finally:
        _TOML_VALUES.pop(Settings, None)
