"""Request-rate control: find an API key's unknown quota fast, then ride just at it.

NAVER Cloud documents no Retry-After on 429 and sets quotas per API key (a token bucket at the
gateway), so the worker finds the allowed rate itself. Every start, retries of 429'd batches
included, goes through one `Pacer`; this controller sets its rate, in three phases:

- start: pace at `start_rate` (256 requests/s) and double the rate every `DOUBLE_EVERY`
  seconds; once the rate is far above what the senders actually start (an API
  that never throttles), stop pacing altogether, so a fast endpoint is not held back;
- measure (after the first 429, and whenever the estimate is stale): a 429 means the bucket is
  empty, and while it stays empty the requests it accepts arrive exactly at its refill rate. So
  the controller paces at a fraction of what it sent when the 429 came, and counts, by *send*
  time, the requests accepted over a short window (`MEASURE_SECONDS`): accepted / window is the
  quota (or this process's share of it). A window with under `MEASURE_BELOW_SHARE` 429s means
  the rate is below the quota: go up; one with more 429s than accepted requests: go down (each
  time at most x2 or /4, bisecting in log space between the rates seen below and above);
- cruise: pace at 1.02 x the estimate and probe upwards: `growth` x the largest quota measured,
  per second, times (1 + seconds since the last 429) cubed, so an estimate that came out low,
  or capacity that another process freed, is taken up within seconds; cut `cut` on each 429.
  Cutting on *each* 429 makes processes that share a key converge to equal shares: the one that
  sends more gets more 429s. If 429s exceed `REESTIMATE_SHARE` of the answers over
  `REESTIMATE_SECONDS` (the quota shrank, another process started), measure again.

Safeguards: the rate never falls below `min_rate` and never exceeds `ceiling` (`--rate`; with a
ceiling the run starts cruising at it, a known quota); a Retry-After pauses every start until it
has passed, for at most `retry_after_max` seconds (`--retry-after-max`). The controller's work
is a few arithmetic operations per request (no scan over past requests).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from enum import Enum

from worker.sending.guards import Guard
from worker.sending.pacer import Pacer

log = logging.getLogger("thumbsweep")

DOUBLE_EVERY = 0.01  # seconds: the start phase doubles the rate this often
MEASURE_SECONDS = 0.15  # seconds of send time a quota measurement spans at least
MEASURE_ANSWERS = 8  # answers a quota measurement needs at least
MEASURE_MAX_429 = 4  # 429s (more than accepted) in one measurement: the rate is far too high
MEASURE_BELOW_SHARE = 0.1  # at most this share of 429s in a measurement: below the quota
RATE_WINDOW = 0.05  # seconds over which the achieved start rate is counted
REESTIMATE_SECONDS = 2.0
REESTIMATE_SHARE = 0.2
UNPACED_ABOVE = 4.0  # start phase: stop pacing once the rate is this many times the achieved


class Phase(Enum):
    """Where the controller is in finding the quota."""

    START = "start"
    MEASURE = "measure"
    CRUISE = "cruise"


class RateLimiter:
    """Paces request starts; `ceiling` 0 means no known limit, so the quota is searched for."""

    def __init__(
        self,
        ceiling: float,
        *,
        retry_after_max: float,
        start_rate: float = 256.0,
        cut: float = 0.05,
        growth: float = 0.005,
        min_rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ceiling = ceiling if ceiling > 0 else None
        self._retry_after_max = retry_after_max
        self._cut = cut
        self._growth = growth
        self._min_rate = min_rate
        self._clock = clock
        self._pacer = Pacer(clock)
        now = clock()
        self._rate = self._ceiling if self._ceiling is not None else max(min_rate, start_rate)
        self._paced = True
        self.phase = Phase.CRUISE if self._ceiling is not None else Phase.START
        self._changed = now  # when the rate last doubled (start phase) or grew (cruise)
        self._last_429 = now
        # achieved start rate, counted over windows of RATE_WINDOW seconds
        self._window_from = now
        self._window_starts = -1  # the first start opens the first window
        self.achieved: float | None = None
        # the current measurement: answers to requests started at or after `_measure_from`
        self._measure_from = now
        self._measured = 0
        self._measured_429 = 0
        self._measured_last = now
        self._below: float | None = None  # a rate measured below the quota, then above it
        self._above: float | None = None
        # cruise: answers and 429s over the current re-estimate window
        self._watch_from = now
        self._watch_answers = 0
        self._watch_429 = 0
        self.quota: float | None = None  # the last quota measured, requests/s
        # the largest quota measured (or --rate): cruise grows by a share of it
        self._reference = self._ceiling or 0.0
        self._pacer.set_rate(self._rate)

    @property
    def rate(self) -> float | None:
        """The pacing rate, requests/s; None while unpaced."""
        return self._rate if self._paced else None

    def _set_rate(self, rate: float, paced: bool = True) -> None:
        rate = max(self._min_rate, rate)
        if self._ceiling is not None:
            rate = min(rate, self._ceiling)
        self._rate = rate
        self._paced = paced
        self._pacer.set_rate(rate if paced else None)

    async def acquire(self, guard: Guard) -> float:
        """Wait for this request's start time (or a stop); return the start time."""
        started = await self._pacer.start(guard)
        self._window_starts += 1
        elapsed = started - self._window_from
        if elapsed >= RATE_WINDOW:
            self.achieved = self._window_starts / elapsed
            self._window_from = started
            self._window_starts = 0
        if self._paced and self.phase is Phase.START:
            self._speed_up(started)
        return started

    def _speed_up(self, now: float) -> None:
        """Start phase: double every DOUBLE_EVERY; unpaced (until a 429) once far above the
        achieved rate."""
        if self.achieved is not None and self._rate > UNPACED_ABOVE * self.achieved:
            self._set_rate(self._rate, paced=False)
            return
        doublings = int((now - self._changed) / DOUBLE_EVERY)
        if doublings > 0:
            self._changed = now
            self._set_rate(self._rate * 2 ** min(doublings, 8))

    def _measure(self, now: float, rate: float) -> None:
        """Start a new quota measurement, pacing at `rate`."""
        self.phase = Phase.MEASURE
        self._set_rate(rate)
        log.debug("rate: measuring the quota at %.1f requests/s", self._rate)
        self._measure_from = now
        self._measured = 0
        self._measured_429 = 0
        self._measured_last = now

    def _cruise(self, now: float, rate: float) -> None:
        self.phase = Phase.CRUISE
        self._set_rate(rate)
        log.debug(
            "rate: cruising from %.1f requests/s (quota measured: %s)", self._rate, self.quota
        )
        self._changed = now
        self._watch_from = now
        self._watch_answers = 0
        self._watch_429 = 0

    def on_throttled(self, started: float, retry_after: float | None) -> None:
        """A 429 for a request that started at `started`, with the Retry-After it carried."""
        now = self._clock()
        self._last_429 = now
        if retry_after is not None:
            pause = min(max(0.0, retry_after), self._retry_after_max)  # min(): inf stays finite
            self._pacer.pause_until(now + pause)
        if self.phase is Phase.START:
            sent = self._rate if self.achieved is None else self.achieved
            if self._paced:
                sent = min(sent, self._rate)
            self._below = self._above = None  # `sent` lags the rate: no bound on the quota
            self._measure(now, sent / 8)
        elif self.phase is Phase.MEASURE:
            self._answer_measured(now, started, accepted=False)
        else:
            self._rate_answer(now, throttled=True)
            self._set_rate(self._rate * (1 - self._cut))

    def on_accepted(self, started: float) -> None:
        """An answer other than 429 for a request that started at `started`."""
        if self.phase is Phase.START:
            return
        now = self._clock()
        if self.phase is Phase.MEASURE:
            self._answer_measured(now, started, accepted=True)
            return
        if self._rate_answer(now, throttled=False):
            return
        elapsed = now - self._changed
        if elapsed < 0.01:
            return
        self._changed = now
        quiet = min(now - self._last_429, 10.0)
        base = max(self._rate, self._reference)
        grown = self._rate + base * self._growth * (1 + quiet) ** 3 * elapsed
        if self.achieved is not None:
            # Not far beyond what is really sent (e.g. when concurrency is the limit).
            grown = min(grown, max(self._rate, 2 * self.achieved))
        self._set_rate(grown)

    def _rate_answer(self, now: float, throttled: bool) -> bool:
        """Cruise: count an answer; measure again (True) when 429s got too many."""
        self._watch_answers += 1
        self._watch_429 += throttled
        if now - self._watch_from < REESTIMATE_SECONDS:
            return False
        too_many = self._watch_429 > REESTIMATE_SHARE * self._watch_answers
        self._watch_from = now
        self._watch_answers = 0
        self._watch_429 = 0
        if too_many:
            self._below = self._above = None
            self._measure(now, self._rate)
        return too_many

    def _answer_measured(self, now: float, started: float, accepted: bool) -> None:
        """Measure phase: count an answer sent within the measurement; conclude when enough."""
        if started < self._measure_from:
            return  # sent before the measurement began, at another rate
        self._measured += 1
        self._measured_429 += not accepted
        self._measured_last = max(self._measured_last, started)
        span = self._measured_last - self._measure_from
        passed = self._measured - self._measured_429
        if self._measured_429 >= MEASURE_MAX_429 and self._measured_429 > passed:
            # Far above the quota: search lower (between here and the last rate seen below).
            self._above = self._rate
            lower = self._rate / 4
            if self._below is not None and self._below < self._rate / 1.1:
                lower = self._below
            self._measure(now, max(self._rate / 4, math.sqrt(self._rate * lower)))
            return
        if self._measured_429 <= MEASURE_BELOW_SHARE * self._measured:
            # (A stray 429, e.g. the last of a burst, does not make the rate one above quota.)
            if span < MEASURE_SECONDS / 3 or self._measured < MEASURE_ANSWERS // 2:
                return
            if self.achieved is not None and self._rate > UNPACED_ABOVE * self.achieved:
                self._cruise(now, self._rate)  # the senders, not the quota, are the limit
                return
            # Below the quota: search higher (between here and the last rate seen above).
            self._below = self._rate
            higher = self._rate * 4
            if self._above is not None and self._above > self._rate * 1.1:
                higher = self._above  # else the quota moved up since: forget that bound
            self._measure(now, min(self._rate * 2, math.sqrt(self._rate * higher)))
            return
        if span < MEASURE_SECONDS or self._measured < MEASURE_ANSWERS:
            return
        self.quota = passed / span
        self._reference = max(self._reference, self.quota)
        self._cruise(now, self.quota * 1.02)
