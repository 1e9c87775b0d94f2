"""The Prometheus side of a run's metrics: its series, computed from the run's counters, and
the last-success time read back from an earlier textfile.

Imported by `metrics` only when a textfile or a Pushgateway is configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from worker.records.record import STATUSES

if TYPE_CHECKING:
    from worker.observe.metrics import Metrics

LAST_SUCCESS = "thumbsweep_last_success_timestamp_seconds"


def run_registry(metrics: Metrics) -> CollectorRegistry:
    """A registry whose one collector reads `metrics`' labels and counters at each write."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(metrics))
    return registry


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
