"""What a run is doing while it runs: a progress bar on a terminal, JSON lines elsewhere.

On a TTY a tqdm bar shows ids done of the total, ids/s, the ETA, failures and retries. Without
one (cron, containers), or with `--log-format json`, one JSON line goes to stderr every
`--progress-interval` seconds with the same numbers. `-q` silences both. Either way the metrics
file, when there is one, is refreshed at every interval.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from worker.clock import utc_now_iso
from worker.observe.console import json_output, progress_shown
from worker.observe.summary import RunStats

if TYPE_CHECKING:
    from tqdm import tqdm

_BAR_REFRESH_SECONDS = 0.5


def progress_fields(run_id: str, stats: RunStats) -> dict[str, Any]:
    """The numbers of one progress report."""
    done = stats.ids_finished
    rate = stats.ids_per_second
    remaining = max(0, stats.ids_total - done)
    return {
        "ts": utc_now_iso(),
        "event": "progress",
        "run_id": run_id,
        "ids_done": done,
        "ids_total": stats.ids_total,
        "ids_deleted": stats.ids["deleted"],
        "ids_failed": stats.ids["failed"],
        "ids_skipped": stats.ids["skipped"],
        "ids_per_second": round(rate, 2),
        "eta_seconds": round(remaining / rate, 1) if rate > 0 else None,
        "requests": stats.attempts,
        "retries": stats.retries,
        "throttled": stats.throttled,
    }


class ProgressReporter:
    """Reports progress until cancelled; `on_tick` runs at every JSON report (metrics)."""

    def __init__(
        self,
        run_id: str,
        stats: RunStats,
        interval: float,
        on_tick: Callable[[], None] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self._run_id = run_id
        self._stats = stats
        self._interval = interval
        self._on_tick = on_tick
        self._stream = stream or sys.stderr
        self._bar: tqdm[Any] | None = None

    def _is_tty(self) -> bool:
        isatty = getattr(self._stream, "isatty", None)
        return bool(isatty and isatty())

    def start(self) -> None:
        """Show the bar (on a terminal); call before `run`."""
        # A bar is free text: not among JSON logs, and not when progress is silenced.
        if self._is_tty() and progress_shown() and not json_output():
            # A terminal that reports no size (0x0, e.g. a bare pty) would make tqdm hide the
            # bar; shutil falls back to 100x24 then.
            size = shutil.get_terminal_size((100, 24))
            from tqdm import tqdm  # here: a run without a bar need not import it

            self._bar = tqdm(
                total=self._stats.ids_total, unit="id", file=self._stream, desc="thumbsweep",
                smoothing=0.1, ncols=size.columns, nrows=size.lines,
            )  # fmt: skip

    async def run(self) -> None:
        """Report every interval (the bar: twice a second) until cancelled."""
        if self._bar is not None:
            await self._run_bar()
        elif self._interval > 0:
            while True:
                await asyncio.sleep(self._interval)
                if progress_shown():
                    self.report_line()
                elif self._on_tick is not None:  # silent, but the metrics stay fresh
                    self._on_tick()

    def finish(self) -> None:
        """Bring the bar to its final state and close it (after `run` was cancelled)."""
        if self._bar is not None:
            self._update_bar()
            self._bar.close()
            self._bar = None

    def report_line(self) -> None:
        """Write one JSON progress line (and refresh the metrics)."""
        line = json.dumps(progress_fields(self._run_id, self._stats), separators=(",", ":"))
        print(line, file=self._stream, flush=True)
        if self._on_tick is not None:
            self._on_tick()

    async def _run_bar(self) -> None:
        ticks_per_metrics = max(1, round(self._interval / _BAR_REFRESH_SECONDS))
        tick = 0
        while True:
            await asyncio.sleep(_BAR_REFRESH_SECONDS)
            self._update_bar()
            tick += 1
            if self._on_tick is not None and tick % ticks_per_metrics == 0:
                self._on_tick()

    def _update_bar(self) -> None:
        assert self._bar is not None
        self._bar.n = self._stats.ids_finished
        self._bar.set_postfix(
            failed=self._stats.ids["failed"], retries=self._stats.retries, refresh=False
        )
        self._bar.refresh()
