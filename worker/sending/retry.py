"""Which attempts are retried, and how long to wait between them (tenacity).

Connection errors, timeouts, 429, 500, 502, 503 and 504 are retried up to `max_attempts`, with
full-jitter exponential backoff (a random wait in [0, min(cap, initial * 2**n)]). A Retry-After
from the API is honoured instead, capped. A 429 without Retry-After is retried at once: the
retry goes back through the rate limiter's pacer like any start (the 429 has already slowed the
pace), rather than sitting out a backoff while the quota goes unused. A tripped guard ends the
wait and stops further attempts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from worker.api.outcome import Outcome
from worker.sending.guards import Guard


class _StopWhenGuardTripped(stop_base):
    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._guard.tripped


class _RetryAfterOrFullJitter(wait_base):
    """Retry-After when the last response carried one (capped); none after a 429 without one
    (the pacer spaces the retry); full jitter otherwise."""

    def __init__(self, initial: float, cap: float, retry_after_cap: float) -> None:
        self._jitter = wait_random_exponential(multiplier=initial, max=cap)
        self._retry_after_cap = retry_after_cap

    def __call__(self, retry_state: RetryCallState) -> float:
        last = retry_state.outcome
        if last is not None and not last.failed:
            outcome = last.result()
            if isinstance(outcome, Outcome) and outcome.retry_after is not None:
                return min(outcome.retry_after, self._retry_after_cap)
            if isinstance(outcome, Outcome) and outcome.http_status == 429:
                return 0.0
        return float(self._jitter(retry_state))


def _last_outcome(retry_state: RetryCallState) -> Outcome:
    """When attempts run out (or the guard trips), the batch ends with its last outcome."""
    assert retry_state.outcome is not None
    result = retry_state.outcome.result()
    assert isinstance(result, Outcome)
    return result


class RetryPolicy:
    """Runs one batch's attempts under the retry rules."""

    def __init__(
        self,
        max_attempts: int,
        guard: Guard,
        backoff_initial: float,
        backoff_max: float,
        retry_after_max: float,
        on_retry: Callable[[Outcome], None] | None = None,
    ) -> None:
        self._max_attempts = max_attempts
        self._guard = guard
        self._wait = _RetryAfterOrFullJitter(backoff_initial, backoff_max, retry_after_max)
        self._on_retry = on_retry

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        if self._on_retry is not None:
            self._on_retry(_last_outcome(retry_state))

    def retries(self, first: Outcome) -> bool:
        """Whether a batch's first outcome calls for retries."""
        return first.retryable and self._max_attempts > 1 and not self._guard.tripped

    async def retry(
        self, first: Outcome, attempt: Callable[[int], Awaitable[Outcome]]
    ) -> tuple[Outcome, int]:
        """The batch's final outcome and the number of requests sent, after a first attempt
        that came back retryable (see `retries`).

        `attempt` receives the attempt number (2 for the first retry) and returns an Outcome
        whose `sent` is False when it sent nothing (the run stopped before it could).

        Most batches succeed at once, so the caller makes the first attempt itself; tenacity
        (which costs far more per call than a request) takes over only when a retry is
        needed, and replays that first outcome so its attempt numbers and backoff stay exact.
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts) | _StopWhenGuardTripped(self._guard),
            wait=self._wait,
            sleep=self._guard.sleep,
            retry=retry_if_result(lambda outcome: outcome.retryable),
            retry_error_callback=_last_outcome,
            before_sleep=self._before_sleep,
        )
        number = 0
        sent = int(first.sent)

        async def counted() -> Outcome:
            nonlocal number, sent
            number += 1
            if number == 1:
                return first
            outcome = await attempt(number)
            sent += outcome.sent
            return outcome

        final: Outcome = await retrying(counted)
        return final, sent
