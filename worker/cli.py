"""The `thumbsweep` command: argv → Settings → one run → exit code. Thin by design."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from worker.cli_parser import build_parser
from worker.errors import ExitCode, ThumbsweepError
from worker.observe.console import LogFormat, configure_logging, say, use_format
from worker.observe.pipes import guarded_output
from worker.sending.signals import SIGNAL_EXIT_CODES, StoppedBySignal
from worker.settings import Settings

if TYPE_CHECKING:
    from worker.observe.metrics import Metrics
    from worker.observe.origin import RunOrigin
    from worker.run import RunResult
    from worker.run_setup import RunSetup
    from worker.sending.signals import RunSignals

log = logging.getLogger("thumbsweep")


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
    where = credentials_origin(secrets_dir())
    found = f"from {where}"
    if settings.dry_run:  # a dry run deletes nothing; credentials, when present, only read
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
        # What start-up made (modules, settings, the parsed schema) lives as long as the
        # process: out of the collector's sight, full collections while sending stay short.
        gc.freeze()
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
    # Each call of main starts afresh (tests call it in-process, one after another).
    use_format(_chosen_format(args), progress=True)


def _chosen_format(args: argparse.Namespace) -> LogFormat:
    chosen = getattr(args, "log_format", None) or os.environ.get("THUMBSWEEP_LOG_FORMAT", "")
    return "json" if chosen.strip().lower() == "json" else "text"


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_command(argv)
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
        if args.command == "report":
            from worker.report.command import report_main

            if args.verbose:  # for the traceback of an internal error; warnings need none
                configure_logging("INFO", args.verbose, 0, _chosen_format(args))
            return report_main(args)
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
