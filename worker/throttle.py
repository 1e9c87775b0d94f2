"""Request-rate limiting: a token bucket that holds one token, refilled `rate` times a second.

Each caller reserves the next free start time (virtual scheduling, as in GCRA) and sleeps until
it; callers are served in arrival order and no second ever starts more than `rate` requests
(plus the one token the bucket can hold).
"""

from __future__ import annotations

import asyncio


class RateLimiter:
    """At most `rate` request starts per second; a rate of 0 means no limit."""

    __slots__ = ("_interval", "_next_start")

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next_start = 0.0

    async def acquire(self) -> None:
        """Wait until this caller may start a request."""
        if self._interval == 0.0:
            return
        now = asyncio.get_running_loop().time()
        start = max(now, self._next_start)
        self._next_start = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)
