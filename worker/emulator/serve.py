"""`thumbsweep emulate`: run one emulator from the command line until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import fields
from pathlib import Path

from dotenv import dotenv_values

from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.errors import ConfigError

__all__ = ["emulate_main", "run_emulator", "serve_forever"]

_CONFIG_FIELDS = {f.name for f in fields(EmulatorConfig)}


async def serve_forever(config: EmulatorConfig) -> None:
    """Serve until SIGINT or SIGTERM, after printing the one "listening" line."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Emulator(config) as emulator:
            print(f"thumbsweep emulator listening on {emulator.base_url}", flush=True)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run_emulator(config: EmulatorConfig) -> int:
    """Blocking form of `serve_forever`; returns the exit code (0 after a signal)."""
    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C before the handlers are installed
        asyncio.run(serve_forever(config))
    return 0


def _dotenv_keys() -> dict[str, str]:
    """The key pair from the environment, else from `.env` in the working directory, as
    `thumbsweep run` reads them, so that one `.env` serves both."""
    dotenv_file = Path(".env")
    dotenv = dotenv_values(dotenv_file) if dotenv_file.is_file() else {}
    keys = {}
    for option in ("access_key", "secret_key"):
        name = "THUMBSWEEP_" + option.upper()
        value = os.environ.get(name) or dotenv.get(name)
        if value and value.strip():
            keys[option] = value.strip()
    return keys


def _log_requests(verbose: int) -> None:
    """At -v, one line per request on stderr; otherwise only warnings."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s emulator %(message)s"))
    request_log = logging.getLogger("thumbsweep.emulator")
    request_log.addHandler(handler)
    request_log.setLevel(logging.INFO if verbose else logging.WARNING)
    request_log.propagate = False


def emulate_main(args: argparse.Namespace) -> int:
    """Run the emulator from parsed `add_emulator_arguments` options."""
    _log_requests(getattr(args, "verbose", 0))
    options = {name: value for name, value in vars(args).items() if name in _CONFIG_FIELDS}
    for option, value in _dotenv_keys().items():  # a flag given wins
        options[option] = options.get(option) or value
    try:  # a key left out (None) falls back to the environment or the demo key
        config = EmulatorConfig(**{k: v for k, v in options.items() if v is not None})
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return run_emulator(config)
    except ValueError as exc:  # an unreadable --state file
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"cannot listen: {exc.strerror or exc}") from None
