"""Retry rules (which outcomes, how many attempts, Retry-After) and the rate limiter."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.virtual_time import in_virtual_time
from worker.api.outcome import Outcome
from worker.sending.guards import Guard
from worker.sending.retry import RetryPolicy
from worker.sending.throttle import RateLimiter

RETRYABLE = Outcome(deleted=False, http_status=503, retryable=True, message="busy")
FINAL = Outcome(deleted=False, http_status=400, message="bad")
DONE = Outcome(deleted=True, http_status=200, code="0")


def scripted(*outcomes: Outcome) -> tuple[list[Outcome], Callable[[int], Awaitable[Outcome]]]:
    """An attempt function that returns the given outcomes in order."""
    calls: list[Outcome] = []
    pending = list(outcomes)

    async def attempt(number: int) -> Outcome:
        assert number == len(calls) + 1
        outcome = pending.pop(0)
        calls.append(outcome)
        return outcome

    return calls, attempt


async def run_batch(
    policy: RetryPolicy, attempt: Callable[[int], Awaitable[Outcome]]
) -> tuple[Outcome, int]:
    """One batch as the pipeline's sender runs it: the first attempt, then retries if needed."""
    first = await attempt(1)
    if not policy.retries(first):
        return first, int(first.sent)
    return await policy.retry(first, attempt)


async def test_retries_until_success() -> None:
    """Retryable outcomes are retried; the first success ends the batch."""
    calls, attempt = scripted(RETRYABLE, RETRYABLE, DONE)
    retried: list[Outcome] = []
    policy = RetryPolicy(6, Guard(), 0, 0, 0, on_retry=retried.append)
    outcome, attempts = await run_batch(policy, attempt)
    assert outcome is DONE
    assert attempts == 3
    assert calls == [RETRYABLE, RETRYABLE, DONE]
    assert len(retried) == 2


async def test_gives_up_after_max_attempts_with_last_outcome() -> None:
    """After max_attempts the last outcome is returned, not an exception."""
    calls, attempt = scripted(*[RETRYABLE] * 10)
    outcome, attempts = await run_batch(RetryPolicy(4, Guard(), 0, 0, 0), attempt)
    assert outcome is RETRYABLE
    assert attempts == 4 == len(calls)


async def test_final_outcome_is_not_retried() -> None:
    """A non-retryable failure ends the batch at once."""
    calls, attempt = scripted(FINAL, DONE)
    outcome, attempts = await run_batch(RetryPolicy(6, Guard(), 0, 0, 0), attempt)
    assert outcome is FINAL
    assert attempts == 1
    assert calls == [FINAL]


async def test_tripped_guard_stops_retries() -> None:
    """Once the guard trips, no further attempt is made."""
    guard = Guard()
    calls, attempt = scripted(RETRYABLE, RETRYABLE, DONE)
    guard.trip("auth")
    outcome, attempts = await run_batch(RetryPolicy(6, guard, 0, 0, 0), attempt)
    assert outcome is RETRYABLE
    assert attempts == 1
    assert calls == [RETRYABLE]


def test_retry_after_is_honoured_and_capped() -> None:
    """A Retry-After delays the next attempt by that long, but never beyond the cap."""

    async def waited(retry_after: float, retry_after_max: float) -> float:
        throttled = Outcome(deleted=False, http_status=429, retryable=True, retry_after=retry_after)
        _, attempt = scripted(throttled, DONE)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await run_batch(RetryPolicy(3, Guard(), 0, 0, retry_after_max=retry_after_max), attempt)
        return loop.time() - started

    assert in_virtual_time(waited(0.3, retry_after_max=10)) == pytest.approx(0.3)
    assert in_virtual_time(waited(3600, retry_after_max=0.05)) == pytest.approx(0.05)


def test_rate_limiter_spaces_request_starts() -> None:
    """With rate R, N acquisitions take at least (N-1)/R seconds: one start every 1/R."""

    async def starts() -> list[float]:
        limiter = RateLimiter(50, retry_after_max=60, clock=asyncio.get_running_loop().time)
        guard = Guard()
        return list(await asyncio.gather(*(limiter.acquire(guard) for _ in range(11))))

    started = sorted(in_virtual_time(starts()))
    assert started[-1] - started[0] >= 10 / 50 - 1e-9
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert gaps == pytest.approx([1 / 50] * 10)


def test_rate_zero_means_no_known_limit() -> None:
    """A rate of 0 is no known limit: the fast start doubles the pace every 10 ms, so a
    thousand starts take under 0.1 s (and little real time)."""

    async def waited() -> float:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(0, retry_after_max=60, clock=loop.time)
        guard = Guard()
        before = loop.time()
        for _ in range(1000):
            await limiter.acquire(guard)
        return loop.time() - before

    started = time.perf_counter()
    assert in_virtual_time(waited()) < 0.1
    assert time.perf_counter() - started < 0.5


def test_a_429_without_retry_after_is_retried_at_once_through_the_pacer() -> None:
    """No backoff after a 429 without Retry-After: the retry goes straight back to the rate
    limiter (whose pace the 429 has already cut); other retryable failures keep their backoff."""

    async def waited(first: Outcome) -> float:
        _, attempt = scripted(first, DONE)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await run_batch(RetryPolicy(3, Guard(), 10.0, 30.0, retry_after_max=60), attempt)
        return loop.time() - started

    throttled = Outcome(deleted=False, http_status=429, retryable=True)
    assert in_virtual_time(waited(throttled)) == 0.0
    assert in_virtual_time(waited(RETRYABLE)) > 0.0
