"""Which event loop runs a sweep: asyncio's own, or uvloop when its optional extra is installed.

uvloop (`pip install 'thumbsweep[uvloop]'`) lowers the CPU spent per request; benchmark 2
(`bench/uvloop_check.py`) measured the gain. `auto`, the default, uses it when it is
importable and asyncio's loop otherwise; `asyncio` and `uvloop` choose explicitly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from worker.errors import ConfigError

EventLoopChoice = Literal["auto", "asyncio", "uvloop"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
_Result = TypeVar("_Result")


def loop_factory(choice: EventLoopChoice) -> tuple[str, LoopFactory | None]:
    """The loop's name and its factory (None: asyncio's default loop)."""
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "--event-loop uvloop needs uvloop, which is not installed: "
                "pip install 'thumbsweep[uvloop]', or use --event-loop asyncio"
            ) from None
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def run_on(factory: LoopFactory | None, main: Coroutine[Any, Any, _Result]) -> _Result:
    """Run `main` to completion on a new loop from `factory`, as `asyncio.run` does."""
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
