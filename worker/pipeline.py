"""A whole run: input → per-person batches → N senders → ledger, then the exit code.

A fixed pool of `concurrency` senders pulls batches from one shared iterator, so neither tasks
nor requests in flight ever exceed the bound, and nothing is created per input row. Every batch
and invalid row ends with exactly one ledger record, written as soon as its outcome is known.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from pydantic import SecretStr

from worker import __version__
from worker.batching import Batcher, PersonBatch, Plan
from worker.budget import RetryBudget
from worker.client import Outcome, ThumbnailApi, encode_body
from worker.errors import ThumbsweepError
from worker.failed_out import FailedOut
from worker.guards import EXIT_GUARD, FailureBreaker, Guard
from worker.jobs import InvalidRow, Job, read_jobs
from worker.ledger import Ledger, LedgerRecord, Status
from worker.metrics import Metrics, RunLabels
from worker.progress import ProgressReporter
from worker.resume import read_deleted
from worker.retry import RetryPolicy
from worker.settings import Settings
from worker.shutdown import StopSignals, pushing_metrics
from worker.signing import Signer
from worker.summary import RunStats
from worker.throttle import RateLimiter

log = logging.getLogger("thumbsweep")

EXIT_OK = 0
EXIT_INCOMPLETE = 1
_LOGGED_FAILURES = 5
_NOT_SENT = Outcome(deleted=False, sent=False)
# The API's code for "a person must keep a thumbnail" is undocumented, so the refusal is
# recognised by its wording (a 400 that speaks of the last / at least one thumbnail).
_LAST_THUMBNAIL = re.compile(
    r"thumbnail.*(last|at least one|without|no more|remain)|(last|at least one) thumbnail",
    re.IGNORECASE,
)


class TooManyDeletesError(ThumbsweepError):
    """The input holds more ids than --max-deletes allows; nothing was sent."""

    exit_code = EXIT_GUARD


def new_run_id() -> str:
    """A sortable, unique id for one run, e.g. 20261124T140102Z-3f9a2c."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def auth_stop_reason(outcome: Outcome) -> str:
    """Plain words for a 401/403: which credentials to check, and the clock."""
    detail = f"HTTP {outcome.http_status}"
    if outcome.code:
        detail += f", code {outcome.code}"
    if outcome.message:
        detail += f": {outcome.message}"
    return (
        f"the API refused the credentials ({detail}). Check THUMBSWEEP_ACCESS_KEY and "
        "THUMBSWEEP_SECRET_KEY (or NCLOUD_ACCESS_KEY / NCLOUD_SECRET_KEY) and the key's "
        "permissions, and that this machine's clock is right: the gateway refuses signatures "
        "whose timestamp is 5 minutes or more off"
    )


def failure_message(outcome: Outcome, attempts: int) -> str:
    """The ledger message of a batch that failed permanently."""
    if outcome.retryable:
        return (
            f"gave up after {attempts} attempts: {outcome.message}; "
            "rerun with --resume to try these ids again"
        )
    if outcome.http_status == 400 and _LAST_THUMBNAIL.search(outcome.message):
        return (
            f"refused: {outcome.message} (a person must keep at least one thumbnail, so this "
            "removal would have left the person without any; not retried)"
        )
    return outcome.message


@dataclass
class RunResult:
    """How a run ended."""

    run_id: str
    plan: Plan
    stats: RunStats
    stop_reason: str | None = None
    stop_exit_code: int = 0

    @property
    def exit_code(self) -> int:
        """0 all done; 1 failed, skipped or invalid entries; 3 guard; 130/143 signals."""
        if self.stop_reason is not None:
            return self.stop_exit_code
        if any(self.stats.requests[status] for status in ("failed", "skipped", "invalid")):
            return EXIT_INCOMPLETE
        return EXIT_OK


