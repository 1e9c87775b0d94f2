"""Prometheus metrics of a run: a node-exporter textfile and/or a push to a Pushgateway.

The textfile (`--metrics-file`) is rewritten atomically (prometheus_client writes a temporary
file and renames it) while the run goes on and at its end; `--pushgateway URL` pushes once at
the end, as batch jobs do. The values come from the run's counters at the moment of writing.

The CLI makes the `Metrics` as soon as the settings are known and writes the textfile once more
with the process's true exit code on every way out (a stop by signal, exit 2, 3, 74, ...), so an
alert on `thumbsweep_exit_code` never reads a stale file. Every series carries the shard label
of a sharded run (shards on one host write files that must not collide), and the last-success
time is carried over from the previous textfile when this run deleted nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, push_to_gateway, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from yarl import URL

from worker.observe.summary import RunStats
from worker.records.record import STATUSES

log = logging.getLogger("thumbsweep")

LAST_SUCCESS = "thumbsweep_last_success_timestamp_seconds"


@dataclass
class RunLabels:
    """What identifies a run in the metrics."""

    run_id: str
    shard: str = ""
    exit_code: int | None = None  # set at the end


class RunCollector(Collector):
    """Exposes a run's counters as Prometheus metric families."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        """The metric families, computed from the counters now."""
        stats, labels = self._metrics.stats, self._metrics.labels
        # A sharded run labels every series with its shard; an unsharded one has no shard.
        names, values = (["shard"], [labels.shard]) if labels.shard else ([], [])

        def gauge(name: str, text: str, *extra: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, text, labels=[*extra, *names])

        def counter(name: str, text: str, *extra: str) -> CounterMetricFamily:
            return CounterMetricFamily(name, text, labels=[*extra, *names])

        ids = gauge("thumbsweep_ids", "Ids of this run by status.", "status")
        for status in STATUSES:
            ids.add_metric([status, *values], stats.ids[status])
        yield ids
        total = gauge("thumbsweep_ids_total_planned", "Ids this run set out to do.")
        total.add_metric(values, stats.ids_total)
        yield total
        requests = counter(
            "thumbsweep_requests", "HTTP attempts by status ('none': no response).", "http_status"
        )
        for http_status, count in sorted(stats.http_statuses.items()):
            requests.add_metric([http_status, *values], count)
        yield requests
        retries = counter("thumbsweep_retries", "Retried attempts.")
        retries.add_metric(values, stats.retries)
        yield retries
        throttled = counter("thumbsweep_throttled", "Responses with HTTP 429.")
        throttled.add_metric(values, stats.throttled)
        yield throttled
        duration = gauge("thumbsweep_duration_seconds", "Wall time of the run so far.")
        duration.add_metric(values, stats.wall_seconds)
        yield duration
        last_success = stats.last_success or self._metrics.previous_success
        if last_success is not None:
            last = gauge(LAST_SUCCESS, "Unix time of the last deletion (this run or before).")
            last.add_metric(values, last_success)
            yield last
        info = GaugeMetricFamily(
            "thumbsweep_run_info", "The run (value 1).", labels=["run_id", "shard"]
        )
        info.add_metric([labels.run_id, labels.shard], 1)
        yield info
        if labels.exit_code is not None:
            exit_code = gauge("thumbsweep_exit_code", "The run's exit code.")
            exit_code.add_metric(values, labels.exit_code)
            yield exit_code


def previous_success(textfile: str | None, shard: str) -> float | None:
    """The last-success time in an earlier textfile of the same shard, if one is readable."""
    if textfile is None:
        return None
    try:
        text = Path(textfile).read_text(encoding="utf-8")
        families = list(text_string_to_metric_families(text))
    except (OSError, ValueError):  # none yet, or not ours: start afresh
        return None
    found = [
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == LAST_SUCCESS and sample.labels.get("shard", "") == shard
    ]
    return max(found) if found else None


class Metrics:
    """Writes the textfile and pushes to a Pushgateway, each only when configured."""

    def __init__(
        self, textfile: str | Path | None, pushgateway: str | None, shard: str = ""
    ) -> None:
        self.labels = RunLabels("", shard)
        self.stats = RunStats()  # until the run's own counters are attached
        self._textfile = None if textfile is None else str(textfile)
        self._pushgateway = pushgateway
        # Read before this run writes the file: the last success of the runs before it.
        self.previous_success = previous_success(self._textfile, shard)
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(RunCollector(self))
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
