"""The `thumbsweep` command line: the `run` flags built from the settings' fields (name, type,
help and default all come from `Settings`), `emulate`'s flags, strict matching with "did you
mean", and the exit-code table shown by `run --help`."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import UnionType
from typing import Any, Literal, NoReturn, Union, get_args, get_origin

from worker import __version__
from worker.emulator.options import add_emulator_arguments
from worker.errors import ExitCode
from worker.observe.console import json_line
from worker.report.options import EXIT_CODES as REPORT_EXIT_CODES
from worker.report.options import add_report_arguments
from worker.settings import Settings, default_text

# Settings that are no flag of their own: -v and -q move the log level.
_NOT_FLAGS = frozenset({"log_level"})

# The exit codes of `thumbsweep run`, shown by `run --help`; README's table says the same
# (tests/test_cli.py compares them).
EXIT_CODES: tuple[tuple[str, str], ...] = (
    ("0", "every id deleted (with --dry-run: every row valid)"),
    ("1", "incomplete, and a later --resume can make progress (retryable failures or skipped "
     "ids left)"),
    ("2", "usage, configuration or unreadable input: nothing sent"),
    ("3", "stopped by a guard (credentials refused, API unreachable, failure-rate breaker, "
     "--max-deletes, preflight)"),
    ("4", "finished; nothing a retry could fix is left, but permanent failures or invalid rows "
     "need a person (--resume holds them back; --retry-permanent sends them again)"),
    ("70", "internal error in thumbsweep (rerun with -v); --resume continues"),
    ("74", "an output (the ledger, --failed-out) could not be written; fix it, then --resume"),
    ("75", "another run holds the ledger's lock: nothing read or sent; try again later"),
    ("129/130/143", "stopped by SIGHUP/SIGINT/SIGTERM; the ledger is consistent, --resume "
     "continues"),
)  # fmt: skip


def _exit_code_epilog(table: tuple[tuple[str, str], ...] = EXIT_CODES) -> str:
    width = max(len(codes) for codes, _ in table)
    lines = [f"  {codes:<{width}}  {meaning}" for codes, meaning in table]
    return "exit codes:\n" + "\n".join(lines)


def _add_settings_flags(run: argparse.ArgumentParser) -> None:
    """One flag per setting, in the model's order: `--max-ids-per-request` for
    `max_ids_per_request`, typed from its annotation, helped by its description and default."""
    for name, field in Settings.model_fields.items():
        if name in _NOT_FLAGS:
            continue
        flag = "--" + name.replace("_", "-")
        if field.annotation is bool:
            run.add_argument(flag, dest=name, action="store_true", help=field.description)
            continue
        shown = default_text(name)
        if not any(char.isalnum() for char in shown):
            shown = f"'{shown}'"  # a bare "," would be lost in the sentence
        text = f"{field.description} (default: {shown})"
        run.add_argument(flag, dest=name, type=_flag_type(field.annotation), help=text)


def _flag_type(annotation: Any) -> Callable[[str], Any]:
    """How argparse converts a flag's text: the field's type without None; str for a Literal
    (pydantic checks the choice and says what is allowed)."""
    kinds = [annotation]
    if get_origin(annotation) in (Union, UnionType):
        kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    if len(kinds) == 1 and get_origin(kinds[0]) is Literal:
        return str
    if len(kinds) == 1 and kinds[0] in (str, int, float, Path):
        converter: Callable[[str], Any] = kinds[0]
        return converter
    raise TypeError(f"no command-line type for a setting annotated {annotation!r}")


class _Parser(argparse.ArgumentParser):
    """argparse that takes no abbreviations (`--dry` must not mean `--dry-run` in a delete tool),
    and answers a mistyped flag with the flag meant."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # also for the subcommands it creates
        super().__init__(*args, **kwargs)
        self.command_flags: dict[str, list[str]] = {}

    def parse_command(self, argv: Sequence[str] | None) -> argparse.Namespace:
        """Parse argv; an unknown argument is an error that suggests its command's flag."""
        _usage_as_json[0] = _wants_json(sys.argv[1:] if argv is None else list(argv))
        args, extras = self.parse_known_args(argv)
        if extras:
            flags = self.command_flags.get(args.command, [])
            hints = [hint for hint in (_did_you_mean(extra, flags) for extra in extras) if hint]
            self.error(f"unrecognized arguments: {' '.join(extras)}{''.join(hints)}")
        return args

    def error(self, message: str) -> NoReturn:
        """A usage error: argparse's usage and message, or one JSON object when JSON output was
        asked for (by flag or environment), so a log collector sees even this line; exit 2."""
        if not _usage_as_json[0]:
            super().error(message)
        print(json_line("error", f"{self.prog}: {message}", event="usage"), file=sys.stderr)
        sys.exit(ExitCode.USAGE)


