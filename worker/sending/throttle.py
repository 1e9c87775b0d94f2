"""Request-rate control: a pacing token bucket whose rate adapts to 429s (AIMD).

Pacing is virtual scheduling (as in GCRA): each request reserves the next free start time, one
interval after the previous one, and sleeps until it; no second starts more than `rate` requests
(plus the one token the bucket holds).

NAVER Cloud documents no Retry-After on 429 and sets quotas per API key, so the worker finds the
allowed rate itself:
- multiplicative decrease: a 429 on a request started after the last decrease sets the rate to
  `decrease` times the rate actually achieved (requests started before the decrease were sent at
  the old rate and say nothing new);
- additive increase: every second without a 429 adds `increase_ratio` of the rate found at the
  last decrease, so the rate climbs back gently;
- a Retry-After pauses every start until it has passed, for at most `retry_after_max` seconds
  (`--retry-after-max`), however long the API asks for;
- the rate never exceeds `ceiling` (`--rate`), when one is given.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from worker.sending.guards import Guard

_MEASURE_STARTS = 64  # recent request starts used to measure the achieved rate


class RateLimiter:
    """Paces request starts; `ceiling` 0 means no fixed limit until the API throttles."""

    def __init__(
        self,
        ceiling: float,
        *,
        retry_after_max: float,
        decrease: float = 0.8,
        increase_ratio: float = 0.1,
        min_rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ceiling = ceiling if ceiling > 0 else None
        self._retry_after_max = retry_after_max
        self.rate: float | None = self._ceiling  # None: unpaced
        self._decrease = decrease
        self._increase_ratio = increase_ratio
        self._min_rate = min_rate
        self._clock = clock
        self._next_start = 0.0
        self._paused_until = 0.0
        self._last_decrease = float("-inf")
        self._step = 0.0
        self._last_increase = clock()
        self._starts: deque[float] = deque(maxlen=_MEASURE_STARTS)
        self.decreases = 0

    def achieved_rate(self) -> float | None:
        """Starts per second over the recent starts, or None before there are enough."""
        if len(self._starts) < 2:
            return None
        span = self._starts[-1] - self._starts[0]
        return (len(self._starts) - 1) / span if span > 0 else None

    async def acquire(self, guard: Guard) -> float:
        """Wait for this request's start time (or a stop); return the start time."""
        now = self._clock()
        start = max(now, self._paused_until)
        if self.rate is not None:
            start = max(start, self._next_start)
            self._next_start = start + 1.0 / self.rate
        if start > now:
            await guard.sleep(start - now)
        started = self._clock()
        self._starts.append(started)
        return started

    def on_throttled(self, started: float, retry_after: float | None) -> None:
        """A 429 for a request that started at `started`, with the Retry-After it carried."""
        now = self._clock()
        if retry_after is not None:
            pause = min(max(0.0, retry_after), self._retry_after_max)  # min(): inf stays finite
            self._paused_until = max(self._paused_until, now + pause)
        if started < self._last_decrease:
            return
        known = [rate for rate in (self.rate, self.achieved_rate()) if rate is not None]
        base = min(known) if known else self._min_rate
        self.rate = max(self._min_rate, base * self._decrease)
        self._step = max(self._min_rate, self.rate * self._increase_ratio)
        self._last_decrease = now
        self._last_increase = now
        self.decreases += 1

    def on_accepted(self) -> None:
        """A response that was not a 429: grow the rate gently, up to the ceiling."""
        if self.rate is None:
            return
        now = self._clock()
        elapsed = now - self._last_increase
        if elapsed < 0.1:
            return
        self._last_increase = now
        grown = self.rate + self._step * elapsed
        achieved = self.achieved_rate()
        if achieved is not None:
            # Do not grow far beyond what is really sent (e.g. when concurrency is the limit).
            grown = min(grown, max(self.rate, 2 * achieved))
        self.rate = grown if self._ceiling is None else min(grown, self._ceiling)
