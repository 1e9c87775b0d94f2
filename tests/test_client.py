"""Request construction and response parsing of one attempt, with aioresponses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aioresponses import aioresponses
from pydantic import SecretStr
from yarl import URL

from worker.api.client import ThumbnailApi, encode_body, persons_path
from worker.api.replies import interpret, parse_retry_after
from worker.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, Signer, sign
from worker.input.batching import PersonBatch

BASE = "https://mi.apigw.ntruss.com"
PATH = "/api/v1/workspaces/my-workspace/persons/1001/person-thumbnail"
PRESIGNED = "https://kr.object.ncloudstorage.com/b/x.jpg?X-Amz-Signature=cafef00d"


@pytest.fixture
async def api() -> AsyncIterator[ThumbnailApi]:
    """A ThumbnailApi over a real ClientSession (aioresponses intercepts its requests)."""
    async with aiohttp.ClientSession() as session:
        yield ThumbnailApi(session, BASE, Signer("AK", SecretStr("SK")), timeout=5)


def success_body(*entries: tuple[int, bool]) -> dict[str, object]:
    """A documented success payload listing the person's final thumbnails."""
    thumbnails = [{"id": i, "url": PRESIGNED, "isPrimaryThumbnail": p} for i, p in entries]
    return {"code": "0", "message": "success", "result": {"thumbnailList": thumbnails}}


async def test_request_is_signed_delete_with_json_body(api: ThumbnailApi) -> None:
    """The attempt sends DELETE to the documented path with the body and valid v2 headers."""
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, payload=success_body((4321, True)))
        outcome = await api.remove(
            PersonBatch("my-workspace", 1001, (1234, 1235)), encode_body((1234, 1235))
        )
        calls = mocked.requests[("DELETE", URL(BASE + PATH))]
    assert outcome.deleted
    sent = calls[-1].kwargs
    assert json.loads(sent["data"]) == {"thumbnailIds": [1234, 1235]}
    headers = sent["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["x-ncp-iam-access-key"] == "AK"
    expected = sign("DELETE", PATH, int(headers[TIMESTAMP_HEADER]), "AK", "SK")
    assert headers[SIGNATURE_HEADER] == expected


def test_workspace_is_percent_encoded_once_in_the_signed_path() -> None:
    """A workspace with spaces, slashes and non-ASCII is encoded once; that form is signed."""
    path = persons_path("", "team a/ü%")
    assert path == "/api/v1/workspaces/team%20a%2F%C3%BC%25/persons/"


async def test_success_keeps_remaining_ids_and_primary_but_no_urls(api: ThumbnailApi) -> None:
    """A 200 with code "0" is deleted, with the remaining ids and the primary, never a URL."""
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, payload=success_body((4321, True), (77, False)))
        outcome = await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
    assert outcome.deleted
    assert outcome.remaining_ids == (4321, 77)
    assert outcome.primary_id == 4321
    assert "X-Amz-Signature" not in repr(outcome)


@pytest.mark.parametrize(
    ("status", "payload", "code", "message"),
    [
        (400, {"code": "10001", "message": "Invalid Request."}, "10001", "Invalid Request."),
        (
            404,
            {"error": {"errorCode": "300", "message": "Not Found Exception", "details": "no"}},
            "300",
            "Not Found Exception - no",
        ),
    ],
)
async def test_error_shapes_become_final_failures(
    api: ThumbnailApi, status: int, payload: dict[str, object], code: str, message: str
) -> None:
    """Both documented error shapes give the HTTP status, code and message; 4xx is not retried."""
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, status=status, payload=payload)
        outcome = await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
    assert not outcome.deleted
    assert not outcome.retryable
    assert (outcome.http_status, outcome.code, outcome.message) == (status, code, message)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_retryable_statuses(api: ThumbnailApi, status: int) -> None:
    """429 and the transient 5xx statuses are marked retryable."""
    with aioresponses() as mocked:
        mocked.delete(
            BASE + PATH, status=status, body="<html>busy</html>", content_type="text/html"
        )
        outcome = await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
    assert outcome.retryable
    assert outcome.http_status == status
    assert outcome.message == "non-JSON response: <html>busy</html>"


@pytest.mark.parametrize("status", [401, 403])
async def test_authentication_statuses_are_flagged(api: ThumbnailApi, status: int) -> None:
    """401 and 403 are authentication failures and are not retried."""
    body = {"error": {"errorCode": "200", "message": "Authentication Failed"}}
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, status=status, payload=body)
        outcome = await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
    assert outcome.auth_failure
    assert not outcome.retryable


