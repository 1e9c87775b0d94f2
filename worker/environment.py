"""The THUMBSWEEP_ environment as a run sees it: names no setting reads are refused (a typo would
silently do nothing), and where the credentials were found is told without their values."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from dotenv import dotenv_values

from worker.errors import ConfigError

ENV_PREFIX = "THUMBSWEEP_"
# THUMBSWEEP_ names that are no setting of their own but are read all the same.
OTHER_ENV_NAMES = frozenset(
    ENV_PREFIX + name
    for name in ("ACCESS_KEY", "SECRET_KEY", "CONFIG", "SECRETS_DIR", "SHARD_COUNT")
)
# Each credential's variable, then its fallback (the order `Credentials` reads them in).
CREDENTIAL_NAMES = (
    ("THUMBSWEEP_ACCESS_KEY", "NCLOUD_ACCESS_KEY"),
    ("THUMBSWEEP_SECRET_KEY", "NCLOUD_SECRET_KEY"),
)


def check_environment_names(setting_names: Iterable[str]) -> None:
    """Refuse THUMBSWEEP_ variables that are neither a setting's name nor one of the others."""
    known = set(setting_names) | OTHER_ENV_NAMES
    unknown = sorted(
        name for name in os.environ
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in known
    )  # fmt: skip
    if not unknown:
        return
    described = []
    for name in unknown:
        close = difflib.get_close_matches(name.upper(), sorted(known), n=1)
        described.append(f"{name} (did you mean {close[0]}?)" if close else name)
    raise ConfigError(
        f"unknown environment variable{'s' if len(unknown) > 1 else ''} "
        f"{', '.join(described)}: every THUMBSWEEP_ name is a setting (see `thumbsweep run "
        "--help`) or one of " + ", ".join(sorted(OTHER_ENV_NAMES))
    )


def credentials_origin(secrets_dir: Path | None) -> str:
    """Where each key is found, by the credentials' precedence (environment, `.env`, secrets
    directory): names and places only, e.g. "the environment (THUMBSWEEP_ACCESS_KEY, ...)"."""
    dotenv_file = Path(".env")
    dotenv = (
        {k: v or "" for k, v in dotenv_values(dotenv_file).items()} if dotenv_file.is_file() else {}
    )
    places: dict[str, list[str]] = {}
    for names in CREDENTIAL_NAMES:
        for name in names:
            if os.environ.get(name, "").strip():
                place = "the environment"
            elif (dotenv.get(name) or "").strip():
                place = ".env"
            elif secrets_dir is not None and (secrets_dir / name).is_file():
                place = f"the secrets directory {secrets_dir}"
            else:
                continue
            places.setdefault(place, []).append(name)
            break
    return (
        ", ".join(f"{place} ({', '.join(names)})" for place, names in places.items()) or "nowhere"
    )