class Sweep:
    """Sends every batch through the retry policy and records each outcome."""

    def __init__(
        self,
        settings: Settings,
        api: ThumbnailApi,
        ledger: Ledger,
        stats: RunStats,
        run_id: str,
        failed_out: FailedOut | None = None,
    ) -> None:
        self._settings = settings
        self._failed_out = failed_out
        self._api = api
        self._ledger = ledger
        self._stats = stats
        self._run_id = run_id
        self.guard = Guard()
        self._limiter = RateLimiter(settings.rate)
        self._budget = RetryBudget()
        self._breaker = FailureBreaker(
            self.guard, settings.breaker_min_batches, settings.max_failure_rate
        )
        self._policy = RetryPolicy(
            settings.max_attempts,
            self.guard,
            settings.backoff_initial,
            settings.backoff_max,
            settings.retry_after_max,
            on_retry=self._on_retry,
        )
        self._senders: list[asyncio.Task[None]] = []

    def _on_retry(self, outcome: Outcome) -> None:
        self._stats.retries += 1
        log.debug("retrying after: %s", outcome.message or f"HTTP {outcome.http_status}")

    def stop(self, reason: str, exit_code: int) -> None:
        """Stop starting batches and attempts; requests in flight may finish."""
        self.guard.trip(reason, exit_code)

    def cancel_in_flight(self) -> None:
        """Cancel the senders now; their batches are recorded as skipped."""
        for task in self._senders:
            task.cancel()

    async def send_all(self, batches: Iterator[PersonBatch]) -> None:
        """Run the sender pool over the batches; after a stop, record the rest as skipped."""
        self._senders = [
            asyncio.create_task(self._sender(batches), name=f"sender-{index}")
            for index in range(self._settings.concurrency)
        ]
        await asyncio.gather(*self._senders, return_exceptions=True)
        for batch in batches:  # left over when the senders were cancelled
            self._record_skipped(batch, 0, None)

    async def _sender(self, batches: Iterator[PersonBatch]) -> None:
        for batch in batches:
            if self.guard.tripped:
                self._record_skipped(batch, 0, None)
            else:
                await self._send(batch)

    async def _send(self, batch: PersonBatch) -> None:
        body = encode_body(batch.thumbnail_ids)
        started = time.perf_counter()
        last_sent: Outcome | None = None
        sent = 0

        async def attempt(number: int) -> Outcome:
            nonlocal last_sent, sent
            if number > 1:
                await self._budget.wait_for_retry(self.guard)
            if self.guard.tripped:
                return _NOT_SENT
            start = await self._limiter.acquire(self.guard)
            if self.guard.tripped:
                return _NOT_SENT
            self._budget.record(is_retry=number > 1)
            sent += 1
            outcome = await self._api.remove(batch, body)
            last_sent = outcome
            self._stats.record_attempt(outcome.latency, outcome.http_status)
            if outcome.http_status == 429:
                self._limiter.on_throttled(start, outcome.retry_after)
            elif outcome.http_status is not None:
                self._limiter.on_accepted()
            if outcome.auth_failure:
                self.guard.trip(auth_stop_reason(outcome))
            return outcome

        try:
            outcome = await attempt(1)  # directly: the retry policy is needed only for a retry
            attempts = int(outcome.sent)
            if self._policy.retries(outcome):
                outcome, attempts = await self._policy.retry(outcome, attempt)
        except asyncio.CancelledError:
            elapsed_ms = round((time.perf_counter() - started) * 1000)
            message = (
                "interrupted in flight: the run stopped "
                f"({self.guard.reason or 'cancelled'}); the delete may or may not have been "
                "applied, so --resume sends these ids again"
            )
            self._write(batch, "skipped", last_sent, sent, elapsed_ms, message=message)
            raise
        self._finish(batch, outcome, last_sent, attempts, started)

    def _finish(
        self,
        batch: PersonBatch,
        outcome: Outcome,
        last_sent: Outcome | None,
        attempts: int,
        started: float,
    ) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        if outcome.deleted:
            self._write(
                batch, "deleted", outcome, attempts, elapsed_ms,
                remaining=outcome.remaining_ids, primary=outcome.primary_id,
            )  # fmt: skip
            self._breaker.record(failed=False)
            return
        if not outcome.sent or (outcome.retryable and self.guard.tripped):
            self._record_skipped(batch, attempts, last_sent, elapsed_ms)
            return
        message = failure_message(outcome, attempts)
        self._write(batch, "failed", outcome, attempts, elapsed_ms, message=message)
        if not outcome.auth_failure:
            self._breaker.record(failed=True)
        failures = self._stats.requests["failed"]
        if failures <= _LOGGED_FAILURES:
            log.warning("person %s/%s failed: %s", batch.workspace, batch.person_id, message)
        if failures == _LOGGED_FAILURES:
            log.warning("further failures are only written to the ledger")

    def _record_skipped(
        self, batch: PersonBatch, attempts: int, last: Outcome | None, elapsed_ms: int | None = None
    ) -> None:
        message = f"not sent: the run stopped ({self.guard.reason or 'stopped'})"
        if last is not None:
            message = f"stopped before retrying ({self.guard.reason}); last attempt: {last.message}"
        self._write(batch, "skipped", last, attempts, elapsed_ms, message=message)

    def _write(
        self,
        batch: PersonBatch,
        status: Status,
        outcome: Outcome | None,
        attempts: int,
        elapsed_ms: int | None,
        *,
        message: str | None = None,
        remaining: tuple[int, ...] | None = None,
        primary: int | None = None,
    ) -> None:
        record = LedgerRecord(
            run_id=self._run_id,
            status=status,
            workspace=batch.workspace,
            person_id=batch.person_id,
            thumbnail_ids=batch.thumbnail_ids,
            http_status=outcome.http_status if outcome else None,
            code=outcome.code if outcome else None,
            message=message if message is not None else (outcome.message if outcome else None),
            attempts=attempts,
            elapsed_ms=elapsed_ms,
            remaining_thumbnail_ids=remaining,
            primary_thumbnail_id=primary,
        )
        _record(self._ledger, self._stats, record)
        if self._failed_out is not None and status in ("failed", "skipped"):
            self._failed_out.add(batch)


