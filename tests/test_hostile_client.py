"""Reading any reply: Retry-After, bodies of any shape, and the ledger-safe message they give."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from worker.api.outcome import Outcome
from worker.api.redaction import MAX_MESSAGE_CHARS, clean_message, redact
from worker.api.replies import interpret, parse_retry_after

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC).timestamp()
PRESIGNED_QUERY = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=cafef00d"


def assert_clean(message: str) -> None:
    """Printable (so one line, no NUL, no surrogate), bounded, and encodable as UTF-8."""
    assert message.isprintable(), repr(message)
    assert len(message) <= MAX_MESSAGE_CHARS
    message.encode("utf-8")


@pytest.mark.parametrize(
    "value",
    ["²", "١٢", "٣", "1²", "\U0001d7d7", "1.5", "-1", "+3", "1e3", "", " ", "0x10", "\x00",
     "\ud800"],
)  # fmt: skip
def test_retry_after_that_is_not_ascii_digits_or_a_date_is_ignored(value: str) -> None:
    """Unicode digits, signs, decimals and junk are no Retry-After (never an exception)."""
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_with_huge_values_stays_finite() -> None:
    """A 400-digit delay or a date far in the future gives a finite, non-negative wait."""
    for value in ("9" * 400, "9" * 5000, "Fri, 31 Dec 9999 23:59:59 GMT"):
        wait = parse_retry_after(value, now=NOW)
        assert wait is not None
        assert 0 < wait < float("inf")


def test_retry_after_in_the_past_or_with_odd_dates_never_raises() -> None:
    """A date in the past waits 0; impossible dates are ignored."""
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now=NOW) == 0.0
    for value in ("Mon, 99 Foo 1 00:00:00 GMT", "Mon, 01 Jan", "1 2 3 4 5 6"):
        assert parse_retry_after(value, now=NOW) is None


ANY_TEXT = st.text(st.characters(exclude_categories=()))  # lone surrogates included
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    ["code", "message", "result", "thumbnailList", "error", "errorCode", "details", "id"]
)
API_LIKE = st.recursive(
    JSON_VALUES,
    lambda inner: st.dictionaries(FIELD_NAMES, inner, max_size=5) | st.lists(inner, max_size=3),
    max_leaves=16,
).map(lambda value: json.dumps(value).encode())


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(min_value=0, max_value=999),
    body=st.binary(max_size=300) | API_LIKE,
    retry_after=st.none() | st.text(st.characters(exclude_categories=()), max_size=40),
)
@example(status=429, body=b"[" * 100_000, retry_after="²")
@example(status=200, body=b'{"code": "0", "message": "\\ud800\\u2028\\u0000"}', retry_after=None)
@example(status=400, body=b'{"code": "1", "message": "' + b"\\udc80" * 500 + b'"}', retry_after="")
@example(status=429, body=b"", retry_after="9" * 5000)
def test_interpret_never_raises_and_its_message_is_clean(
    status: int, body: bytes, retry_after: str | None
) -> None:
    """interpret(any status, any bytes, any header text) is an Outcome with a clean message."""
    outcome = interpret(status, body, retry_after)
    assert isinstance(outcome, Outcome)
    assert_clean(outcome.message)
    if outcome.code is not None:
        assert_clean(outcome.code)
    if outcome.retry_after is not None:
        assert 0 <= outcome.retry_after < float("inf")


@pytest.mark.parametrize(
    "text",
    ["bad \ud800 id", "a\x00b", "bell\x07", "line\u2028sep\u2029x", "tab\tnl\nend", "\udfff" * 400,
     "rtl \u202e override", "zero\u200bwidth", "\x85next", "del\x7f"],
)  # fmt: skip
def test_clean_message_turns_any_text_into_one_printable_line(text: str) -> None:
    """Surrogates, NUL, controls and line separators become visible escapes or spaces."""
    cleaned = clean_message(text)
    assert_clean(cleaned)
    assert cleaned.splitlines() == [cleaned]


def test_clean_message_shows_escapes_for_invisible_characters() -> None:
    """A NUL and a lone surrogate are shown as escapes, not dropped silently."""
    assert clean_message("a\x00b \ud800") == "a\\x00b \\ud800"


def best_time(work: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of `repeat` runs of `work`, in seconds (the least disturbed by the machine)."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def test_clean_message_of_a_huge_message_of_urls_costs_no_more_than_a_small_one() -> None:
    """Messages are cut before redaction: 54 KB of URLs (seconds of CPU before) is as quick
    as 450 bytes, within a generous factor."""
    small = best_time(lambda: clean_message("http://a/" * 50))
    huge = best_time(lambda: clean_message("http://a/" * 6000), repeat=3)
    assert huge < 50 * small + 0.005


@pytest.mark.parametrize("unit", ["http://a/", "https://h/x"])
def test_redaction_time_grows_linearly(unit: str) -> None:
    """redact() on 100 times more URL text takes about 100 times as long, not 10,000."""
    small = best_time(lambda: redact(unit * 60))
    large = best_time(lambda: redact(unit * 6000), repeat=3)
    assert large < 1000 * small + 0.005


def test_presigned_query_straddling_the_cut_never_leaks() -> None:
    """Wherever a length cut falls in a presigned URL, no part of its query survives."""
    url = "https://kr.object.ncloudstorage.com/b/x.jpg" + PRESIGNED_QUERY
    for filler in range(MAX_MESSAGE_CHARS - 120, 8 * MAX_MESSAGE_CHARS, 3):
        cleaned = clean_message(f"{'x' * filler} {url} tail")
        assert "cafef00d" not in cleaned
        assert "X-Amz" not in cleaned
        assert_clean(cleaned)


def test_query_after_a_fragment_is_redacted() -> None:
    """A URL whose `#` comes before the `?` still loses everything after the path."""
    cleaned = clean_message("see https://h/p#frag" + PRESIGNED_QUERY)
    assert "cafef00d" not in cleaned


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("https://user:pw@evil.example:8443/p/a?X-Amz-Signature=cafef00d#f", "evil.example:8443"),
        ("http://EVIL.example/p?X-Amz-Signature=cafef00d", "evil.example"),
        ("/other/path?X-Amz-Signature=cafef00d", "a path on the API host"),
        ("http://[::1/p?X-Amz-Signature=cafef00d", "an unreadable address"),
        ("http://h:99999999/p?X-Amz-Signature=cafef00d", "an unreadable address"),
        (None, "without a Location"),
    ],
    ids=["userinfo-port", "upper-case", "relative", "bad-ipv6", "bad-port", "none"],
)
def test_redirect_is_a_final_failure_naming_only_the_host(location: str | None, shown: str) -> None:
    """A 3xx is not deleted nor retried; its message names the host, never path, query or
    user:password."""
    outcome = interpret(307, b"", None, location=location)
    assert not outcome.deleted
    assert not outcome.retryable
    assert shown in outcome.message
    for secret in ("cafef00d", "X-Amz", "/p", "other", "user", "pw"):
        assert secret not in outcome.message
