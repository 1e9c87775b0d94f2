"""The API Gateway v2 signer against the two published test vectors."""

from __future__ import annotations

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


def test_signer_uses_fresh_timestamp_each_call() -> None:
    """Without an explicit timestamp each call signs the current time in milliseconds."""
    signer = Signer("AK", SecretStr("SK"))
    first = signer.headers("DELETE", THUMBNAIL_PATH)
    assert first[TIMESTAMP_HEADER].isdigit()
    assert len(first[TIMESTAMP_HEADER]) == 13
    assert first[SIGNATURE_HEADER] == sign(
        "DELETE", THUMBNAIL_PATH, int(first[TIMESTAMP_HEADER]), "AK", "SK"
    )


def test_signer_repr_hides_secret() -> None:
    """Printing a Signer never shows the secret key."""
    assert "SECRETEXAMPLE" not in repr(Signer("AKIAEXAMPLE", SecretStr("SECRETEXAMPLE")))
