"""The `thumbsweep` command: argv → Settings → one run → exit code. Thin by design."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from worker import __version__
from worker.emulator.options import add_emulator_arguments
from worker.errors import ExitCode, ThumbsweepError
from worker.observe.console import configure_logging, say, use_format
from worker.observe.pipes import guarded_output
from worker.sending.signals import SIGNAL_EXIT_CODES, StoppedBySignal
from worker.settings import Settings, default_text

if TYPE_CHECKING:
    from worker.observe.metrics import Metrics
    from worker.observe.origin import RunOrigin
    from worker.run import RunResult
    from worker.run_setup import RunSetup
    from worker.sending.signals import RunSignals

log = logging.getLogger("thumbsweep")

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


def _exit_code_epilog() -> str:
    width = max(len(codes) for codes, _ in EXIT_CODES)
    lines = [f"  {codes:<{width}}  {meaning}" for codes, meaning in EXIT_CODES]
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
        args, extras = self.parse_known_args(argv)
        if extras:
            flags = self.command_flags.get(args.command, [])
            hints = [hint for hint in (_did_you_mean(extra, flags) for extra in extras) if hint]
            self.error(f"unrecognized arguments: {' '.join(extras)}{''.join(hints)}")
        return args


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


def _build_parser() -> _Parser:
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
    parser.command_flags = {"run": _long_flags(run), "emulate": _long_flags(emulate)}
    return parser


@dataclasses.dataclass
class _RunState:
    """What a run's way out needs, filled in as it becomes known."""

    origin: list[RunOrigin] = dataclasses.field(default_factory=list)  # for a summary after a stop
    metrics: list[Metrics] = dataclasses.field(default_factory=list)  # rewritten with the exit code


def _run_command(args: argparse.Namespace, state: _RunState) -> int:
    from worker.sending.signals import Phase, StoppedBySignal, run_signals

    # The stop handlers come first: from here on SIGINT, SIGTERM and SIGHUP end every phase
    # cleanly (worker/shutdown.py), including a read of stdin that never ends.
    with run_signals() as signals:
        try:
            return _sweep(args, signals, state)
        except StoppedBySignal as stopped:
            signals.enter(Phase.SUMMARY)  # a further signal now waits for these lines
            return _report_stop(stopped, state.origin[0] if state.origin else None)


def _describe_origin(settings: Settings, setup: RunSetup, config_path: Path | None) -> RunOrigin:
    """Where the run goes, what it reads and what it writes (no secret in it)."""
    from worker.credentials import secrets_dir
    from worker.environment import credentials_origin
    from worker.observe.origin import RunOrigin
    from worker.settings import config_file

    outputs = setup.outputs
    found = f"from {credentials_origin(secrets_dir())}"
    if settings.dry_run:  # a dry run deletes nothing; credentials, when present, only read
        where = credentials_origin(secrets_dir())
        found = (
            "none (a dry run needs none)"
            if where == "nowhere"
            else (f"from {where}, for the preflight's look-ups only")
        )
    return RunOrigin.of(
        settings.base_url,
        config_file(config_path),
        found,
        {"ledger": outputs.ledger, "failed-out": outputs.failed_out,
         "metrics": outputs.metrics_file},
    )  # fmt: skip


def _sweep(args: argparse.Namespace, signals: RunSignals, state: _RunState) -> int:
    from worker.credentials import load_credentials
    from worker.observe.metrics import Metrics
    from worker.records.lock import LedgerLock, refuse_input_as_ledger
    from worker.run import run
    from worker.run_setup import RunSetup
    from worker.sending.event_loop import loop_factory, run_on
    from worker.sending.signals import Phase
    from worker.settings import load_settings

    # Flags not given are absent (SUPPRESS), so env, .env and TOML decide them.
    overrides = {name: getattr(args, name) for name in Settings.model_fields if hasattr(args, name)}
    settings = load_settings(overrides, getattr(args, "config", None))
    configure_logging(settings.log_level, args.verbose, args.quiet, settings.log_format)
    # A dry run needs no credentials, but uses them when present: the preflight only reads.
    keys = load_credentials()
    credentials = keys.pair() if settings.dry_run else keys.require()
    loop_name, new_loop = loop_factory(settings.event_loop)
    setup = RunSetup.from_settings(settings)  # the one resolution of paths and options
    origin = state.origin
    origin.append(_describe_origin(settings, setup, getattr(args, "config", None)))
    ledger = setup.outputs.ledger
    refuse_input_as_ledger(args.input, ledger)
    # Locked before the input is read, so a second run gives up at once, and until the summary
    # is printed, so the lock covers everything the run writes.
    with LedgerLock(ledger):
        # From here every way out rewrites the metrics textfile with its exit code (see _main);
        # not before: a run refused the lock (75) must not overwrite the holder's textfile.
        metrics = Metrics(setup.outputs.metrics_file, settings.pushgateway, settings.shard or "")
        state.metrics.append(metrics)
        if args.input == "-" and sys.stdin.isatty():
            say("thumbsweep: reading jobs from stdin (end with Ctrl-D)", "info")
        log.debug("event loop: %s", loop_name)
        result = run_on(
            new_loop, run(setup, args.input, credentials, origin=origin[0], metrics=metrics)
        )
        signals.enter(Phase.SUMMARY)
        _print_summary(result, origin[0])
        held = signals.held_stop()
    if held is not None:
        say(f"thumbsweep: {held.message()}", event="stop")
        return ExitCode.IOERR if result.output_errors else held.exit_code
    return result.exit_code


