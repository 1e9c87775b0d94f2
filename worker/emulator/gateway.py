"""What the API Gateway does before a request reaches the service: it checks the v2 signature
against the raw path as sent on the wire, then the key's rate limit (a token bucket)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

from worker.emulator.config import EmulatorConfig

__all__ = ["MAX_SKEW_MS", "SIGNATURE_HEADER", "TokenBucket", "signature_problem"]

SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"
MAX_SKEW_MS = 300_000  # the gateway rejects timestamps 5 minutes or more away from its clock


def signature_problem(
    config: EmulatorConfig, method: str, raw_path: str, headers: Mapping[str, str]
) -> str | None:
    """None if the request's v2 signature is valid, else why the gateway rejects it.

    `headers` is looked up by lower-case name, so pass a case-insensitive mapping (as aiohttp's).
    """
    stamp = headers.get("x-ncp-apigw-timestamp")
    key = headers.get("x-ncp-iam-access-key")
    given = headers.get(SIGNATURE_HEADER)
    if stamp is None or key is None or given is None:
        return "missing signature header(s)"
    if not (stamp.isascii() and stamp.isdigit()):
        return "timestamp is not milliseconds since the epoch"
    if abs((time.time() + config.clock_offset) * 1000 - int(stamp)) >= MAX_SKEW_MS:
        return "timestamp is 5 minutes or more away from the gateway clock"
    if not hmac.compare_digest(key.encode(), config.access_key.encode()):
        return "unknown access key"
    message = f"{method} {raw_path}\n{stamp}\n{key}"
    digest = hmac.new(config.secret_key.encode(), message.encode(), hashlib.sha256)
    expected = base64.b64encode(digest.digest()).decode()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "signature does not match"
    return None


class TokenBucket:
    """A key's rate limit: `rate` tokens a second refill a bucket of `capacity`; each signed
    request takes one, and a request finding the bucket empty is refused. A rate of 0 refuses
    nothing."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity  # a fresh bucket is full: the first burst goes through
        self._tokens_at: float | None = None  # clock of the last refill

    def take(self, now: float) -> bool:
        """Take one token at time `now` (a monotonic clock); False when the bucket is empty."""
        if not self.rate:
            return True
        if self._tokens_at is not None:
            refill = (now - self._tokens_at) * self.rate
            self._tokens = min(self.capacity, self._tokens + refill)
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
