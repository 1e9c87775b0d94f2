"""The API key pair: read only from the environment, `.env` or a secrets directory.

A separate model from the settings, so a key can never come from a flag or from a TOML file that
may be committed; the secret key is a `SecretStr`, unwrapped only where a signature is computed.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.errors import ConfigError
from worker.settings import describe_validation_error

DEFAULT_SECRETS_DIR = Path("/run/secrets")


def secrets_dir() -> Path | None:
    """The secrets directory credentials are read from, if it exists."""
    return _secrets_dir()


def _secrets_dir() -> Path | None:
    path = Path(os.environ.get("THUMBSWEEP_SECRETS_DIR", str(DEFAULT_SECRETS_DIR)))
    return path if path.is_dir() else None


class Credentials(BaseSettings):
    """The API key pair: environment, `.env` or a secrets directory only."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    access_key: str | None = Field(
        None, validation_alias=AliasChoices("THUMBSWEEP_ACCESS_KEY", "NCLOUD_ACCESS_KEY")
    )
    secret_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("THUMBSWEEP_SECRET_KEY", "NCLOUD_SECRET_KEY")
    )

    @field_validator("access_key", "secret_key", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    def pair(self) -> tuple[str, SecretStr] | None:
        """The key pair when both keys are set (a dry run uses them if present), else None."""
        if self.access_key is None or self.secret_key is None:
            return None
        return self.access_key, self.secret_key

    def require(self) -> tuple[str, SecretStr]:
        """The key pair, or a ConfigError that says which variable is missing."""
        if self.access_key is None or self.secret_key is None:
            missing = []
            if self.access_key is None:
                missing.append("THUMBSWEEP_ACCESS_KEY (or NCLOUD_ACCESS_KEY)")
            if self.secret_key is None:
                missing.append("THUMBSWEEP_SECRET_KEY (or NCLOUD_SECRET_KEY)")
            raise ConfigError(
                "missing credentials: set "
                + " and ".join(missing)
                + " in the environment, a .env file or the secrets directory"
            )
        return self.access_key, self.secret_key


def load_credentials() -> Credentials:
    """The key pair from the environment, `.env` and the secrets directory."""
    try:
        return Credentials(_secrets_dir=_secrets_dir())
    except ValidationError as exc:
        raise ConfigError(f"invalid credentials: {describe_validation_error(exc)}") from None
