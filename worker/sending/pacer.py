"""Pacing: request starts spaced `1 / rate` apart, first come first served, at a rate that may
change at any moment (and applies to the very next start, not only to requests that arrive
later).

Only one waiting request sleeps (the head of the line); the others wait on a future in a FIFO
and are handed the head in turn, so a start costs O(1) whatever the number of senders, and a
rate change or a pause is seen by the next start. With no rate (unpaced) and no pause a start
is a clock read and a few comparisons, whatever the queue.

Starts are spaced from the previous start's slot, not from when the head woke up: a timer that
fires up to `slack` late lets the next starts catch up at once, so a busy event loop does not
lose rate; a start later than that (the senders were idle) begins a new schedule, so nothing is
banked for a burst the API would refuse.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from worker.sending.guards import Guard

_SLACK_SECONDS = 0.01
# A start this close to its slot goes now: the event loop ends a sleep up to its clock's
# resolution early, and sleeping again for less would spin without the clock moving.
_EARLY = 1e-6
_WAKE_EVERY = 0.05  # seconds: the longest the head of the line sleeps before looking again


class Pacer:
    """First-come-first-served start times, `interval` seconds apart (0: unpaced)."""

    __slots__ = ("_clock", "_head", "_next", "_paused_until", "_queue", "_slack", "interval")

    def __init__(self, clock: Callable[[], float], slack: float = _SLACK_SECONDS) -> None:
        self._clock = clock
        self._slack = slack
        self.interval = 0.0
        self._next = float("-inf")  # the earliest start allowed for the next request
        self._paused_until = float("-inf")
        self._head = False  # a request is at the head of the line (sleeping, or handed it)
        self._queue: deque[asyncio.Future[None]] = deque()

    def set_rate(self, rate: float | None) -> None:
        """Starts per second from the next start on; None: unpaced."""
        interval = 1.0 / rate if rate else 0.0
        if interval < self.interval:  # faster: the next start need not wait the old interval
            self._next -= self.interval - interval
        elif interval > self.interval:
            self._next += interval - self.interval
        self.interval = interval

    def pause_until(self, moment: float) -> None:
        """No start before `moment` (clock time)."""
        self._paused_until = max(self._paused_until, moment)

    async def start(self, guard: Guard) -> float:
        """Wait for this request's turn (or a stop); return the start time."""
        now = self._clock()
        # Unpaced, no line to keep: a queue left over from paced times drains on its own.
        if (
            (not self._head or not self.interval)
            and now >= self._next
            and now >= self._paused_until
        ):
            self._take(now)
            return now
        if self._head:
            turn = asyncio.get_running_loop().create_future()
            self._queue.append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed the head, then cancelled
                    self._hand_on()
                raise
        self._head = True
        try:
            while not guard.tripped:
                now = self._clock()
                due = max(self._next, self._paused_until)
                if now >= due - _EARLY:
                    break
                # Not past _WAKE_EVERY: a rate rise meanwhile moves the slot earlier.
                await guard.sleep(min(due - now, _WAKE_EVERY))
            now = self._clock()
            self._take(now)
            return now
        finally:
            self._hand_on()

    def _take(self, now: float) -> None:
        """A start at `now`: the next slot is one interval after this one's, or after `now`
        when this start came more than `slack` after its slot (idle senders bank nothing)."""
        slot = self._next if now - self._next <= self._slack else now
        self._next = slot + self.interval

    def _hand_on(self) -> None:
        """Wake the next waiting request, which becomes the head; or free the head."""
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._head = False