async def test_connection_error_is_retryable_and_names_no_url(api: ThumbnailApi) -> None:
    """A connection failure is retryable and its message does not embed the URL."""
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, exception=aiohttp.ServerDisconnectedError())
        outcome = await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
    assert outcome.retryable
    assert outcome.sent
    assert "http" not in outcome.message


async def test_timeout_is_retryable(api: ThumbnailApi) -> None:
    """An attempt that times out is retryable and says so."""
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, timeout=True)
        outcome = await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
    assert outcome.retryable
    assert outcome.message == "timed out after 5 s"


def test_200_with_other_code_is_a_failure() -> None:
    """A 200 whose code is not "0" is not counted as deleted."""
    outcome = interpret(200, b'{"code": "10001", "message": "Invalid Request."}', None)
    assert not outcome.deleted
    assert outcome.code == "10001"


def test_garbage_bodies_do_not_crash() -> None:
    """Empty, binary, truncated or oddly shaped bodies give a failure, never an exception."""
    for body in (b"", b"\xff\xfe\x00", b'{"code": "0"', b"[1,2]", b'{"error": "x"}', b"null"):
        outcome = interpret(500, body, None)
        assert not outcome.deleted
        assert outcome.retryable
        assert outcome.message


def test_success_with_odd_result_is_still_deleted() -> None:
    """A success whose result is missing still counts as deleted, with no remaining list."""
    outcome = interpret(200, b'{"code": "0", "message": "success"}', None)
    assert outcome.deleted
    assert outcome.remaining_ids is None


@pytest.mark.parametrize(
    ("body", "deleted", "code", "message"),
    [
        (b'{"code": "0", "message": "success"}', True, "0", "success"),
        (b'{"code": 0, "message": "success"}', True, "0", "success"),  # a number, not "0"
        (b'{"code": "0"}', True, "0", ""),
        (b'{"code": "0", "message": "ok ' + PRESIGNED.encode() + b'"}', True, "0", None),
        (b'{"code": "0", "error": {"errorCode": "210", "message": "Forbidden"}}', False, "210",
         "Forbidden"),
        (b'\xef\xbb\xbf{"code": "0"}', True, "0", ""),  # a stray UTF-8 byte-order mark
    ],
)  # fmt: skip
def test_success_is_recognised_exactly(
    body: bytes, deleted: bool, code: str | None, message: str | None
) -> None:
    """Only code "0" (as text or number) without a gateway error object is a success; the
    message is cleaned as on any other path, so a presigned URL in it loses its query."""
    outcome = interpret(200, body, None)
    assert outcome.deleted is deleted
    assert outcome.code == code
    if message is not None:
        assert outcome.message == message
    assert "cafef00d" not in outcome.message


def test_error_message_with_presigned_url_is_redacted() -> None:
    """A message quoting a presigned URL loses the URL's query string."""
    body = json.dumps({"code": "1", "message": f"cannot read {PRESIGNED}"}).encode()
    outcome = interpret(400, body, None)
    assert "cafef00d" not in outcome.message
    assert "https://kr.object.ncloudstorage.com/b/x.jpg?<redacted>" in outcome.message


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After is read as delay-seconds or as an HTTP-date; junk is ignored."""
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_is_read_only_on_retryable_statuses() -> None:
    """A 429 carries its Retry-After into the outcome."""
    outcome = interpret(429, b"", "3")
    assert outcome.retry_after == 3.0
    assert outcome.retryable


async def test_unexpected_exception_while_reading_becomes_an_outcome(api: ThumbnailApi) -> None:
    """An exception no reply should cause is a failed outcome naming only its type."""
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, exception=ValueError(f"bad reply from {PRESIGNED}"))
        outcome = await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
    assert not outcome.deleted
    assert outcome.message == "could not handle the reply (ValueError)"


async def test_cancellation_leaves_remove(api: ThumbnailApi) -> None:
    """Cancellation is the one thing that is not turned into an outcome."""
    with aioresponses() as mocked:
        mocked.delete(BASE + PATH, exception=asyncio.CancelledError())
        with pytest.raises(asyncio.CancelledError):
            await api.remove(PersonBatch("my-workspace", 1001, (1,)), encode_body((1,)))
