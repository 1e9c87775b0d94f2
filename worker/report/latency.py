"""The latency distribution of a report's requests, from each batch record's `elapsed_ms`.

Counted per whole millisecond, so a 10 M-record ledger needs only as many counters as there
are distinct latencies, and the percentiles are exact (nearest rank, as the run's summary).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

# Upper bounds (ms) of the histogram's buckets; a last bucket (le null) holds the rest.
BUCKETS_MS = (10, 25, 50, 100, 250, 500, 1000)


class Latencies:
    """Counts of `elapsed_ms` values."""

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()

    def add(self, elapsed_ms: Any) -> None:
        """Count one record's `elapsed_ms` (ignored unless a non-negative integer)."""
        if isinstance(elapsed_ms, int) and not isinstance(elapsed_ms, bool) and elapsed_ms >= 0:
            self._counts[elapsed_ms] += 1

    def _percentile(self, ordered: list[tuple[int, int]], total: int, fraction: float) -> float:
        rank = max(1, round(fraction * total))
        seen = 0
        for value, count in ordered:
            seen += count
            if seen >= rank:
                return float(value)
        return float(ordered[-1][0])

    def as_dict(self) -> dict[str, Any]:
        """count, p50, p95, p99, max (null when count is 0) and the histogram (not cumulative)."""
        ordered = sorted(self._counts.items())
        total = sum(self._counts.values())
        histogram = []
        lower = -1
        for bound in (*BUCKETS_MS, None):
            upper = bound if bound is not None else float("inf")
            count = sum(n for value, n in ordered if lower < value <= upper)
            histogram.append({"le": bound, "count": count})
            lower = bound if bound is not None else lower
        if not total:
            return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None,
                    "histogram": histogram}  # fmt: skip
        return {
            "count": total,
            "p50": self._percentile(ordered, total, 0.50),
            "p95": self._percentile(ordered, total, 0.95),
            "p99": self._percentile(ordered, total, 0.99),
            "max": float(ordered[-1][0]),
            "histogram": histogram,
        }
