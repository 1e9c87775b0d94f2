"""The tool's own small error tree; each error knows the exit code it ends a run with."""

from __future__ import annotations


class ThumbsweepError(Exception):
    """A problem reported to the user as one clear line, without a traceback."""

    exit_code = 2


class InputError(ThumbsweepError):
    """The input cannot be read at all (missing file, not UTF-8, missing columns)."""


class ConfigError(ThumbsweepError):
    """Settings, credentials or the ledger path are not usable."""


class LedgerBusyError(ThumbsweepError):
    """Another run holds the ledger's lock; try again later (EX_TEMPFAIL)."""

    exit_code = 75
