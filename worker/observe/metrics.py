"""Prometheus metrics of a run: a node-exporter textfile and/or a push to a Pushgateway.

The textfile (`--metrics-file`) is rewritten atomically (prometheus_client writes a temporary
file and renames it) while the run goes on and at its end; `--pushgateway URL` pushes once at
the end, as batch jobs do. The values come from the run's counters at the moment of writing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, push_to_gateway, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from yarl import URL

from worker.observe.summary import RunStats
from worker.records.record import STATUSES

log = logging.getLogger("thumbsweep")


@dataclass
class RunLabels:
    """What identifies a run in the metrics."""

    run_id: str
    shard: str = ""
    exit_code: int | None = None  # set at the end


class RunCollector(Collector):
    """Exposes a run's counters as Prometheus metric families."""

    def __init__(self, stats: RunStats, labels: RunLabels) -> None:
        self._stats = stats
        self._labels = labels

    def collect(self) -> Iterator[Metric]:
        """The metric families, computed from the counters now."""
        stats = self._stats
        ids = GaugeMetricFamily("thumbsweep_ids", "Ids of this run by status.", labels=["status"])
        for status in STATUSES:
            ids.add_metric([status], stats.ids[status])
        yield ids
        total = GaugeMetricFamily("thumbsweep_ids_total_planned", "Ids this run set out to do.")
        total.add_metric([], stats.ids_total)
        yield total
        requests = CounterMetricFamily(
            "thumbsweep_requests", "HTTP attempts by status ('none': no response).",
            labels=["http_status"],
        )  # fmt: skip
        for http_status, count in sorted(stats.http_statuses.items()):
            requests.add_metric([http_status], count)
        yield requests
        retries = CounterMetricFamily("thumbsweep_retries", "Retried attempts.")
        retries.add_metric([], stats.retries)
        yield retries
        throttled = CounterMetricFamily("thumbsweep_throttled", "Responses with HTTP 429.")
        throttled.add_metric([], stats.throttled)
        yield throttled
        duration = GaugeMetricFamily("thumbsweep_duration_seconds", "Wall time of the run so far.")
        duration.add_metric([], stats.wall_seconds)
        yield duration
        if stats.last_success is not None:
            last = GaugeMetricFamily(
                "thumbsweep_last_success_timestamp_seconds", "Unix time of the last deletion."
            )
            last.add_metric([], stats.last_success)
            yield last
        info = GaugeMetricFamily(
            "thumbsweep_run_info", "The run (value 1).", labels=["run_id", "shard"]
        )
        info.add_metric([self._labels.run_id, self._labels.shard], 1)
        yield info
        if self._labels.exit_code is not None:
            exit_code = GaugeMetricFamily("thumbsweep_exit_code", "The run's exit code.")
            exit_code.add_metric([], self._labels.exit_code)
            yield exit_code


class Metrics:
    """Writes the textfile and pushes to a Pushgateway, each only when configured."""

    def __init__(
        self, stats: RunStats, labels: RunLabels, textfile: str | None, pushgateway: str | None
    ) -> None:
        self.labels = labels
        self._textfile = textfile
        self._pushgateway = pushgateway
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(RunCollector(stats, labels))

    def write_textfile(self) -> None:
        """Rewrite the textfile atomically (no-op without --metrics-file)."""
        if self._textfile is None:
            return
        try:
            write_to_textfile(self._textfile, self._registry)
        except OSError as exc:
            log.warning("cannot write metrics file %s: %s", self._textfile, exc.strerror)

    def write_final_textfile(self) -> None:
        """The end-of-run textfile; if it cannot be written, the one written while running is
        removed, so that a stale in-progress file never stands for the finished run."""
        if self._textfile is None:
            return
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
        if self._pushgateway is None:
            return
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
