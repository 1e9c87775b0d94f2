"""A whole run: input → per-person batches → N senders → ledger, then the exit code.

A fixed pool of `concurrency` senders pulls batches from one shared iterator, so neither tasks
nor requests in flight ever exceed the bound, and nothing is created per input row. Every batch
and invalid row ends with exactly one ledger record, written as the event-loop turn that learns
its outcome ends (see `worker.records.recorder`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import secrets
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from worker.api.client import open_api
from worker.clock import run_id_stamp, utc_now_iso
from worker.errors import ExitCode, TooManyDeletesError
from worker.input.batching import Batcher, PersonBatch, Plan
from worker.input.jobs import InvalidRow, Job, read_jobs
from worker.observe.metrics import Metrics
from worker.observe.origin import RunOrigin
from worker.observe.progress import ProgressReporter
from worker.observe.summary import RunStats
from worker.observe.wording import counted
from worker.records.failed_out import FailedOut
from worker.records.ledger import Ledger
from worker.records.record import LedgerRecord
from worker.records.recorder import Recorder
from worker.records.resume import resume_from
from worker.records.run_record import RunRecord
from worker.run_setup import RunSetup
from worker.sending.guards import Guard
from worker.sending.pool import RemoveApi, SenderPool
from worker.sending.preflight import run_preflight
from worker.sending.signals import StopSignals, pushing_metrics
from worker.settings import Settings

log = logging.getLogger("thumbsweep")

SHOWN_INVALID_ROWS = 5
"""How many invalid rows the plan shows on stderr; the ledger has them all."""


def new_run_id() -> str:
    """A sortable, unique id for one run, e.g. 20261124T140102Z-3f9a2c."""
    return f"{run_id_stamp()}-{secrets.token_hex(3)}"


@dataclass
class RunResult:
    """How a run ended."""

    run_id: str
    plan: Plan
    stats: RunStats
    stop_reason: str | None = None
    stop_exit_code: int = 0
    output_errors: list[str] = field(default_factory=list)  # ledger or --failed-out not complete
    retryable_left: int = 0  # failed (retryable) and skipped records: --resume may progress
    needs_person: int = 0  # permanent failures and invalid rows written by this run

    @property
    def exit_code(self) -> int:
        """0 all done; 1 a later --resume can make progress; 4 finished, but permanent failures
        or invalid rows need a person; 3 guard; 70 a bug; 74 an output could not be written (it
        wins: the ledger or --failed-out is not the whole story); 129/130/143 signals.

        1 wins over 4: while a retry can still progress, a cron loop should go on; it ends on
        4 once only what needs a person is left (held back by --resume from then on).
        """
        if self.output_errors:
            return ExitCode.IOERR
        if self.stop_reason is not None:
            return self.stop_exit_code
        if self.retryable_left:
            return ExitCode.INCOMPLETE
        if self.needs_person or self.plan.permanent_failures:
            return ExitCode.NEEDS_PERSON
        return ExitCode.OK


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the input is read.

    Reading builds only acyclic data (strings, ints, arrays, tuples), which reference counting
    frees on its own. Left running, the collector re-scans the batcher's dict every time it
    grows by a quarter, which made a million-person input slower per row than a small one.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_input(source: str, setup: RunSetup) -> tuple[Batcher, list[InvalidRow]]:
    """The input's batches and invalid rows; with --resume, less what the ledger says is done.

    The whole input goes into the batcher first; then the ledger streams past, each deleted
    record dropping its ids from the batcher, so resuming holds nothing of the ledger itself.
    """
    with _cyclic_gc_paused():
        settings = setup.settings
        batcher = Batcher(setup.shard)
        invalid: list[InvalidRow] = []
        for item in read_jobs(source, settings.format, settings.delimiter, settings.encoding):
            if isinstance(item, Job):
                batcher.add(item.workspace, item.person_id, item.thumbnail_ids)
            else:
                invalid.append(item)
        if settings.resume:
            resume_from(setup.outputs.ledger, batcher, retry_permanent=settings.retry_permanent)
    return batcher, invalid


def _log_plan(
    plan: Plan, invalid: list[InvalidRow], settings: Settings, origin: RunOrigin | None
) -> None:
    """One plan line (what will be sent, then where to and what is written), then the first
    invalid rows."""
    extra = ""
    if settings.resume:
        extra += f", {plan.already_deleted:,} already deleted per the ledger"
        if plan.permanent_failures:
            extra += (
                f", {plan.permanent_failures:,} held back as permanent failures "
                "(--retry-permanent sends them)"
            )
    if settings.shard is not None:
        extra += (
            f", {counted(plan.other_shards, 'id')} left to other shards (shard {settings.shard})"
        )
    log.info(
        "plan%s: %s, %s, %s to delete (%s removed%s), %s, %s%s",
        " (dry run)" if settings.dry_run else "", counted(plan.workspaces, "workspace"),
        counted(plan.persons, "person"), counted(plan.unique_ids, "unique id"),
        counted(plan.duplicates, "duplicate"), extra, counted(plan.requests, "request"),
        counted(len(invalid), "invalid row"), "" if origin is None else "; " + origin.plan_line(),
    )  # fmt: skip
    _log_invalid_rows(invalid)


def _log_invalid_rows(invalid: list[InvalidRow]) -> None:
    """The first few invalid rows, so a wrong file shows itself before the ledger is read."""
    for row in invalid[:SHOWN_INVALID_ROWS]:
        log.warning("invalid row at line %s: %s", f"{row.line:,}", row.error)
    hidden = len(invalid) - SHOWN_INVALID_ROWS
    if hidden > 0:
        log.warning("... and %s (the ledger has them all)", counted(hidden, "more invalid row"))


def _check_max_deletes(plan: Plan, settings: Settings) -> None:
    limit = settings.max_deletes
    total = plan.unique_ids + plan.already_deleted + plan.permanent_failures
    if limit is not None and total > limit:
        raise TooManyDeletesError(
            f"refusing to run: the input holds {counted(total, 'unique id')}, more than "
            f"--max-deletes {limit}. Nothing was sent. Check that this is the right file, or "
            "raise the limit"
        )


async def run(
    setup: RunSetup,
    source: str,
    credentials: tuple[str, SecretStr] | None,
    api: RemoveApi | None = None,
    *,
    origin: RunOrigin | None = None,
    sample_rng: random.Random | None = None,
    metrics: Metrics | None = None,
) -> RunResult:
    """Read all input, then write invalid rows and send (or dry-run) every batch.

    Input is read in full before anything is sent, because batching groups a person's ids
    across the whole input; unreadable input therefore stops the run with nothing sent.
    `api` replaces the real HTTP client (tests drive the senders through it); without it the
    credentials are required unless this is a dry run. `origin` (where the run goes and what
    it writes) joins the plan line. The preflight samples persons with `sample_rng` (tests seed
    it; by default a fresh, unseeded one). `metrics` is the CLI's, which rewrites the textfile
    with the process's exit code on every way out; without it the run makes its own.
    """
    settings, outputs = setup.settings, setup.outputs
    run_id = new_run_id()
    started = utc_now_iso()
    stats = RunStats()
    if metrics is None:
        metrics = Metrics(outputs.metrics_file, settings.pushgateway, settings.shard or "")
    metrics.attach(run_id, stats)
    batcher, invalid = _read_input(source, setup)
    plan = batcher.plan(settings.max_ids_per_request)
    _log_plan(plan, invalid, settings, origin)
    _check_max_deletes(plan, settings)
    if plan.requests:
        await run_preflight(setup, batcher, credentials, api, sample_rng or random.Random())
    ledger = Ledger(outputs.ledger)
    ledger.open()
    stats.ledger_path = str(ledger.path)
    stats.ids_total = plan.unique_ids
    failed_out = None if outputs.failed_out is None else FailedOut(outputs.failed_out)
    recorder = Recorder(ledger, stats, failed_out)
    stop: tuple[str | None, int] = (None, 0)
    finished = False  # the run came to its end (not a bug or signal raised through here)
    try:
        if failed_out is not None:
            failed_out.open()
        for row in invalid:
            recorder.record(LedgerRecord(run_id, "invalid", line=row.line, error=row.error))
        batches = batcher.batches(settings.max_ids_per_request)
        if settings.dry_run:
            for batch in batches:
                recorder.record(LedgerRecord(
                    run_id, "dry_run", batch.workspace, batch.person_id, batch.thumbnail_ids
                ))  # fmt: skip
        elif plan.requests:
            reporter = ProgressReporter(
                run_id, stats, settings.progress_interval, metrics.write_textfile
            )
            guard = await _send(setup, credentials, api, batches, recorder, stats, run_id, reporter)
            stop = (guard.reason, guard.exit_code)
        finished = True
    finally:
        stats.finish()
        if failed_out is not None:
            failed_out.close()
        if finished:
            recorder.flush()  # so that the run record's exit code counts a failed write
            ending = _result(run_id, plan, stats, stop, recorder, failed_out)
            recorder.record_run(_run_record(ending, started, setup))
        recorder.close()
    result = _result(run_id, plan, stats, stop, recorder, failed_out)
    metrics.write_exit(result.exit_code)
    with pushing_metrics(result):  # a signal here ends the run at once: the ledger is complete
        metrics.push()
    return result


def _result(
    run_id: str,
    plan: Plan,
    stats: RunStats,
    stop: tuple[str | None, int],
    recorder: Recorder,
    failed_out: FailedOut | None,
) -> RunResult:
    errors = [e for e in (recorder.ledger_error, failed_out and failed_out.error) if e]
    return RunResult(
        run_id, plan, stats, *stop, output_errors=errors,
        retryable_left=recorder.retryable_left, needs_person=recorder.needs_person,
    )  # fmt: skip


def _run_record(result: RunResult, started: str, setup: RunSetup) -> RunRecord:
    shard = setup.shard
    return RunRecord.of(
        result.run_id, started, result.exit_code, setup.settings.base_url,
        dry_run=setup.settings.dry_run, stats=result.stats,
        shard=None if shard is None else f"{shard.index}/{shard.count}",
    )  # fmt: skip


async def _send(
    setup: RunSetup,
    credentials: tuple[str, SecretStr] | None,
    api: RemoveApi | None,
    batches: Iterator[PersonBatch],
    recorder: Recorder,
    stats: RunStats,
    run_id: str,
    reporter: ProgressReporter,
) -> Guard:
    async with contextlib.AsyncExitStack() as resources:
        if api is None:
            if credentials is None:
                raise ValueError("credentials are required unless dry_run is set")
            api = await resources.enter_async_context(
                open_api(setup.api, credentials, setup.sender.concurrency)
            )
        pool = SenderPool(setup.sender, api, recorder, stats, run_id)
        stats.start_sending()
        reporter.start()
        try:
            async with asyncio.TaskGroup() as tasks:
                progress = tasks.create_task(_guarded(reporter.run(), pool), name="progress")
                with StopSignals(pool.stop, pool.cancel_in_flight, setup.sender.drain_timeout):
                    await pool.send_all(batches)
                progress.cancel()
        finally:
            reporter.finish()
    return pool.guard


async def _guarded(side_task: Coroutine[Any, Any, None], pool: SenderPool) -> None:
    """Run a task beside the senders; if it fails (a bug), stop the run as a bug does."""
    try:
        await side_task
    except Exception as exc:
        pool.crash(exc)
