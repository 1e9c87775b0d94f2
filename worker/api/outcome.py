"""The Outcome of one attempt: what the sender, the retry policy and the ledger learn from it."""

from __future__ import annotations

from typing import NamedTuple


class Outcome(NamedTuple):
    """The result of one attempt (a named tuple: immutable, and cheap to build per request)."""

    deleted: bool
    http_status: int | None = None
    code: str | None = None
    message: str = ""
    retryable: bool = False
    auth_failure: bool = False
    retry_after: float | None = None
    remaining_ids: tuple[int, ...] | None = None
    primary_id: int | None = None
    sent: bool = True
    latency: float = 0.0
    # No connection was made (refused, DNS, TLS, proxy): the API was not reached at all.
    connect_failure: bool = False