def _record(ledger: Ledger, stats: RunStats, record: LedgerRecord) -> None:
    """Write one record to the ledger and count it."""
    ledger.write(record)
    stats.count(record)


@contextmanager
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


def _read_input(source: str, settings: Settings) -> tuple[Batcher, list[InvalidRow]]:
    ledger = settings.output_path(settings.ledger)
    with _cyclic_gc_paused():
        already_deleted = read_deleted(ledger) if settings.resume else None
        batcher = Batcher(already_deleted, settings.shard_spec)
        invalid: list[InvalidRow] = []
        for item in read_jobs(source, settings.format, settings.delimiter):
            if isinstance(item, Job):
                batcher.add(item.workspace, item.person_id, item.thumbnail_ids)
            else:
                invalid.append(item)
    return batcher, invalid


def _log_plan(plan: Plan, invalid: int, settings: Settings) -> None:
    extra = ""
    if settings.resume:
        extra += f", {plan.already_deleted} already deleted per the ledger"
    if settings.shard is not None:
        extra += f", {plan.other_shards} ids left to other shards (shard {settings.shard})"
    log.info(
        "plan%s: %d workspaces, %d persons, %d unique ids to delete (%d duplicates removed%s), "
        "%d requests, %d invalid rows",
        " (dry run)" if settings.dry_run else "", plan.workspaces, plan.persons, plan.unique_ids,
        plan.duplicates, extra, plan.requests, invalid,
    )  # fmt: skip


def _check_max_deletes(plan: Plan, settings: Settings) -> None:
    limit = settings.max_deletes
    total = plan.unique_ids + plan.already_deleted
    if limit is not None and total > limit:
        raise TooManyDeletesError(
            f"refusing to run: the input holds {total} unique ids, more than --max-deletes "
            f"{limit}. Nothing was sent. Check that this is the right file, or raise the limit"
        )


