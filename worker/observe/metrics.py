"""Prometheus metrics of a run: a node-exporter textfile and/or a push to a Pushgateway.

The textfile (`--metrics-file`) is rewritten atomically (prometheus_client writes a temporary
file and renames it) while the run goes on and at its end; `--pushgateway URL` pushes once at
the end, as batch jobs do. The values come from the run's counters at the moment of writing.

The CLI makes the `Metrics` as soon as the settings are known and writes the textfile once more
with the process's true exit code on every way out (a stop by signal, exit 2, 3, 74, ...), so an
alert on `thumbsweep_exit_code` never reads a stale file. Every series carries the shard label
of a sharded run (shards on one host write files that must not collide), and the last-success
time is carried over from the previous textfile when this run deleted nothing.
prometheus_client (with `metrics_export`, the series themselves) is imported only when metrics
are configured: it is a tenth of the start-up of a run without them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from yarl import URL

from worker.observe.summary import RunStats

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger("thumbsweep")


@dataclass
class RunLabels:
    """What identifies a run in the metrics."""

    run_id: str
    shard: str = ""
    exit_code: int | None = None  # set at the end


class Metrics:
    """Writes the textfile and pushes to a Pushgateway, each only when configured."""

    def __init__(
        self, textfile: str | Path | None, pushgateway: str | None, shard: str = ""
    ) -> None:
        self.labels = RunLabels("", shard)
        self.stats = RunStats()  # until the run's own counters are attached
        self._textfile = None if textfile is None else str(textfile)
        self._pushgateway = pushgateway
        self.previous_success: float | None = None
        self._registry: CollectorRegistry | None = None
        if self._textfile is not None or pushgateway is not None:
            from worker.observe.metrics_export import previous_success, run_registry

            # Read before this run writes the file: the last success of the runs before it.
            self.previous_success = previous_success(self._textfile, shard)
            self._registry = run_registry(self)
        self._written_exit: int | None = None

    def attach(self, run_id: str, stats: RunStats) -> None:
        """Report this run's id and counters from now on."""
        self.labels.run_id = run_id
        self.stats = stats

    def write_exit(self, exit_code: int) -> None:
        """The textfile with the run's exit code (no-op without --metrics-file)."""
        if self._written_exit == exit_code:
            return  # already written by the run's end; a second warning would only be noise
        self.labels.exit_code = exit_code
        self._written_exit = exit_code
        self.write_final_textfile()

    def write_textfile(self) -> None:
        """Rewrite the textfile atomically (no-op without --metrics-file)."""
        if self._textfile is None or self._registry is None:
            return
        from prometheus_client import write_to_textfile

        try:
            write_to_textfile(self._textfile, self._registry)
        except OSError as exc:
            log.warning("cannot write metrics file %s: %s", self._textfile, exc.strerror)

    def write_final_textfile(self) -> None:
        """The end-of-run textfile; if it cannot be written, the one written while running is
        removed, so that a stale in-progress file never stands for the finished run."""
        if self._textfile is None or self._registry is None:
            return
        from prometheus_client import write_to_textfile

        try:
            write_to_textfile(self._textfile, self._registry)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(self._textfile)
            log.warning(
                "cannot write the final metrics file %s (%s); the file from earlier in the run "
                "was removed rather than left looking final", self._textfile, exc.strerror,
            )  # fmt: skip

    def push(self) -> None:
        """Push once to the Pushgateway (no-op without --pushgateway); failures only warn."""
        if self._pushgateway is None or self._registry is None:
            return
        from prometheus_client import push_to_gateway

        grouping = {"shard": self.labels.shard} if self.labels.shard else None
        try:
            push_to_gateway(
                self._pushgateway, job="thumbsweep", registry=self._registry,
                grouping_key=grouping, timeout=10,
            )  # fmt: skip
        except OSError as exc:  # URLError is an OSError
            # Name the gateway without user info or query string: either may hold a credential.
            shown = URL(self._pushgateway).with_user(None).with_query(None)
            log.warning("cannot push metrics to %s: %s", shown, exc)
