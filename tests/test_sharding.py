"""--shard I/N: disjoint, complete, stable; Indexed Job defaults; per-shard ledgers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.e2e import csv_rows, sweep
from worker.emulator.app import Emulator
from worker.errors import ConfigError
from worker.input.batching import Batcher
from worker.input.sharding import Shard
from worker.settings import load_settings


def test_shards_are_disjoint_and_complete_over_a_shuffled_manifest() -> None:
    """Every person lands in exactly one of N shards, with all its ids, whatever the order."""
    rng = random.Random(5)
    rows = [(f"ws{p % 3}", p, p * 100 + i) for p in range(500) for i in range(rng.randrange(1, 4))]
    rng.shuffle(rows)
    count = 4
    seen: dict[tuple[str, int], int] = {}
    total_ids = 0
    for index in range(count):
        batcher = Batcher(shard=Shard(index, count))
        for workspace, person, thumbnail in rows:
            batcher.add(workspace, person, (thumbnail,))
        for batch in batcher.batches(100):
            key = (batch.workspace, batch.person_id)
            assert key not in seen, f"{key} in shards {seen.get(key)} and {index}"
            seen[key] = index
            total_ids += len(batch.thumbnail_ids)
        assert batcher.plan(100).other_shards + batcher.plan(100).unique_ids == len(rows)
    assert set(seen) == {(w, p) for w, p, _ in rows}
    assert total_ids == len(rows)
    assert len(set(seen.values())) == count  # no shard is empty at this size


def test_shard_of_a_person_is_stable() -> None:
    """The shard depends only on (workspace, person): the same in every process and run."""
    assert [Shard(i, 8).holds("news", 1001) for i in range(8)].count(True) == 1
    assert Shard(0, 1).holds("anything", 7)
    # crc32(b"news\x001001") is 2898148624, fixed on every machine and Python build: a change
    # of hash would silently move persons between the shards of a running job.
    assert Shard(0, 8).holds("news", 1001)
    assert Shard(2898148624 % 7, 7).holds("news", 1001)


@pytest.mark.parametrize("spec", ["4/4", "-1/4", "1", "a/b", "0/0"])
def test_bad_shard_specs_are_config_errors(spec: str) -> None:
    """A malformed --shard is a clear configuration error."""
    with pytest.raises(ConfigError, match="shard"):
        load_settings({"shard": spec}, None)


def test_indexed_job_index_is_the_default_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    """In an Indexed Job, JOB_COMPLETION_INDEX is the shard once THUMBSWEEP_SHARD_COUNT is set."""
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "2")
    assert load_settings({}, None).shard is None
    monkeypatch.setenv("THUMBSWEEP_SHARD_COUNT", "5")
    assert load_settings({}, None).shard == "2/5"
    monkeypatch.setenv("THUMBSWEEP_SHARD", "1/3")
    assert load_settings({}, None).shard == "1/3"
    assert load_settings({"shard": "0/2"}, None).shard == "0/2"


async def test_each_shard_writes_its_own_ledger_and_together_they_delete_all(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Running every shard of a manifest deletes each id once, each into its own ledger."""
    rows = [("w", person, person * 10 + 1) for person in range(1, 61)]
    for index in range(3):
        result, _ = await sweep(emulator, tmp_path, csv_rows(rows), shard=f"{index}/3")
        assert result.exit_code == 0
    ledgers = sorted(path.name for path in tmp_path.glob("ledger*.jsonl"))
    assert ledgers == [f"ledger.shard-{i}-of-3.jsonl" for i in range(3)]
    assert emulator.stats.total_requests == 60
    assert emulator.stats.deletes_applied == 60
    assert max(emulator.stats.per_person.values()) == 1
