"""An event loop on virtual time, for code that waits only on timers (pacing, backoff,
Retry-After pauses): every sleep ends at once, and the loop's clock jumps to when it would have
ended, so waits are measured exactly and cost no wall time.

Code under test takes the loop's clock as its `clock=` (`asyncio.get_running_loop().time`);
`Guard.sleep` and `asyncio.sleep` follow the loop's clock on their own.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    """Reports ready I/O as usual; when there is none, jumps the clock to the next timer
    instead of waiting for it."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Ready events now; otherwise let `timeout` seconds of virtual time pass."""
        ready = super().select(0)
        if ready or timeout is None:
            # No timer pending: only I/O (e.g. a thread waking the loop) can end the wait.
            return ready or super().select(timeout)
        self._loop.now += max(0.0, timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is virtual and starts at 0."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        """The virtual time, in seconds."""
        return self.now


def in_virtual_time(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh virtual-time loop; return its result."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)
