"""The exit codes, and the tool's own small error tree; each error knows the exit code it ends a
run with."""

from __future__ import annotations

import errno
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Every exit code of `thumbsweep run` (README and `run --help` list the same)."""

    OK = 0  # every id deleted
    INCOMPLETE = 1  # something a later --resume can progress is left (retryable or skipped)
    USAGE = 2  # usage, configuration or unreadable input: nothing sent
    GUARD = 3  # a guard stopped the run
    NEEDS_PERSON = 4  # finished; nothing a retry could fix, but permanent failures or invalid rows
    INTERNAL = 70  # EX_SOFTWARE: a bug in thumbsweep
    IOERR = 74  # EX_IOERR: the ledger or --failed-out could not be written
    TEMPFAIL = 75  # EX_TEMPFAIL: another run holds the ledger's lock
    SIGHUP = 129  # 128 + the signal's number
    SIGINT = 130
    SIGTERM = 143


class ThumbsweepError(Exception):
    """A problem reported to the user as one clear line, without a traceback."""

    exit_code: int = ExitCode.USAGE


class InputError(ThumbsweepError):
    """The input cannot be read at all (missing file, not UTF-8, missing columns)."""


class ConfigError(ThumbsweepError):
    """Settings, credentials or the ledger path are not usable."""


class LedgerBusyError(ThumbsweepError):
    """Another run holds the ledger's lock; try again later (EX_TEMPFAIL)."""

    exit_code = ExitCode.TEMPFAIL


class LedgerCorruptError(ConfigError):
    """A line in the middle of the ledger cannot be read (for --resume)."""


class TooManyDeletesError(ThumbsweepError):
    """The input holds more ids than --max-deletes allows; nothing was sent."""

    exit_code = ExitCode.GUARD


class LedgerWriteError(ThumbsweepError):
    """The ledger could not be written or flushed; what it holds is complete lines only."""

    exit_code = ExitCode.IOERR

    def __init__(self, path: Path, error: OSError | str) -> None:
        self.path = path
        self.reason = error if isinstance(error, str) else describe_os_error(error)
        super().__init__(f"cannot write the ledger '{path}': {self.reason}")


def describe_os_error(error: OSError) -> str:
    """Plain words for an OSError, e.g. 'No space left on device (ENOSPC)'."""
    name = errno.errorcode.get(error.errno or 0)
    words = error.strerror or type(error).__name__
    return f"{words} ({name})" if name else words
