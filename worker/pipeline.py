"""A whole run: input → per-person batches → N senders → ledger, then the exit code.

A fixed pool of `concurrency` senders takes batches from a bounded queue, so neither the tasks
nor the requests in flight ever exceed the bound. Every batch and invalid row ends with exactly
one ledger record, written as soon as its outcome is known.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from pydantic import SecretStr

from worker import __version__
from worker.batching import Batcher, PersonBatch, Plan
from worker.client import Outcome, ThumbnailApi, encode_body
from worker.jobs import InvalidRow, Job, read_jobs
from worker.ledger import Ledger, LedgerRecord, Status
from worker.retry import Guard, RetryPolicy
from worker.settings import Settings
from worker.signing import Signer
from worker.summary import RunStats
from worker.throttle import RateLimiter

log = logging.getLogger("thumbsweep")

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_GUARD = 3
_LOGGED_FAILURES = 5


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


@dataclass
class RunResult:
    """How a run ended."""

    run_id: str
    plan: Plan
    stats: RunStats
    stop_reason: str | None = None

    @property
    def exit_code(self) -> int:
        """0 all done, 1 some ids failed, were skipped or invalid, 3 stopped by a guard."""
        if self.stop_reason is not None:
            return EXIT_GUARD
        if any(self.stats.requests[status] for status in ("failed", "skipped", "invalid")):
            return EXIT_INCOMPLETE
        return EXIT_OK


class Sweep:
    """Sends every batch through the retry policy and records each outcome."""

    def __init__(
        self, settings: Settings, api: ThumbnailApi, ledger: Ledger, stats: RunStats, run_id: str
    ) -> None:
        self._settings = settings
        self._api = api
        self._ledger = ledger
        self._stats = stats
        self._run_id = run_id
        self.guard = Guard()
        self._limiter = RateLimiter(settings.rate)
        self._policy = RetryPolicy(
            settings.max_attempts,
            self.guard,
            settings.backoff_initial,
            settings.backoff_max,
            settings.retry_after_max,
            on_retry=self._on_retry,
        )

    def _on_retry(self, outcome: Outcome) -> None:
        self._stats.retries += 1
        log.debug("retrying after: %s", outcome.message or f"HTTP {outcome.http_status}")

    async def send_all(self, batches: Batcher) -> None:
        """Feed batches to a fixed pool of senders; after a stop, record the rest as skipped."""
        queue: asyncio.Queue[PersonBatch | None] = asyncio.Queue(self._settings.concurrency)
        senders = [
            asyncio.create_task(self._sender(queue), name=f"sender-{index}")
            for index in range(self._settings.concurrency)
        ]
        try:
            for batch in batches.batches(self._settings.max_ids_per_request):
                if self.guard.tripped:
                    self._record_skipped(batch, 0, None)
                else:
                    await queue.put(batch)
            for _ in senders:
                await queue.put(None)
            await asyncio.gather(*senders)
        finally:
            for task in senders:
                task.cancel()

    async def _sender(self, queue: asyncio.Queue[PersonBatch | None]) -> None:
        while (batch := await queue.get()) is not None:
            if self.guard.tripped:
                self._record_skipped(batch, 0, None)
                continue
            await self._send(batch)

    async def _send(self, batch: PersonBatch) -> None:
        body = encode_body(batch.thumbnail_ids)
        started = time.perf_counter()

        async def attempt() -> Outcome:
            if self.guard.tripped:
                return Outcome(deleted=False, sent=False)
            await self._limiter.acquire()
            outcome = await self._api.remove(batch, body)
            self._stats.record_attempt(outcome.latency)
            if outcome.auth_failure:
                self.guard.trip(auth_stop_reason(outcome))
            log.debug(
                "person %s/%s: %s", batch.workspace, batch.person_id,
                "deleted" if outcome.deleted else outcome.message,
            )  # fmt: skip
            return outcome

        outcome, attempts = await self._policy.run(attempt)
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        if outcome.deleted:
            self._write(
                batch, "deleted", outcome, attempts, elapsed_ms,
                remaining=outcome.remaining_ids, primary=outcome.primary_id,
            )  # fmt: skip
        elif not outcome.sent or (outcome.retryable and self.guard.tripped):
            self._record_skipped(batch, attempts, outcome, elapsed_ms)
        else:
            if outcome.retryable:
                outcome_message = f"gave up after {attempts} attempts: {outcome.message}"
            else:
                outcome_message = outcome.message
            self._write(batch, "failed", outcome, attempts, elapsed_ms, message=outcome_message)
            failures = self._stats.requests["failed"]
            if failures <= _LOGGED_FAILURES:
                log.warning(
                    "person %s/%s failed: %s", batch.workspace, batch.person_id, outcome_message
                )
            if failures == _LOGGED_FAILURES:
                log.warning("further failures are only written to the ledger")

    def _record_skipped(
        self, batch: PersonBatch, attempts: int, last: Outcome | None, elapsed_ms: int | None = None
    ) -> None:
        message = f"not sent: the run stopped ({self.guard.reason or 'stopped'})"
        if last is not None and last.sent:
            message = f"stopped before retrying; last attempt: {last.message}"
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
        sent = outcome is not None and outcome.sent
        record = LedgerRecord(
            run_id=self._run_id,
            status=status,
            workspace=batch.workspace,
            person_id=batch.person_id,
            thumbnail_ids=batch.thumbnail_ids,
            http_status=outcome.http_status if sent and outcome else None,
            code=outcome.code if sent and outcome else None,
            message=message if message is not None else (outcome.message if outcome else None),
            attempts=attempts,
            elapsed_ms=elapsed_ms,
            remaining_thumbnail_ids=remaining,
            primary_thumbnail_id=primary,
        )
        self._ledger.write(record)
        self._stats.count(record)


def _read_input(source: str, settings: Settings) -> tuple[Batcher, list[InvalidRow]]:
    batcher = Batcher()
    invalid: list[InvalidRow] = []
    for item in read_jobs(source, settings.format, settings.delimiter):
        if isinstance(item, Job):
            batcher.add(item.workspace, item.person_id, item.thumbnail_ids)
        else:
            invalid.append(item)
    return batcher, invalid


def _log_plan(plan: Plan, invalid: int, dry_run: bool) -> None:
    log.info(
        "plan%s: %d workspaces, %d persons, %d unique ids (%d duplicates removed), "
        "%d requests, %d invalid rows",
        " (dry run)" if dry_run else "", plan.workspaces, plan.persons, plan.unique_ids,
        plan.duplicates, plan.requests, invalid,
    )  # fmt: skip


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
    _log_plan(plan, len(invalid), settings.dry_run)
    ledger = Ledger(settings.ledger)
    ledger.open()
    stats.ledger_path = str(settings.ledger)
    stop_reason: str | None = None
    try:
        for row in invalid:
            record = LedgerRecord(run_id=run_id, status="invalid", line=row.line, error=row.error)
            ledger.write(record)
            stats.count(record)
        if settings.dry_run:
            for batch in batcher.batches(settings.max_ids_per_request):
                record = LedgerRecord(
                    run_id=run_id, status="dry_run", workspace=batch.workspace,
                    person_id=batch.person_id, thumbnail_ids=batch.thumbnail_ids,
                )  # fmt: skip
                ledger.write(record)
                stats.count(record)
        elif plan.requests:
            if credentials is None:
                raise ValueError("credentials are required unless dry_run is set")
            stop_reason = await _send(settings, credentials, batcher, ledger, stats, run_id)
    finally:
        stats.finish()
        ledger.close()
    return RunResult(run_id, plan, stats, stop_reason)


async def _send(
    settings: Settings,
    credentials: tuple[str, SecretStr],
    batcher: Batcher,
    ledger: Ledger,
    stats: RunStats,
    run_id: str,
) -> str | None:
    access_key, secret_key = credentials
    connector = aiohttp.TCPConnector(limit=settings.concurrency)
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": f"thumbsweep/{__version__}"}
    ) as session:
        # aiohttp silently resends an idempotent request once when a pooled connection breaks.
        # Every request must be an attempt that the retry policy counts and backs off (and that
        # the ledger's `attempts` reports), so that hidden resend is switched off, as aiohttp's
        # own test client does.
        session._retry_connection = False
        api = ThumbnailApi(
            session, settings.base_url, Signer(access_key, secret_key), settings.timeout
        )
        sweep = Sweep(settings, api, ledger, stats, run_id)
        stats.start_sending()
        await sweep.send_all(batcher)
    return sweep.guard.reason