def _print_summary(result: RunResult, origin: RunOrigin | None) -> None:
    from worker.observe.console import json_line, json_output
    from worker.observe.summary import render_summary, summary_fields

    summary = render_summary(result.run_id, result.stats, result.stop_reason, origin)
    if json_output():  # the same facts as one object; its message is the summary's first line
        fields = summary_fields(result.run_id, result.stats, result.stop_reason, origin)
        print(json_line("info", summary.split("\n", 1)[0], **fields), file=sys.stderr)
    else:
        print(summary, file=sys.stderr)
    if result.stop_reason:
        say(f"thumbsweep: stopped: {result.stop_reason}", event="stop")
    for problem in result.output_errors:
        say(f"thumbsweep: {problem}", event="output_error")


def _report_stop(stopped: StoppedBySignal, origin: RunOrigin | None) -> int:
    """The end of a run stopped by a signal outside sending: summary if any, one line, code."""
    if stopped.result is not None:
        _print_summary(stopped.result, origin)
    say(f"thumbsweep: {stopped.message()}", event="stop")
    if stopped.result is not None and stopped.result.output_errors:
        return ExitCode.IOERR  # an incomplete ledger or --failed-out matters more than the stop
    return stopped.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `thumbsweep` console script and of `python -m worker`."""
    # A reader that goes away (`| head -1`) must not change the exit code: see worker/pipes.py.
    with guarded_output():
        return _main(argv)


def _early_log_format(args: argparse.Namespace) -> None:
    """The output format before the settings are read (so that an error reading them is JSON
    too): the flag, else the environment; the settings confirm it later."""
    chosen = getattr(args, "log_format", None) or os.environ.get("THUMBSWEEP_LOG_FORMAT", "")
    # Each call of main starts afresh (tests call it in-process, one after another).
    use_format("json" if chosen.strip().lower() == "json" else "text", progress=True)


def _main(argv: Sequence[str] | None) -> int:
    args = _build_parser().parse_command(argv)
    state = _RunState()
    _early_log_format(args)
    code = _ended(args, state)
    if state.metrics:  # the textfile tells the truth about how the process ended
        state.metrics[0].write_exit(code)
    return code


def _ended(args: argparse.Namespace, state: _RunState) -> int:
    """Run the command; its exit code, with every fatal error said in one line."""
    try:
        if args.command == "emulate":
            from worker.emulator.serve import emulate_main

            return emulate_main(args)
        return _run_command(args, state)
    except ThumbsweepError as exc:
        say(f"thumbsweep: {exc}", event="fatal", exit_code=int(exc.exit_code))
        return exc.exit_code
    except KeyboardInterrupt:  # before the stop handlers were installed
        say("thumbsweep: interrupted by SIGINT", event="stop")
        return SIGNAL_EXIT_CODES[signal.SIGINT]
    except StoppedBySignal as stopped:  # a signal while the stop itself was being reported
        say(f"thumbsweep: {stopped.message()}", event="stop")
        return stopped.exit_code
    except Exception as exc:  # a bug: say so in one line, keep the traceback for -v
        log.debug("internal error", exc_info=True)
        say(
            f"thumbsweep: internal error ({type(exc).__name__}); rerun with -v for details",
            event="fatal",
        )
        return ExitCode.INTERNAL