async def run(
    settings: Settings, source: str, credentials: tuple[str, SecretStr] | None
) -> RunResult:
    """Read all input, then write invalid rows and send (or dry-run) every batch.

    Input is read in full before anything is sent, because batching groups a person's ids
    across the whole input; unreadable input therefore stops the run with nothing sent.
    """
    run_id = new_run_id()
    stats = RunStats()
    batcher, invalid = _read_input(source, settings)
    plan = batcher.plan(settings.max_ids_per_request)
    _log_plan(plan, len(invalid), settings)
    _check_max_deletes(plan, settings)
    ledger = Ledger(settings.output_path(settings.ledger))
    ledger.open()
    stats.ledger_path = str(ledger.path)
    stats.ids_total = plan.unique_ids
    metrics = Metrics(
        stats,
        RunLabels(run_id, settings.shard or ""),
        None if settings.metrics_file is None else str(settings.output_path(settings.metrics_file)),
        settings.pushgateway,
    )
    failed_out = None
    if settings.failed_out is not None and not settings.dry_run:
        failed_out = FailedOut(settings.output_path(settings.failed_out))
    guard: Guard | None = None
    try:
        if failed_out is not None:
            failed_out.open()
        for row in invalid:
            _record(ledger, stats, LedgerRecord(run_id, "invalid", line=row.line, error=row.error))
        batches = batcher.batches(settings.max_ids_per_request)
        if settings.dry_run:
            for batch in batches:
                _record(ledger, stats, LedgerRecord(
                    run_id, "dry_run", batch.workspace, batch.person_id, batch.thumbnail_ids
                ))  # fmt: skip
        elif plan.requests:
            if credentials is None:
                raise ValueError("credentials are required unless dry_run is set")
            reporter = ProgressReporter(
                run_id, stats, settings.progress_interval, metrics.write_textfile
            )
            guard = await _send(
                settings, credentials, batches, ledger, stats, run_id, failed_out, reporter
            )
    finally:
        stats.finish()
        ledger.close()
        if failed_out is not None:
            failed_out.close()
    stop = (guard.reason, guard.exit_code) if guard is not None else (None, 0)
    result = RunResult(run_id, plan, stats, *stop)
    metrics.labels.exit_code = result.exit_code
    metrics.write_textfile()
    with pushing_metrics(result):  # a signal here ends the run at once: the ledger is complete
        metrics.push()
    return result


async def _send(
    settings: Settings,
    credentials: tuple[str, SecretStr],
    batches: Iterator[PersonBatch],
    ledger: Ledger,
    stats: RunStats,
    run_id: str,
    failed_out: FailedOut | None,
    reporter: ProgressReporter,
) -> Guard:
    access_key, secret_key = credentials
    connector = aiohttp.TCPConnector(limit=settings.concurrency)
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": f"thumbsweep/{__version__}"}
    ) as session:
        # aiohttp silently resends an idempotent request once when a pooled connection breaks.
        # Every request must be an attempt that the retry policy counts, backs off and budgets
        # (and that the ledger's `attempts` reports), so that hidden resend is switched off, as
        # aiohttp's own test client does.
        session._retry_connection = False
        signer = Signer(access_key, secret_key)
        api = ThumbnailApi(session, settings.base_url, signer, settings.timeout)
        sweep = Sweep(settings, api, ledger, stats, run_id, failed_out)
        stats.start_sending()
        reporter.start()
        progress = asyncio.create_task(reporter.run(), name="progress")
        try:
            with StopSignals(sweep.stop, sweep.cancel_in_flight, settings.drain_timeout):
                await sweep.send_all(batches)
        finally:
            progress.cancel()
            await asyncio.gather(progress, return_exceptions=True)
            reporter.finish()
    return sweep.guard
