"""Clock skew: the gateway refuses a signature whose timestamp is 5 minutes or more away from
its own clock. Its `Date` header says how far ours is off; the signing clock is corrected by
that offset once (as AWS's SDKs do), with one warning, and the refused request is sent again.
A request refused again after the correction is an authentication failure like any other.
"""

from __future__ import annotations

import logging
import re
from email.utils import parsedate_to_datetime

from worker.api.outcome import Outcome
from worker.api.signing import Signer

log = logging.getLogger("thumbsweep")

# Words by which a gateway says the timestamp, not the key, is what it refused.
_TIME_WORDS = re.compile(r"timestamp|time.?window|clock|skew|expired", re.IGNORECASE)
# The gateway's window is 5 minutes; an offset this large explains a refusal by itself.
_WINDOW_MS = 240_000
# A Date header has whole seconds: a smaller measured offset is no reason to correct.
_MIN_OFFSET_MS = 2_000
_GATEWAY_AUTH_FAILED = "200"


def measured_offset_ms(date_header: str | None, signed_ms: int, latency: float) -> int | None:
    """The gateway's clock minus the signing clock, from its Date header (None if unreadable).

    The Date is taken at the middle of the exchange; its seconds are truncated, hence +500 ms.
    """
    if not date_header:
        return None
    try:
        when = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return round(when.timestamp() * 1000) + 500 - (signed_ms + round(latency * 500))


class SkewCorrector:
    """Decides whether a 401 was a time-window refusal, and corrects the signer once."""

    __slots__ = ("_corrected", "_signer")

    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        self._corrected = False

    def review(
        self, outcome: Outcome, signed_ms: int, signed_offset_ms: int, date_header: str | None
    ) -> Outcome:
        """The outcome to act on: a retryable re-send when the refusal was the clock's."""
        if not outcome.auth_failure or outcome.code != _GATEWAY_AUTH_FAILED:
            return outcome
        if self._signer.offset_ms != signed_offset_ms:
            # Signed before another sender's correction: send it again with the corrected clock.
            return _resend(outcome, self._signer.offset_ms)
        offset = measured_offset_ms(date_header, signed_ms, outcome.latency)
        if self._corrected or offset is None or abs(offset) < _MIN_OFFSET_MS:
            return outcome
        if abs(offset) < _WINDOW_MS and not _TIME_WORDS.search(outcome.message):
            return outcome  # a small offset and no word of time: a key or signature problem
        self._corrected = True
        self._signer.offset_ms = signed_offset_ms + offset
        log.warning(
            "the API gateway refused a request's timestamp: its clock is %+d s from this host's; "
            "signing with the corrected clock from now on (fix this host's clock: NTP)",
            round(offset / 1000),
        )
        return _resend(outcome, self._signer.offset_ms)


def _resend(outcome: Outcome, offset_ms: int) -> Outcome:
    """The refusal turned into a retry that is sent again at once (no backoff: the cause is
    fixed); its message stays true if no attempt is left (--max-attempts 1)."""
    message = (
        "refused as outside the gateway's time window; the signing clock is now corrected by "
        f"{offset_ms / 1000:+.0f} s for the next attempt"
    )
    return outcome._replace(message=message, retryable=True, auth_failure=False, retry_after=0.0)
