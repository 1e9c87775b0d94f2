"""SIGTERM and SIGINT during sending: drain, then cancel; a second signal cancels at once.

The first signal stops new batches and attempts at once and lets requests in flight finish for
up to `drain_timeout` seconds; then they are cancelled (and recorded as skipped). A second
signal cancels them immediately. The handlers live on the event loop, so they work the same
when the worker is PID 1 in a container (where default signal actions do not apply).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger("thumbsweep")

SIGNAL_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StoppedBeforeSending(BaseException):
    """SIGTERM arrived while the input was still being read: nothing was sent."""

    exit_code = SIGNAL_EXIT_CODES[signal.SIGTERM]


def _raise_stopped(signum: int, frame: object) -> None:
    raise StoppedBeforeSending


def stop_on_sigterm_before_sending() -> None:
    """Until sending starts, SIGTERM ends the run at once (also as PID 1, which has no default).

    SIGINT already does so through KeyboardInterrupt. While sending, `StopSignals` takes over.
    """
    signal.signal(signal.SIGTERM, _raise_stopped)


class StopSignals:
    """Installs the stop handlers for the duration of a `with` block."""

    def __init__(
        self,
        stop: Callable[[str, int], None],
        cancel_in_flight: Callable[[], None],
        drain_timeout: float,
    ) -> None:
        self._stop = stop
        self._cancel = cancel_in_flight
        self._drain_timeout = drain_timeout
        self._received = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _on_signal(self, signum: signal.Signals) -> None:
        self._received += 1
        assert self._loop is not None
        if self._received == 1:
            log.warning(
                "received %s: starting no new requests; draining those in flight (up to %g s)",
                signum.name, self._drain_timeout,
            )  # fmt: skip
            self._stop(f"received {signum.name}", SIGNAL_EXIT_CODES[signum])
            self._deadline = self._loop.call_later(self._drain_timeout, self._drain_expired)
        else:
            log.warning("received %s again: cancelling requests in flight now", signum.name)
            self._cancel()

    def _drain_expired(self) -> None:
        log.warning("drain timeout reached: cancelling requests still in flight")
        self._cancel()

    def __enter__(self) -> StopSignals:
        self._loop = asyncio.get_running_loop()
        for signum in SIGNAL_EXIT_CODES:
            self._loop.add_signal_handler(signum, self._on_signal, signum)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        assert self._loop is not None
        for signum in SIGNAL_EXIT_CODES:
            self._loop.remove_signal_handler(signum)
