"""The API Gateway v2 signer against the two published test vectors."""

from __future__ import annotations

import time

from pydantic import SecretStr

from worker.api.signing import (
    ACCESS_KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Signer,
    sign,
)

THUMBNAIL_PATH = "/api/v1/workspaces/my-workspace/persons/1001/person-thumbnail"


def test_sign_matches_delete_vector() -> None:
    """The DELETE vector from NCP-NOTES.md signs to the documented value."""
    got = sign("DELETE", THUMBNAIL_PATH, 1700000000000, "AKIAEXAMPLE", "SECRETEXAMPLE")
    assert got == "hh0DKMM7vdRXNj+dpU9bAAwalTd8NXXu4UW+oxcaky0="


def test_sign_matches_post_vector_with_query() -> None:
    """The POST vector, whose path carries a query string, signs to the documented value."""
    got = sign(
        "POST",
        "/vserver/v2/createServerInstances?regionCode=KR",
        1700000000000,
        "AK_TEST",
        "SK_TEST",
    )
    assert got == "xBcE26XFU55BMjppdPT7ZY3oDrqoOedfPyAn3Cq4lUw="


def test_signer_headers_match_vector() -> None:
    """The reusable Signer produces the same three headers as the pure function."""
    signer = Signer("AKIAEXAMPLE", SecretStr("SECRETEXAMPLE"))
    headers = signer.headers("DELETE", THUMBNAIL_PATH, 1700000000000)
    assert headers == {
        TIMESTAMP_HEADER: "1700000000000",
        ACCESS_KEY_HEADER: "AKIAEXAMPLE",
        SIGNATURE_HEADER: "hh0DKMM7vdRXNj+dpU9bAAwalTd8NXXu4UW+oxcaky0=",
    }


def now_ms() -> int:
    """The wall clock in milliseconds, as the signer reads it."""
    return time.time_ns() // 1_000_000


def test_signer_uses_fresh_timestamp_each_call() -> None:
    """Without an explicit timestamp each call signs the current time in milliseconds."""
    signer = Signer("AK", SecretStr("SK"))
    signed: list[tuple[int, dict[str, str], int]] = []
    for _ in range(2):
        before = now_ms()
        headers = signer.headers("DELETE", THUMBNAIL_PATH)
        after = now_ms()
        signed.append((before, headers, after))
        while now_ms() == after:  # the real clock is the point here; a tick is < 1 ms away
            pass
    for before, headers, after in signed:
        stamp = headers[TIMESTAMP_HEADER]
        assert stamp.isdigit()
        assert len(stamp) == 13
        assert before <= int(stamp) <= after  # the time of this call
        assert headers[SIGNATURE_HEADER] == sign("DELETE", THUMBNAIL_PATH, int(stamp), "AK", "SK")
    (_, first, _), (_, second, _) = signed
    assert first[TIMESTAMP_HEADER] != second[TIMESTAMP_HEADER]
    assert first[SIGNATURE_HEADER] != second[SIGNATURE_HEADER]


def test_signer_repr_hides_secret() -> None:
    """Printing a Signer never shows the secret key."""
    assert "SECRETEXAMPLE" not in repr(Signer("AKIAEXAMPLE", SecretStr("SECRETEXAMPLE")))
