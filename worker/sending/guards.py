"""Run-wide stops: the guard that ends a run early, and what trips it: the failure-rate breaker,
and the check that stops a run whose API cannot be reached at all.

A tripped guard keeps its first reason and the exit code the run will end with (3 for a guard,
130/143 for SIGINT/SIGTERM). Waits that should end early on a stop use `Guard.sleep`.
"""

from __future__ import annotations

import asyncio
import contextlib

from worker.api.outcome import Outcome
from worker.errors import ExitCode


class Guard:
    """Once tripped, no new attempt starts; sleeps that wait on it end at once."""

    __slots__ = ("_event", "exit_code", "reason")

    def __init__(self) -> None:
        self.reason: str | None = None
        self.exit_code: int = ExitCode.OK
        self._event = asyncio.Event()

    @property
    def tripped(self) -> bool:
        """True once a stop was requested."""
        return self.reason is not None

    def trip(self, reason: str, exit_code: int = ExitCode.GUARD) -> None:
        """Stop the run; the first reason and exit code are kept."""
        if self.reason is None:
            self.reason = reason
            self.exit_code = exit_code
            self._event.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep for `seconds`, or less if the guard trips meanwhile."""
        if self.tripped or seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)


class FailureBreaker:
    """Trips the guard when too many finished batches failed permanently (as S3 Batch does)."""

    __slots__ = ("_failed", "_finished", "_guard", "_max_rate", "_min_batches")

    def __init__(self, guard: Guard, min_batches: int, max_failure_rate: float) -> None:
        self._guard = guard
        self._min_batches = min_batches
        self._max_rate = max_failure_rate
        self._finished = 0
        self._failed = 0

    def record(self, failed: bool) -> None:
        """Count one batch that finished deleted or failed; trip once the rate is exceeded."""
        self._finished += 1
        self._failed += failed
        if self._finished >= self._min_batches and self._failed > self._max_rate * self._finished:
            self._guard.trip(
                f"failure-rate breaker: {self._failed} of {self._finished} finished batches "
                f"failed (more than {self._max_rate:.0%}); the rest is recorded as skipped. "
                "Check the failures in the ledger, then rerun with --resume"
            )


class ReachabilityCheck:
    """Trips the guard when the API was never reached: after `limit` attempts that could not
    connect (refused, DNS, TLS, proxy) and none that got any answer, backing off for minutes
    would only end the same way. Once any attempt gets an answer, it never trips: a later
    outage is retried as usual."""

    __slots__ = ("_failures", "_guard", "_limit", "_reached")

    def __init__(self, guard: Guard, limit: int = 3) -> None:
        self._guard = guard
        self._limit = limit
        self._failures = 0
        self._reached = False

    def record(self, outcome: Outcome) -> None:
        """Count one attempt's outcome."""
        if self._reached:
            return
        if outcome.http_status is not None:
            self._reached = True
        elif outcome.connect_failure:
            self._failures += 1
            if self._failures >= self._limit:
                self._guard.trip(
                    f"the API cannot be reached: {outcome.message}. None of the first "
                    f"{self._failures} attempts got an answer, so the run stops rather than "
                    "back off for minutes; the rest is recorded as skipped. Check --base-url, "
                    "DNS, the proxy (--proxy, HTTPS_PROXY, NO_PROXY) and --ca-bundle, then "
                    "rerun with --resume"
                )
