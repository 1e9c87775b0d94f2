"""Counters of a run and the end-of-run summary printed on stderr."""

from __future__ import annotations

import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from worker.observe.origin import RunOrigin
from worker.observe.wording import counted
from worker.records.record import STATUSES, LedgerRecord


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class RunStats:
    """What a run did: ids and ledger records by status, attempts, retries and latencies."""

    ids: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))
    started: float = field(default_factory=time.perf_counter)
    sending_started: float | None = None
    finished: float | None = None
    ledger_path: str = ""
    ids_total: int = 0
    http_statuses: Counter[str] = field(default_factory=Counter)
    last_success: float | None = None  # Unix time of the last deleted batch
    throttled_minutes: Counter[int] = field(default_factory=Counter)  # Unix minute -> 429s

    def count(self, record: LedgerRecord) -> None:
        """Count one ledger record (a batch, or an invalid row)."""
        self.requests[record.status] += 1
        self.ids[record.status] += len(record.thumbnail_ids)
        if record.status == "deleted":
            self.last_success = time.time()

    def record_attempt(self, latency: float, http_status: int | None) -> None:
        """Count one HTTP attempt (None: no response) and its latency in seconds."""
        self.latencies.append(latency)
        self.http_statuses["none" if http_status is None else str(http_status)] += 1
        if http_status == 429:  # Too Many Requests
            self.throttled_minutes[int(time.time() // 60)] += 1

    @property
    def attempts(self) -> int:
        """HTTP attempts made (each has a latency)."""
        return len(self.latencies)

    @property
    def throttled(self) -> int:
        """Attempts answered with HTTP 429."""
        return self.http_statuses["429"]

    @property
    def ids_finished(self) -> int:
        """Ids whose batch has its final record (any status but invalid)."""
        return sum(count for status, count in self.ids.items() if status != "invalid")

    @property
    def ids_per_second(self) -> float:
        """Finished ids per second since sending started."""
        if self.sending_started is None:
            return 0.0
        seconds = (self.finished or time.perf_counter()) - self.sending_started
        return self.ids_finished / seconds if seconds > 0 else 0.0

    def start_sending(self) -> None:
        """Mark the moment the first request may start."""
        self.sending_started = time.perf_counter()

    def finish(self) -> None:
        """Mark the end of the run."""
        self.finished = time.perf_counter()

    @property
    def wall_seconds(self) -> float:
        """Seconds from start to finish (or to now)."""
        return (self.finished or time.perf_counter()) - self.started

    @property
    def requests_per_second(self) -> float:
        """HTTP attempts per second while sending."""
        if self.sending_started is None or not self.attempts:
            return 0.0
        seconds = (self.finished or time.perf_counter()) - self.sending_started
        return self.attempts / seconds if seconds > 0 else 0.0


def _by_status(counts: Counter[str]) -> str:
    shown = [f"{s} {counts[s]:,}" for s in STATUSES if counts[s] and s != "invalid"]
    return ", ".join(shown) or "none"


def _attempts_line(stats: RunStats) -> str:
    """Attempts, retries and latency; no latency without a request (a dry run sends none)."""
    if not stats.attempts:
        return "  attempts: none"
    ordered = sorted(stats.latencies)
    return (
        f"  attempts: {stats.attempts:,} ({counted(stats.retries, 'retry', 'retries')}, "
        f"{stats.throttled:,} throttled), {stats.requests_per_second:.1f} requests/s, latency p50 "
        f"{percentile(ordered, 0.50) * 1000:.0f} ms, p95 {percentile(ordered, 0.95) * 1000:.0f} ms"
    )


def render_summary(
    run_id: str, stats: RunStats, stop_reason: str | None, origin: RunOrigin | None = None
) -> str:
    """The multi-line summary: ids and requests by status, retries, speed, latency, where the
    run went (`origin`) and every file it wrote."""
    lines = [
        f"thumbsweep run {run_id} {'stopped' if stop_reason else 'finished'} "
        f"in {stats.wall_seconds:.2f} s",
        f"  ids:      {_by_status(stats.ids)}",
        f"  requests: {_by_status(stats.requests)}",
        f"  invalid input rows: {stats.requests['invalid']:,}",
        _attempts_line(stats),
    ]
    if origin is None:
        lines.append(f"  ledger:   {stats.ledger_path}")
    else:
        lines += origin.summary_lines()
    if stop_reason:
        lines.append(f"  stopped:  {stop_reason}")
    return "\n".join(lines)


def summary_fields(
    run_id: str, stats: RunStats, stop_reason: str | None, origin: RunOrigin | None = None
) -> dict[str, Any]:
    """The summary's facts as one JSON-ready object (for `--log-format json`)."""
    fields: dict[str, Any] = {
        "event": "summary",
        "run_id": run_id,
        "outcome": "stopped" if stop_reason else "finished",
        "wall_seconds": round(stats.wall_seconds, 3),
        "ids": {status: stats.ids[status] for status in STATUSES if stats.ids[status]},
        "requests": {s: stats.requests[s] for s in STATUSES if stats.requests[s]},
        "attempts": stats.attempts,
        "retries": stats.retries,
        "throttled": stats.throttled,
    }
    if stats.attempts:  # no latency without a request (a dry run sends none)
        ordered = sorted(stats.latencies)
        fields["latency_ms"] = {
            "p50": round(percentile(ordered, 0.50) * 1000, 1),
            "p95": round(percentile(ordered, 0.95) * 1000, 1),
        }
    if origin is None:
        fields["outputs"] = {"ledger": stats.ledger_path}
    else:
        fields["target"] = origin.api_host
        fields["config"] = origin.config_text
        fields["credentials"] = origin.credentials
        fields["outputs"] = {what: str(path) for what, path in origin.outputs}
    if stop_reason:
        fields["stop_reason"] = stop_reason
    return fields
