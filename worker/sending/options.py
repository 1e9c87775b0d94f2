"""What the sender pool needs to know: its size, its pace, its retries and when it stops.

Resolved once from the settings at the top of a run (`worker.run_setup`), so the senders do
not depend on the settings model, and tests can hand them exactly the options they exercise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SenderOptions:
    """The sender pool's options; the names and meanings are those of the run's settings."""

    concurrency: int  # senders, hence requests in flight at most
    rate: float  # requests started per second at most; 0 = no limit
    max_attempts: int  # per batch, the first one included
    backoff_initial: float  # seconds: the first full-jitter backoff window
    backoff_max: float  # seconds: the largest backoff window
    retry_after_max: float  # seconds: the longest Retry-After honoured
    breaker_min_batches: int  # finished batches before the failure-rate breaker may trip
    max_failure_rate: float  # the share of failed batches that trips the breaker
    drain_timeout: float  # seconds, after a stop signal, for requests in flight to finish
