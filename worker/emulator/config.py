"""The emulator's settings: credentials, listening address, latency, fault rates and limits."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

__all__ = ["EmulatorConfig"]


@dataclass
class EmulatorConfig:
    """Credentials, listening address, latency and random fault rates of one emulator."""

    access_key: str = field(
        default_factory=lambda: os.environ.get("THUMBSWEEP_ACCESS_KEY", "demo-access-key")
    )
    secret_key: str = field(
        default_factory=lambda: os.environ.get("THUMBSWEEP_SECRET_KEY", "demo-secret-key"),
        repr=False,
    )
    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: float = 0.0
    fault_429_rate: float = 0.0
    fault_5xx_rate: float = 0.0  # answered as 503 Endpoint Error
    drop_rate: float = 0.0  # half dropped before the delete is applied, half after
    fault_keep_rate: float = 0.0  # answered 200 code "0" with the requested ids still listed
    retry_after: str | None = None  # Retry-After value sent with random 429s, if any
    seed: int | None = None
    rate_limit: float = 0.0  # signed API requests per second (token bucket); 0: no limit
    rate_burst: float | None = None  # bucket capacity; None: max(1, rate_limit / 10)
    keepalive_timeout: float | None = None  # idle keep-alive seconds; None: aiohttp's default
    clock_offset: float = 0.0  # seconds the gateway's clock (signature window, Date) is ahead
    # JSON Lines of persons to serve; with it unknown persons are 404 (as the API); without it,
    # persons are created on first sight and a look-up cannot be answered truthfully
    state: str | None = None

    def __post_init__(self) -> None:
        rates = (self.fault_429_rate, self.fault_5xx_rate, self.drop_rate, self.fault_keep_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must each be within 0..1 and add up to at most 1")
        if not self.latency_ms >= 0:
            raise ValueError("latency must not be negative")
        if not (math.isfinite(self.rate_limit) and self.rate_limit >= 0):
            raise ValueError("the rate limit must be a finite number of requests/s, 0 for none")
        if self.rate_burst is not None and not (
            math.isfinite(self.rate_burst) and self.rate_burst >= 1
        ):
            raise ValueError("the rate burst must be a finite number of at least 1")
        if self.keepalive_timeout is not None and not (
            math.isfinite(self.keepalive_timeout) and self.keepalive_timeout >= 0
        ):
            raise ValueError("the keep-alive timeout must be a finite number of seconds")

    @property
    def bucket_capacity(self) -> float:
        """Tokens the rate-limit bucket holds when full (the largest burst let through)."""
        if self.rate_burst is not None:
            return self.rate_burst
        return max(1.0, self.rate_limit / 10)
