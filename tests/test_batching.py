"""Per-person grouping, de-duplication and chunking."""

from __future__ import annotations

import math
import random
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.input.batching import Batcher, PersonBatch
from worker.input.validation import MAX_ID


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


def test_persons_come_in_first_seen_order_across_interleaved_workspaces() -> None:
    """Persons of several workspaces keep the order they were first seen in, whatever follows."""
    batcher = Batcher()
    for workspace, person, thumbnail in [
        ("a", 1, 10), ("b", 1, 20), ("a", 2, 30), ("b", 1, 21), ("a", 1, 11), ("c", 7, 40),
    ]:  # fmt: skip
        batcher.add(workspace, person, (thumbnail,))
    assert list(batcher.batches(100)) == [
        PersonBatch("a", 1, (10, 11)),
        PersonBatch("b", 1, (20, 21)),
        PersonBatch("a", 2, (30,)),
        PersonBatch("c", 7, (40,)),
    ]


def test_a_one_id_person_that_gains_ids_keeps_them_in_order_without_duplicates() -> None:
    """A person seen first with one id, then again with that id and others, is de-duplicated."""
    batcher = Batcher()
    batcher.add("w", 9, (4,))
    batcher.add("w", 9, (4,))
    batcher.add("w", 9, (8, 4, 2))
    batcher.add("w", 9, ())
    assert list(batcher.batches(2)) == [PersonBatch("w", 9, (4, 8)), PersonBatch("w", 9, (2,))]
    plan = batcher.plan(2)
    assert (plan.persons, plan.unique_ids, plan.duplicates, plan.requests) == (1, 3, 2, 2)


def test_a_person_listed_without_ids_is_no_person_of_the_plan() -> None:
    """A job with no ids makes no batch and counts as no person."""
    batcher = Batcher()
    batcher.add("w", 1, ())
    batcher.add("w", 2, (5,))
    assert list(batcher.batches(10)) == [PersonBatch("w", 2, (5,))]
    assert (batcher.plan(10).persons, batcher.plan(10).workspaces) == (1, 1)


def test_dropping_the_only_id_of_a_one_id_person_leaves_the_person_out() -> None:
    """A one-id person whose id the ledger records deleted sends nothing and counts no more."""
    batcher = Batcher()
    batcher.add("w", 1, (10,))
    batcher.add("w", 2, (20,))
    batcher.drop_deleted("w", 1, (11,))  # not this person's id
    batcher.drop_deleted("w", 1, (10,))
    batcher.drop_deleted("w", 1, (10,))  # recorded twice
    batcher.hold_back_permanent("w", 2, (20,))
    assert list(batcher.batches(10)) == []
    plan = batcher.plan(10)
    assert (plan.persons, plan.requests, plan.unique_ids) == (0, 0, 0)
    assert (plan.already_deleted, plan.permanent_failures) == (1, 1)


def test_add_after_dropping_is_refused() -> None:
    """The input must be read whole before the ledger's deleted ids are dropped."""
    batcher = Batcher()
    batcher.add("w", 1, (10,))
    batcher.drop_deleted("w", 1, (10,))
    with pytest.raises(RuntimeError, match="read the whole input first"):
        batcher.add("w", 2, (20,))


_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([0, 1, 2, 1 << 20, 2 << 20, 3 << 20, 1 << 40, MAX_ID]),
        st.lists(st.integers(1, 6), max_size=4).map(tuple),
    ),
    max_size=60,
)


@given(rows=_ROWS, deleted=_ROWS, max_ids=st.integers(1, 4))
@settings(max_examples=300, deadline=None)
def test_batches_and_plan_match_a_plain_model(
    rows: list[tuple[str, int, tuple[int, ...]]],
    deleted: list[tuple[str, int, tuple[int, ...]]],
    max_ids: int,
) -> None:
    """Any adds then drops give what an ordered dict of ordered id lists would give."""
    batcher = Batcher()
    model: dict[tuple[str, int], list[int]] = {}
    for workspace, person, ids in rows:
        batcher.add(workspace, person, ids)
        held = model.setdefault((workspace, person), [])
        held.extend(i for i in dict.fromkeys(ids) if i not in held)
    dropped = 0
    for workspace, person, ids in deleted:
        batcher.drop_deleted(workspace, person, ids)
        held = model.get((workspace, person), [])
        for thumbnail_id in ids:
            if thumbnail_id in held:
                held.remove(thumbnail_id)
                dropped += 1
    expected = [
        PersonBatch(workspace, person, tuple(ids[start : start + max_ids]))
        for (workspace, person), ids in model.items()
        for start in range(0, len(ids), max_ids)
    ]
    assert list(batcher.batches(max_ids)) == expected
    plan = batcher.plan(max_ids)
    assert plan.requests == len(expected)
    assert plan.persons == sum(1 for ids in model.values() if ids)
    assert plan.unique_ids == sum(len(ids) for ids in model.values())
    assert plan.already_deleted == dropped
    assert plan.workspaces == len({workspace for workspace, _ in model})


def test_a_one_id_person_costs_a_few_dozen_bytes() -> None:
    """A million one-id persons must fit in little memory: no Python object per person."""
    batcher = Batcher()
    persons = 100_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for person in range(persons):
            batcher.add("workspace", 10**12 + person * 7919, (10**15 + person,))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held / persons <= 64, f"{held / persons:.0f} bytes per one-id person"


def test_a_sample_draws_distinct_persons_with_all_their_ids_left() -> None:
    """A sample holds distinct persons, each with every id it still has, none without ids."""
    batcher = Batcher()
    for person in range(200):
        batcher.add("w", person, (person * 10 + 1,))
    batcher.add("w", 7, (2, 3))
    batcher.add("v", 7, (9,))
    for person in range(100, 200):
        batcher.drop_deleted("w", person, (person * 10 + 1,))
    sample = batcher.sample(30, random.Random(1))
    assert len(sample) == 30
    assert len({(w, p) for w, p, _ in sample}) == 30
    expected = {(b.workspace, b.person_id): b.thumbnail_ids for b in batcher.batches(1000)}
    assert all(expected[w, p] == ids for w, p, ids in sample)
    assert sample == batcher.sample(30, random.Random(1))  # a seeded draw repeats


def test_a_sample_of_more_persons_than_are_left_is_all_of_them_in_plan_order() -> None:
    """Asking for more persons than have ids left gives each of them once."""
    batcher = Batcher()
    for person in range(1000):
        batcher.add("w", person, (person + 1,))
    for person in range(1000):
        if person not in (5, 500, 900):
            batcher.drop_deleted("w", person, (person + 1,))
    assert batcher.sample(20, random.Random(3)) == [
        ("w", 5, (6,)),
        ("w", 500, (501,)),
        ("w", 900, (901,)),
    ]
    assert Batcher().sample(20, random.Random(3)) == []


def test_every_person_can_be_drawn() -> None:
    """Over many draws of 3 of 10 persons, each person turns up (none is out of reach)."""
    batcher = Batcher()
    for person in range(10):
        batcher.add("w", person, (1,))
    rng = random.Random(9)
    drawn = {p for _ in range(200) for _, p, _ in batcher.sample(3, rng)}
    assert drawn == set(range(10))
