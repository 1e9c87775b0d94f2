"""NAVER Cloud API Gateway signature v2: the three headers every request carries.

string-to-sign = METHOD + " " + PATH_AND_QUERY + "\\n" + TIMESTAMP_MS + "\\n" + ACCESS_KEY
signature      = base64(HMAC-SHA256(secret key, string-to-sign))

The path is signed exactly as it goes on the wire (already percent-encoded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from pydantic import SecretStr

TIMESTAMP_HEADER = "x-ncp-apigw-timestamp"
ACCESS_KEY_HEADER = "x-ncp-iam-access-key"
SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"


def sign(
    method: str, path_and_query: str, timestamp_ms: int, access_key: str, secret_key: str
) -> str:
    """Return the v2 signature for one request (a pure function of its arguments)."""
    message = f"{method} {path_and_query}\n{timestamp_ms}\n{access_key}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class Signer:
    """Signs requests with one credential pair; the secret is unwrapped only here.

    The keyed HMAC state is prepared once and copied per request, so the key schedule is not
    recomputed for every attempt. Timestamps come from `clock` (ms since the epoch) plus
    `offset_ms`, the gateway's clock minus ours once a time-window refusal has measured it.
    """

    __slots__ = ("_access_key", "_clock", "_keyed", "_suffix", "offset_ms")

    def __init__(
        self,
        access_key: str,
        secret_key: SecretStr,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._access_key = access_key
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self.offset_ms = 0
        self._keyed = hmac.new(secret_key.get_secret_value().encode(), digestmod=hashlib.sha256)
        self._suffix = f"\n{access_key}".encode()

    def __repr__(self) -> str:
        return f"Signer(access_key={self._access_key!r}, secret_key='**********')"

    def now_ms(self) -> int:
        """The signing clock: ours, corrected by the offset measured against the gateway's."""
        return self._clock() + self.offset_ms

    def headers(
        self, method: str, path_and_query: str, timestamp_ms: int | None = None
    ) -> dict[str, str]:
        """Headers for one attempt, signed with a fresh timestamp unless one is given."""
        if timestamp_ms is None:
            timestamp_ms = self.now_ms()
        mac = self._keyed.copy()
        mac.update(f"{method} {path_and_query}\n{timestamp_ms}".encode())
        mac.update(self._suffix)
        return {
            TIMESTAMP_HEADER: str(timestamp_ms),
            ACCESS_KEY_HEADER: self._access_key,
            SIGNATURE_HEADER: base64.b64encode(mac.digest()).decode("ascii"),
        }
