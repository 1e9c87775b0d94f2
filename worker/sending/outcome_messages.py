"""What the ledger and the user are told about a batch that did not simply end deleted.

Each message says what happened in plain words and what to do next; none holds a URL's query
string or anything derived from the credentials.
"""

from __future__ import annotations

import re

from worker.api.outcome import Outcome
from worker.api.redaction import clean_message

# The API's code for "a person must keep a thumbnail" is undocumented, so the refusal is
# recognised by its wording (a 400 that speaks of the last / at least one thumbnail).
_LAST_THUMBNAIL = re.compile(
    r"thumbnail.*(last|at least one|without|no more|remain)|(last|at least one) thumbnail",
    re.IGNORECASE,
)
STILL_LISTED_MESSAGE = (
    "the API answered success but still lists these ids on the person, so they were not "
    "removed; --resume sends them again"
)


def is_permanent_failure(outcome: Outcome) -> bool:
    """Whether a final answer that is not a deletion would be given again, so that only a person
    can fix it: a refusal (4xx other than 429, 401 and 403, e.g. the last-thumbnail refusal, an
    unknown person, a body too large) or a redirect (never followed).

    Everything else a later --resume may get past: transient errors after attempts ran out,
    401/403 (the credentials or the clock, fixed for the whole run), odd or oversized replies,
    and connection failures. A success that still lists ids is not an outcome of this kind.
    """
    status = outcome.http_status
    if outcome.retryable or outcome.auth_failure or status is None:
        return False
    return 300 <= status < 500


def auth_stop_reason(outcome: Outcome) -> str:
    """Plain words for a 401/403: which credentials to check, and the clock."""
    detail = f"HTTP {outcome.http_status}"
    if outcome.code:
        detail += f", code {outcome.code}"
    if outcome.message:
        detail += f": {outcome.message}"
    return (
        f"the API refused the credentials ({detail}). Check THUMBSWEEP_ACCESS_KEY and "
        "THUMBSWEEP_SECRET_KEY (or NCLOUD_ACCESS_KEY / NCLOUD_SECRET_KEY) and the key's "
        "permissions, and that this machine's clock is right: the gateway refuses signatures "
        "whose timestamp is 5 minutes or more off"
    )


def failure_message(outcome: Outcome, attempts: int) -> str:
    """The ledger message of a batch that failed permanently."""
    if outcome.retryable:
        return (
            f"gave up after {attempts} attempts: {outcome.message}; "
            "rerun with --resume to try these ids again"
        )
    if outcome.http_status == 400 and _LAST_THUMBNAIL.search(outcome.message):
        return (
            f"refused: {outcome.message} (a person must keep at least one thumbnail, so this "
            "removal would have left the person without any; not retried)"
        )
    return outcome.message


def internal_error_reason(exc: BaseException) -> str:
    """One line naming a bug in thumbsweep, without anything secret (URLs are redacted)."""
    detail = clean_message(str(exc), 200)
    name = type(exc).__name__
    return (
        f"internal error in thumbsweep ({name}{': ' + detail if detail else ''}); no new "
        "request was started, requests in flight were finished and the rest recorded skipped. "
        "Rerun with -v for the traceback and report it; --resume continues"
    )
