"""Per-person grouping, de-duplication and chunking."""

from __future__ import annotations

import math
import random

from worker.input.batching import Batcher, PersonBatch


def test_groups_by_person_across_shuffled_input() -> None:
    """Rows of one person anywhere in the input end up in that person's batches."""
    batcher = Batcher()
    batcher.add("w", 1, (10,))
    batcher.add("w", 2, (20,))
    batcher.add("w", 1, (11, 12))
    batcher.add("other", 1, (10,))
    assert list(batcher.batches(100)) == [
        PersonBatch("w", 1, (10, 11, 12)),
        PersonBatch("w", 2, (20,)),
        PersonBatch("other", 1, (10,)),
    ]


def test_duplicates_removed_first_seen_order_kept() -> None:
    """Repeated ids of a person are dropped and counted; first-seen order is kept."""
    batcher = Batcher()
    batcher.add("w", 1, (5, 3, 5))
    batcher.add("w", 1, (3, 9, 5))
    assert list(batcher.batches(100)) == [PersonBatch("w", 1, (5, 3, 9))]
    plan = batcher.plan(100)
    assert (plan.unique_ids, plan.duplicates) == (3, 3)


def test_chunks_and_request_count_is_exact() -> None:
    """Requests are exactly the sum over persons of ceil(unique ids / max)."""
    rng = random.Random(3)
    batcher = Batcher()
    expected_ids: dict[int, set[int]] = {}
    rows = [(p, rng.randrange(1, 400)) for p in range(50) for _ in range(rng.randrange(1, 400))]
    rng.shuffle(rows)
    for person, thumbnail in rows:
        batcher.add("w", person, (thumbnail,))
        expected_ids.setdefault(person, set()).add(thumbnail)
    batches = list(batcher.batches(7))
    expected = sum(math.ceil(len(ids) / 7) for ids in expected_ids.values())
    assert len(batches) == expected == batcher.plan(7).requests
    assert all(1 <= len(batch.thumbnail_ids) <= 7 for batch in batches)
    for person, ids in expected_ids.items():
        sent = [i for b in batches if b.person_id == person for i in b.thumbnail_ids]
        assert sorted(sent) == sorted(ids)


def test_large_person_dedup_switches_to_set_and_stays_correct() -> None:
    """A person with thousands of ids is de-duplicated exactly, past the linear-scan limit."""
    batcher = Batcher()
    ids = tuple(range(1, 3001))
    batcher.add("w", 1, ids)
    batcher.add("w", 1, ids[::-1])
    batches = list(batcher.batches(1000))
    assert [len(b.thumbnail_ids) for b in batches] == [1000, 1000, 1000]
    assert batcher.plan(1000).duplicates == 3000


def test_plan_counts_workspaces_and_persons() -> None:
    """The plan reports workspaces, persons, unique ids and requests."""
    batcher = Batcher()
    batcher.add("a", 1, (1, 2, 3))
    batcher.add("b", 1, (1,))
    batcher.add("b", 2, (1,))
    plan = batcher.plan(2)
    assert (plan.workspaces, plan.persons, plan.unique_ids, plan.requests) == (2, 3, 5, 4)


def test_ids_recorded_deleted_are_left_out_after_reading() -> None:
    """Ids the ledger records deleted leave the batches; the plan counts each input id once."""
    batcher = Batcher()
    batcher.add("w", 1, (5, 3, 5, 9))
    batcher.add("w", 2, (7,))
    batcher.add("v", 1, (5,))
    batcher.drop_deleted("w", 1, (3, 5, 4))  # 4 is not in the input
    batcher.drop_deleted("w", 1, (3,))  # recorded twice in the ledger
    batcher.drop_deleted("w", 2, (7,))
    batcher.drop_deleted("x", 1, (5,))  # a person the input does not list
    assert list(batcher.batches(100)) == [PersonBatch("w", 1, (9,)), PersonBatch("v", 1, (5,))]
    plan = batcher.plan(100)
    assert (plan.already_deleted, plan.unique_ids, plan.duplicates) == (3, 2, 1)
    assert (plan.persons, plan.requests) == (2, 2)


def test_dropping_deleted_ids_of_a_large_person_keeps_order_and_counts() -> None:
    """A person past the linear-scan limit loses exactly the deleted ids, in first-seen order."""
    batcher = Batcher()
    ids = tuple(range(1, 3001))
    batcher.add("w", 1, ids)
    for thumbnail_id in range(2, 3001, 2):
        batcher.drop_deleted("w", 1, (thumbnail_id,))
    batches = list(batcher.batches(1000))
    assert [i for b in batches for i in b.thumbnail_ids] == list(range(1, 3001, 2))
    assert batcher.plan(1000).already_deleted == 1500
    assert batcher.plan(1000).requests == 2
