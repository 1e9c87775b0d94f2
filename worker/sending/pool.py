"""The sender pool: a fixed number of senders, under one TaskGroup, that send every batch and
record what became of it.

Each batch ends in records that cover each of its ids exactly once, whatever happens: the API's
answer, a retry cut short by a stop, a cancellation, or a bug in thumbsweep itself. A bug in
handling one batch records that batch `skipped`, starts no new request, lets the requests in
flight finish, records the rest `skipped` and ends the run with exit code 70. The senders talk to
the API only through `RemoveApi` (the real aiohttp client, or a scripted fake in tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Protocol

from worker.api.client import encode_body
from worker.api.outcome import Outcome
from worker.errors import ExitCode
from worker.input.batching import PersonBatch
from worker.observe.summary import RunStats
from worker.records.record import LedgerRecord, Status
from worker.records.recorder import Recorder
from worker.sending.budget import RetryBudget
from worker.sending.guards import FailureBreaker, Guard, ReachabilityCheck
from worker.sending.options import SenderOptions
from worker.sending.outcome_messages import (
    STILL_LISTED_MESSAGE,
    auth_stop_reason,
    failure_message,
    internal_error_reason,
    is_permanent_failure,
)
from worker.sending.retry import RetryPolicy
from worker.sending.throttle import RateLimiter

log = logging.getLogger("thumbsweep")

_LOGGED_FAILURES = 5
_NOT_SENT = Outcome(deleted=False, sent=False)


class RemoveApi(Protocol):
    """One attempt to remove one batch: the seam between the senders and HTTP.

    `remove` never raises for anything the API or the network does (every answer is an
    `Outcome`); only cancellation, or a bug, leaves it.
    """

    async def remove(self, batch: PersonBatch, body: bytes) -> Outcome:
        """Send one signed attempt now and return its outcome."""
        ...


def _still_listed(ids: tuple[int, ...], remaining: tuple[int, ...] | None) -> tuple[int, ...]:
    """The requested ids that a successful answer still lists on the person."""
    if not remaining:
        return ()
    if len(ids) == 1:
        return ids if ids[0] in remaining else ()
    kept = set(remaining)
    return tuple(i for i in ids if i in kept)


class SenderPool:
    """Sends every batch through the retry policy and records each outcome."""

    def __init__(
        self,
        options: SenderOptions,
        api: RemoveApi,
        recorder: Recorder,
        stats: RunStats,
        run_id: str,
    ) -> None:
        self._concurrency = options.concurrency
        self._api = api
        self._recorder = recorder
        self._stats = stats
        self._run_id = run_id
        self.guard = Guard()
        self._limiter = RateLimiter(options.rate, retry_after_max=options.retry_after_max)
        self._budget = RetryBudget()
        self._breaker = FailureBreaker(
            self.guard, options.breaker_min_batches, options.max_failure_rate
        )
        self._reachability = ReachabilityCheck(self.guard)
        self._policy = RetryPolicy(
            options.max_attempts,
            self.guard,
            options.backoff_initial,
            options.backoff_max,
            options.retry_after_max,
            on_retry=self._on_retry,
        )
        self._senders: list[asyncio.Task[None]] = []
        recorder.set_failure_callback(lambda reason: self.guard.trip(reason, ExitCode.IOERR))

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
        try:
            async with asyncio.TaskGroup() as senders:
                self._senders = [
                    senders.create_task(self._sender(batches), name=f"sender-{index}")
                    for index in range(self._concurrency)
                ]
        except* Exception as crashed:  # a bug outside one batch's handling (e.g. recording)
            self.crash(crashed.exceptions[0])
        finally:
            for batch in batches:  # left over when the senders were cancelled or crashed
                self._record_unsent(batch)

    def crash(self, exc: BaseException) -> None:
        """A bug in thumbsweep: log it (traceback with -v) and stop the run with exit 70."""
        log.debug("internal error", exc_info=exc)
        reason = internal_error_reason(exc)
        if not self.guard.tripped:
            log.error("%s", reason)
        self.guard.trip(reason, ExitCode.INTERNAL)

    async def _sender(self, batches: Iterator[PersonBatch]) -> None:
        for batch in batches:
            if self.guard.tripped:
                self._record_unsent(batch)
            else:
                await self._send(batch)

    async def _send(self, batch: PersonBatch) -> None:
        started = time.perf_counter()
        last_sent: Outcome | None = None
        sent = 0
        in_flight = False

        async def attempt(number: int) -> Outcome:
            nonlocal last_sent, sent, in_flight
            if number > 1:
                await self._budget.wait_for_retry(self.guard)
            if self.guard.tripped:
                return _NOT_SENT
            start = await self._limiter.acquire(self.guard)
            if self.guard.tripped:
                return _NOT_SENT
            self._budget.record(is_retry=number > 1)
            sent += 1
            in_flight = True
            outcome = await self._api.remove(batch, body)
            in_flight = False
            last_sent = outcome
            self._stats.record_attempt(outcome.latency, outcome.http_status)
            self._reachability.record(outcome)
            if outcome.http_status == 429:
                self._limiter.on_throttled(start, outcome.retry_after)
            elif outcome.http_status is not None:
                self._limiter.on_accepted(start)
            if outcome.auth_failure:
                self.guard.trip(auth_stop_reason(outcome))
            return outcome

        try:
            body = encode_body(batch.thumbnail_ids)
            outcome = await attempt(1)  # directly: the retry policy is needed only for a retry
            attempts = int(outcome.sent)
            if self._policy.retries(outcome):
                outcome, attempts = await self._policy.retry(outcome, attempt)
            records = self._records(batch, outcome, last_sent, attempts, started)
        except asyncio.CancelledError:
            message = None  # not in flight: not sent (again), as after any stop
            if in_flight:
                message = (
                    "interrupted in flight: the run stopped "
                    f"({self.guard.reason or 'cancelled'}); the delete may or may not have been "
                    "applied, so --resume sends these ids again"
                )
            self._recorder.record(self._skipped(batch, sent, last_sent, started, message))
            raise
        except Exception as exc:  # a bug while handling this batch: record it, stop the run
            self.crash(exc)
            message = (
                f"not finished: thumbsweep hit an internal error ({type(exc).__name__}) while "
                "handling this batch; the delete may or may not have been applied, so --resume "
                "sends these ids again"
            )
            self._recorder.record(self._skipped(batch, sent, last_sent, started, message))
            return
        for record in records:
            self._recorder.record(record)

    def _records(
        self,
        batch: PersonBatch,
        outcome: Outcome,
        last_sent: Outcome | None,
        attempts: int,
        started: float,
    ) -> list[LedgerRecord]:
        """The batch's records (all built before any is written, so a bug cannot half-record)."""
        if outcome.deleted:
            still = _still_listed(batch.thumbnail_ids, outcome.remaining_ids)
            self._breaker.record(failed=bool(still))
            records = []
            gone = batch.thumbnail_ids
            if still:
                gone = tuple(i for i in batch.thumbnail_ids if i not in still)
                log.warning(
                    "person %s/%s: the API answered success but still lists %d of the ids",
                    batch.workspace, batch.person_id, len(still),
                )  # fmt: skip
            if gone:
                records.append(self._new(
                    gone, batch, "deleted", outcome, attempts, started,
                    remaining=outcome.remaining_ids, primary=outcome.primary_id,
                ))  # fmt: skip
            if still:
                records.append(self._new(
                    still, batch, "failed", outcome, attempts, started, STILL_LISTED_MESSAGE,
                    remaining=outcome.remaining_ids, primary=outcome.primary_id, retryable=True,
                ))  # fmt: skip
            return records
        if not outcome.sent or (outcome.retryable and self.guard.tripped):
            return [self._skipped(batch, attempts, last_sent, started)]
        message = failure_message(outcome, attempts)
        if not outcome.auth_failure:
            self._breaker.record(failed=True)
        failures = self._stats.requests["failed"] + 1
        if failures <= _LOGGED_FAILURES:
            log.warning("person %s/%s failed: %s", batch.workspace, batch.person_id, message)
        if failures == _LOGGED_FAILURES:
            log.warning("further failures are only written to the ledger")
        ids = batch.thumbnail_ids
        retryable = not is_permanent_failure(outcome)
        record = self._new(
            ids, batch, "failed", outcome, attempts, started, message, retryable=retryable
        )
        return [record]

    def _skipped(
        self,
        batch: PersonBatch,
        attempts: int,
        last: Outcome | None,
        started: float | None,
        message: str | None = None,
    ) -> LedgerRecord:
        """A `skipped` record: `message`, or why the batch was not (or not again) sent."""
        if message is None:
            message = f"not sent: the run stopped ({self.guard.reason or 'stopped'})"
            if last is not None:
                message = (
                    f"stopped before retrying ({self.guard.reason}); last attempt: {last.message}"
                )
        return self._new(
            batch.thumbnail_ids, batch, "skipped", last, attempts, started, message, retryable=True
        )

    def _record_unsent(self, batch: PersonBatch) -> None:
        self._recorder.record(self._skipped(batch, 0, None, None))

    def _new(
        self,
        ids: tuple[int, ...],
        batch: PersonBatch,
        status: Status,
        outcome: Outcome | None,
        attempts: int,
        started: float | None,
        message: str | None = None,
        *,
        remaining: tuple[int, ...] | None = None,
        primary: int | None = None,
        retryable: bool | None = None,
    ) -> LedgerRecord:
        if message is None and outcome is not None:
            message = outcome.message
        # Positional, in field order: one record per request, and keywords cost twice as much.
        return LedgerRecord(
            self._run_id,
            status,
            batch.workspace,
            batch.person_id,
            ids,
            None if outcome is None else outcome.http_status,
            None if outcome is None else outcome.code,
            message,
            attempts,
            None if started is None else round((time.perf_counter() - started) * 1000),
            remaining,  # remaining_thumbnail_ids
            primary,  # primary_thumbnail_id
            retryable,
        )
