"""SIGTERM, SIGINT and SIGHUP over the whole life of a run: each phase ends cleanly.

- Before sending (reading the input, planning, dry-run records) a signal ends the run at once:
  nothing was sent. A blocking read of stdin is interrupted too.
- While sending (`StopSignals`) the first signal stops new batches and attempts and lets
  requests in flight finish for up to `drain_timeout` seconds; then they are cancelled (and
  recorded as skipped). A second signal cancels them immediately.
- After sending the ledger is completed first (a signal is held until then, a second one
  ends the run at once); a signal during the metrics push or the summary ends the run with the
  summary and a message that the ledger is complete.

SIGHUP (a closed ssh session) is a SIGTERM; the exit code is 128 + the signal's number. A
signal ignored when thumbsweep starts (`nohup`, `&` in a script) stays ignored. The handlers
work the same when the worker is PID 1 in a container (where default signal actions do not
apply).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from worker.errors import ExitCode

if TYPE_CHECKING:
    from worker.run import RunResult

log = logging.getLogger("thumbsweep")

SIGNAL_EXIT_CODES = {
    signal.SIGHUP: ExitCode.SIGHUP,
    signal.SIGINT: ExitCode.SIGINT,
    signal.SIGTERM: ExitCode.SIGTERM,
}


class Phase(enum.Enum):
    """Where a run is, as far as a stop signal is concerned."""

    BEFORE_SENDING = "before sending started"
    SENDING = "while sending"
    FINISHING = "while completing the ledger"
    PUSHING = "while pushing metrics"
    SUMMARY = "while printing the summary"


# Phases where a signal ends the run at once: nothing is half-written there, and the work may
# block for long (stdin that never ends, a Pushgateway that never answers).
_AT_ONCE = frozenset({Phase.BEFORE_SENDING, Phase.PUSHING})


class StoppedBySignal(BaseException):
    """A stop signal ended the run outside the sending phase (a BaseException, like ^C)."""

    def __init__(self, signum: signal.Signals, phase: Phase, result: RunResult | None) -> None:
        super().__init__(signum.name)
        self.signum = signum
        self.phase = phase
        self.result = result  # known once sending (or the dry run) has ended

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: 129 SIGHUP, 130 SIGINT, 143 SIGTERM."""
        return SIGNAL_EXIT_CODES[self.signum]

    def message(self) -> str:
        """One line naming the signal and, truthfully, what had been done."""
        if self.phase is Phase.BEFORE_SENDING:
            return f"stopped by {self.signum.name} before sending started: nothing was sent"
        sent = self.result is None or self.result.stats.sending_started is not None
        ended = "after sending ended" if sent else "after the run's records were written"
        return (
            f"stopped by {self.signum.name} {ended} ({self.phase.value}): the ledger is "
            "complete and consistent; --resume continues from it"
        )


_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class RunSignals:
    """The process-wide stop handlers of one CLI run (signal handlers are process-wide too)."""

    def __init__(self) -> None:
        self.phase = Phase.BEFORE_SENDING
        self.result: RunResult | None = None
        self._pending: tuple[signal.Signals, Phase] | None = None  # held, and when it came
        self._previous: dict[signal.Signals, _Handler] = {}

    def install(self) -> None:
        """Handle every stop signal that is not ignored, from now on."""
        for signum in SIGNAL_EXIT_CODES:
            current = signal.getsignal(signum)
            if current is signal.SIG_IGN:
                continue  # nohup / a background job: the caller asked for this one to be ignored
            self._previous.setdefault(signum, current)
            signal.signal(signum, self._on_signal)

    def restore(self) -> None:
        """Put back the handlers found at `install`."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        received = signal.Signals(signum)
        if self.phase in _AT_ONCE or self._pending is not None:  # a second one: at once
            self._stop_now(received)
        if self.phase is not Phase.SUMMARY:
            log.warning("received %s: completing the ledger, then stopping", received.name)
        self._pending = (received, self.phase)

    def _stop_now(self, received: signal.Signals) -> None:
        signum, phase = self._pending or (received, self.phase)
        self._pending = None
        raise StoppedBySignal(signum, phase, self.result)

    def enter(self, phase: Phase) -> None:
        """Move to `phase`; entering a phase that stops at once acts on a held signal."""
        self.phase = phase
        if phase in _AT_ONCE and self._pending is not None:
            self._stop_now(self._pending[0])

    def held_stop(self) -> StoppedBySignal | None:
        """The stop for a signal held until now (call after the summary), if one came."""
        if self._pending is None:
            return None
        (signum, phase), self._pending = self._pending, None
        return StoppedBySignal(signum, phase, self.result)


_current: RunSignals | None = None


@contextmanager
def run_signals() -> Iterator[RunSignals]:
    """Install the stop handlers for the life of a CLI run (not for library calls of `run`)."""
    global _current  # one per process, as the signal handlers themselves
    handlers = RunSignals()
    handlers.install()
    _current = handlers
    try:
        yield handlers
    finally:
        _current = None
        handlers.restore()


@contextmanager
def pushing_metrics(result: RunResult) -> Iterator[None]:
    """Around the metrics push: a signal there (or one held) stops the run at once."""
    if _current is None:
        yield
        return
    _current.result = result
    _current.enter(Phase.PUSHING)
    try:
        yield
    finally:
        _current.phase = Phase.FINISHING


class StopSignals:
    """Installs the stop handlers of the sending phase for the duration of a `with` block."""

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
        self._signals: list[signal.Signals] = []

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
        self._signals = [s for s in SIGNAL_EXIT_CODES if signal.getsignal(s) is not signal.SIG_IGN]
        if _current is not None:
            _current.enter(Phase.SENDING)
        for signum in self._signals:
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
        for signum in self._signals:
            self._loop.remove_signal_handler(signum)
        if _current is not None:
            # The loop reset the signals to their defaults: take them back at once, before a
            # default action could kill the run while it completes the ledger.
            _current.enter(Phase.FINISHING)
            _current.install()
