"""The retry budget and the rate limiter's safeguards (Retry-After), on fake clocks."""

from __future__ import annotations

import asyncio

import pytest

from tests.virtual_time import in_virtual_time
from worker.sending.budget import RetryBudget
from worker.sending.guards import FailureBreaker, Guard
from worker.sending.throttle import Phase, RateLimiter


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_floor_then_a_share_of_attempts() -> None:
    """Retries are allowed up to the floor, then only as a share of recent attempts."""
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, floor=3, window=10, clock=clock)
    for _ in range(10):
        budget.record(is_retry=False)
    allowed = 0
    while budget.allows_retry() and allowed < 100:
        budget.record(is_retry=True)
        allowed += 1
    # a retry may start while retries < 3 + 0.2 * (10 + retries), i.e. retries < 6.25
    assert allowed == 7
    assert not budget.allows_retry()


def test_budget_recovers_as_the_window_slides() -> None:
    """Held-back retries are allowed again once old retries decay out of the window."""
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, floor=3, window=10, clock=clock)
    for _ in range(5):
        budget.record(is_retry=True)
    assert not budget.allows_retry()
    clock.now += 10
    assert budget.allows_retry()


def test_breaker_trips_only_after_min_batches_and_above_the_rate() -> None:
    """The breaker waits for enough finished batches, then trips above the failure rate."""
    guard = Guard()
    breaker = FailureBreaker(guard, min_batches=10, max_failure_rate=0.5)
    for _ in range(9):
        breaker.record(failed=True)
    assert not guard.tripped
    breaker.record(failed=False)
    assert guard.tripped
    assert guard.exit_code == 3
    assert guard.reason is not None
    assert "9 of 10" in guard.reason


def test_breaker_stays_quiet_at_the_rate() -> None:
    """Exactly the allowed failure rate does not trip the breaker."""
    guard = Guard()
    breaker = FailureBreaker(guard, min_batches=4, max_failure_rate=0.5)
    for failed in (True, False, True, False):
        breaker.record(failed=failed)
    assert not guard.tripped


async def test_the_first_429_without_a_rate_starts_measuring_below_the_rate_sent() -> None:
    """Without --rate the first 429 ends the fast start: the quota is measured, pacing at a
    fraction of the rate actually achieved (the search then goes up or down from there)."""
    clock = FakeClock()
    limiter = RateLimiter(0, retry_after_max=60, clock=clock)
    guard = Guard()
    phases = [limiter.phase]
    for _ in range(11):
        await limiter.acquire(guard)
        clock.now += 0.01  # 100 starts per second
    limiter.on_throttled(clock.now, None)
    phases.append(limiter.phase)
    assert phases == [Phase.START, Phase.MEASURE]
    assert limiter.rate is not None
    assert limiter.rate == pytest.approx(100 / 8, rel=0.05)


def test_retry_after_pauses_every_start() -> None:
    """A Retry-After holds back the next start of any batch until it has passed."""

    async def starts_after_pause() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(0, retry_after_max=60, clock=loop.time)
        guard = Guard()
        limiter.on_throttled(loop.time(), retry_after=0.2)
        before = loop.time()
        started = await asyncio.gather(*(limiter.acquire(guard) for _ in range(3)))
        return [start - before for start in started]

    waits = in_virtual_time(starts_after_pause())
    assert min(waits) == pytest.approx(0.2)
    assert all(wait >= 0.2 - 1e-9 for wait in waits)  # after the 429 they are paced as well


class RecordingGuard(Guard):
    """A guard whose sleeps move the fake clock instead of waiting, and are recorded."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        """Record the sleep and let that much fake time pass."""
        self.slept.append(seconds)
        self.clock.now += seconds


@pytest.mark.parametrize("retry_after", [100_000.0, 1e300, float("inf")])
async def test_retry_after_pause_is_capped_at_retry_after_max(retry_after: float) -> None:
    """A 429 asking for a day's pause holds the next start back only `retry_after_max`."""
    clock = FakeClock()
    limiter = RateLimiter(0, retry_after_max=5.0, clock=clock)
    guard = RecordingGuard(clock)
    started = await limiter.acquire(guard)
    limiter.on_throttled(started, retry_after)
    await limiter.acquire(guard)
    assert sum(guard.slept) <= 5.0
    assert sum(guard.slept) == pytest.approx(5.0)
