"""Retry budget: retries may be at most a share of recent attempts, plus a small floor.

In the spirit of gRPC retry throttling and Google SRE's retry budget: during an outage every
first attempt fails, and unbudgeted retries would multiply the load. Attempts and retries are
counted with exponential decay over a window of about `window` seconds; a retry may start only
while recent retries are below `floor + ratio * recent attempts`. A retry that is held back waits
(so its sender starts nothing new either), and the whole worker slows down instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from worker.sending.guards import Guard

_POLL_SECONDS = 0.05


class RetryBudget:
    """Decaying counts of attempts and retries, and the rule that holds retries back."""

    __slots__ = ("_attempts", "_clock", "_floor", "_ratio", "_retries", "_updated", "_window")

    def __init__(
        self,
        ratio: float = 0.2,
        floor: float = 10.0,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ratio = ratio
        self._floor = floor
        self._window = window
        self._clock = clock
        self._attempts = 0.0
        self._retries = 0.0
        self._updated = clock()

    def _decay(self) -> None:
        now = self._clock()
        factor = math.exp(-(now - self._updated) / self._window)
        self._attempts *= factor
        self._retries *= factor
        self._updated = now

    def record(self, is_retry: bool) -> None:
        """Count one attempt that is about to start."""
        self._decay()
        self._attempts += 1.0
        if is_retry:
            self._retries += 1.0

    def allows_retry(self) -> bool:
        """True while recent retries stay within the budget."""
        self._decay()
        return self._retries < self._floor + self._ratio * self._attempts

    async def wait_for_retry(self, guard: Guard) -> None:
        """Hold a retry back until the budget allows it (or the run stops)."""
        while not guard.tripped and not self.allows_retry():
            await guard.sleep(_POLL_SECONDS)