# Whether the argv being parsed asks for JSON output (read before parsing can fail).
_usage_as_json = [False]


def _wants_json(argv: list[str]) -> bool:
    """`--log-format json` (or `=json`) in argv, else THUMBSWEEP_LOG_FORMAT=json."""
    for index, word in enumerate(argv):
        if word == "--log-format" and index + 1 < len(argv):
            return argv[index + 1].strip().lower() == "json"
        if word.startswith("--log-format="):
            return word.split("=", 1)[1].strip().lower() == "json"
    return os.environ.get("THUMBSWEEP_LOG_FORMAT", "").strip().lower() == "json"


def _did_you_mean(given: str, flags: list[str]) -> str:
    """ " (did you mean --flag?)" for an unknown flag close to a known one, else ""."""
    if not given.startswith("--"):
        return ""
    name = given.split("=", 1)[0]
    prefixed = [flag for flag in flags if flag.startswith(name)]
    close = prefixed if len(prefixed) == 1 else difflib.get_close_matches(name, flags, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _long_flags(parser: argparse.ArgumentParser) -> list[str]:
    """The --long option strings a parser accepts."""
    return [o for action in parser._actions for o in action.option_strings if o.startswith("--")]


def build_parser() -> _Parser:
    """The `thumbsweep` argument parser: `run` (its flags built from the settings), `emulate`
    and `report`."""
    parser = _Parser(
        prog="thumbsweep",
        description="Remove NAVER Cloud Media Intelligence person thumbnails in bulk.",
    )
    parser.add_argument("--version", action="version", version=f"thumbsweep {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="remove the thumbnails listed in a CSV or JSON Lines input",
        description="Remove the thumbnails listed in INPUT; write one ledger record per batch.",
        epilog=_exit_code_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    run.add_argument("input", nargs="?", default="-", help="input file, or - for stdin")
    _add_settings_flags(run)
    run.add_argument("--config", type=Path, help="TOML settings file "
                     "(default: config/thumbsweep.toml if present)")  # fmt: skip
    run.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    run.add_argument(
        "-q", "--quiet", action="count", default=0, help="less logging (-q also silences progress)"
    )

    emulate = commands.add_parser(
        "emulate",
        help="serve a local Media Intelligence endpoint for tests and demos",
        description="Serve a local Media Intelligence endpoint (in memory) until interrupted.",
    )
    add_emulator_arguments(emulate)

    report = commands.add_parser(
        "report",
        help="what happened to every id, across runs, read back from ledgers",
        description="Report the final state of every id in LEDGER(s), each run, and what is\n"
        "left and why; or look up one person or id (--person, --id).",
        epilog=_exit_code_epilog(REPORT_EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arguments(report)
    report.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (e.g. an error's details)"
    )
    report.add_argument("-q", "--quiet", action="count", default=0, help="no warnings")
    parser.command_flags = {
        "run": _long_flags(run), "emulate": _long_flags(emulate), "report": _long_flags(report),
    }  # fmt: skip
    return parser
