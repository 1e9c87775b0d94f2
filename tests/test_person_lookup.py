"""Reading a person look-up leniently, and drawing the preflight's sample."""

from __future__ import annotations

from random import Random

import pytest

from worker.api.person import read_person
from worker.input.batching import Batcher


def test_found_person_lists_ids_given_as_numbers_or_digit_strings() -> None:
    """Ids as JSON numbers or digit strings count; the primary is kept; URLs are dropped."""
    body = (
        b'\xef\xbb\xbf{"code":"0","message":"success","result":{"thumbnailList":['
        b'{"id":7,"url":"https://s/x?X-Amz-Signature=abc"},{"id":"8","isPrimaryThumbnail":true},'
        b'{"id":true},"junk"]}}'
    )
    lookup = read_person(200, body)
    assert lookup.state == "found"
    assert lookup.thumbnail_ids == (7, 8)
    assert lookup.primary_id == 8
    assert "X-Amz" not in repr(lookup)


@pytest.mark.parametrize(
    ("status", "body", "state"),
    [
        (404, b'{"code":"10404","message":"Person not found."}', "missing"),
        (404, b'{"error":{"errorCode":"300","message":"Not Found Exception"}}', "unknown"),
        (404, b"<html>not found</html>", "unknown"),
        (200, b'{"code":"0","message":"success","result":{"thumbnailList":"x"}}', "unknown"),
        (200, b'{"code":"0","result":{"thumbnailList":[{"id":"x"}]}}', "unknown"),
        (405, b"", "unknown"),
    ],
)
def test_only_the_service_404_means_missing(status: int, body: bytes, state: str) -> None:
    """A 404 in the service's shape is a missing person; other shapes cannot be checked."""
    assert read_person(status, body).state == state


def test_retryable_statuses_carry_their_retry_after() -> None:
    """A 429 or 5xx look-up may be retried, after the Retry-After it gave."""
    lookup = read_person(429, b'{"error":{"errorCode":"420"}}', "3")
    assert (lookup.state, lookup.retryable, lookup.retry_after) == ("unknown", True, 3.0)
    assert not read_person(400, b'{"code":"10001","message":"Invalid Request."}').retryable


def test_sample_joins_a_persons_batches_and_draws_each_person_once() -> None:
    """A person whose ids span batches is one sampled person with all its ids; no repeats."""
    batcher = Batcher()
    for person in range(100):
        batcher.add("w", person, (person * 10 + 1,))
    batcher.add("w", 0, (2,))
    assert len(list(batcher.batches(1))) == 101
    sample = batcher.sample(100, Random(1))
    keys = [(w, p) for w, p, _ in sample]
    assert len(set(keys)) == len(keys) == 100
    assert all(ids == ((1, 2) if p == 0 else (p * 10 + 1,)) for _, p, ids in sample)
    assert len(batcher.sample(30, Random(1))) == 30
