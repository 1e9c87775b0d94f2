"""Per-person grouping of jobs: de-duplicated ids in first-seen order, chunked into batches.

With `--shard`, persons of other shards are left out as they are added; with `--resume`, once
the whole input is in, ids the ledger records as deleted are dropped as the ledger streams by
(`drop_deleted`), so resuming costs no memory beyond the input's own.
Memory follows the number of unique ids, not the number of input rows. Persons are slots of a
`PersonIndex` (flat arrays, no object per person); a one-id person's id sits in one more flat
array, and only a person with several ids gets a compact array of 64-bit ids of its own. A
million one-id persons take about 30 MB, ten million about 300 MB.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from worker.input.person_index import PersonIndex
from worker.input.sharding import Shard

# A sample draws random slots and skips those without ids while at least this share of the
# slots has ids; below it (a resume that left few persons), it lists the persons left instead.
_DRAW_SHARE = 1 / 16

# Below this many ids a linear scan of the C array is cheaper than a set; above it a set keeps
# de-duplication O(1) for the rare person listed with thousands of ids.
_SCAN_LIMIT = 256


class PersonBatch(NamedTuple):
    """One request's worth of work: some of one person's ids."""

    workspace: str
    person_id: int
    thumbnail_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run is about to do, before it does it.

    `already_deleted` counts the input's unique ids left out because the ledger records them
    deleted; `unique_ids` are those still to send.
    """

    workspaces: int
    persons: int
    unique_ids: int
    duplicates: int
    requests: int
    already_deleted: int = 0
    permanent_failures: int = 0  # left out by --resume: their latest record is a permanent failure
    other_shards: int = 0


class Batcher:
    """Collects (workspace, person, ids) jobs in any order and yields per-person batches."""

    def __init__(self, shard: Shard | None = None) -> None:
        self._shard = shard
        self.already_deleted = 0
        self.permanent_failures = 0
        self.other_shards = 0
        self._workspace_numbers: dict[str, int] = {}
        self._workspace_names: list[str] = []
        self._persons = PersonIndex()
        # slot -> the person's id while it has exactly one, else 0 (ids are >= 1): see _several.
        self._single = array("q")
        # slot -> all the person's ids, for persons that ever had two or more.
        self._several: dict[int, array[int]] = {}
        self._large: dict[int, set[int]] = {}
        self.unique_ids = 0
        self.duplicates = 0
        self._dropping = False
        self._uncompacted: set[int] = set()

    def add(self, workspace: str, person_id: int, thumbnail_ids: tuple[int, ...]) -> None:
        """Record a job's ids for its person, dropping ids already recorded for that person."""
        if self._dropping:
            raise RuntimeError("add() after drop_deleted(): read the whole input first")
        if self._shard is not None and not self._shard.holds(workspace, person_id):
            self.other_shards += len(thumbnail_ids)
            return
        number = self._workspace_numbers.get(workspace)
        if number is None:
            number = self._workspace_numbers[workspace] = len(self._workspace_names)
            self._workspace_names.append(workspace)
        slot, added = self._persons.find_or_add(number, person_id)
        if added:
            if len(thumbnail_ids) == 1:  # the common case: a new person with one id
                self._single.append(thumbnail_ids[0])
                self.unique_ids += 1
                return
            self._single.append(0)
        ids = self._several.get(slot)
        for thumbnail_id in thumbnail_ids:
            if ids is None:
                single = self._single[slot]
                if not single:
                    self._single[slot] = thumbnail_id
                    self.unique_ids += 1
                    continue
                if single == thumbnail_id:
                    self.duplicates += 1
                    continue
                ids = self._several[slot] = array("q", (single,))  # the person's second id
                self._single[slot] = 0
            seen = self._large.get(slot) if self._large else None
            if (thumbnail_id in seen) if seen is not None else (thumbnail_id in ids):
                self.duplicates += 1
                continue
            ids.append(thumbnail_id)
            self.unique_ids += 1
            if seen is not None:
                seen.add(thumbnail_id)
            elif len(ids) > _SCAN_LIMIT:
                self._large[slot] = set(ids)

    def drop_deleted(self, workspace: str, person_id: int, thumbnail_ids: Iterable[int]) -> None:
        """Leave out those of a person's ids that the input holds and the ledger records deleted.

        Called once the whole input has been added (a later `add` is refused, since the ids
        dropped here would no longer count as seen). Ids the input does not hold are ignored.
        """
        self.already_deleted += self._leave_out(workspace, person_id, thumbnail_ids)

    def hold_back_permanent(
        self, workspace: str, person_id: int, thumbnail_ids: Iterable[int]
    ) -> None:
        """Leave out ids whose latest ledger record is a permanent failure (as `drop_deleted`)."""
        self.permanent_failures += self._leave_out(workspace, person_id, thumbnail_ids)

    def _leave_out(self, workspace: str, person_id: int, thumbnail_ids: Iterable[int]) -> int:
        """Drop those of a person's ids that the input holds; how many were dropped."""
        self._dropping = True
        number = self._workspace_numbers.get(workspace)
        slot = -1 if number is None else self._persons.find(number, person_id)
        if slot < 0:
            return 0
        ids = self._several.get(slot)
        if ids is None:
            single = self._single[slot]
            if single and single in thumbnail_ids:
                self._single[slot] = 0
                self.unique_ids -= 1
                return 1
            return 0
        dropped = 0
        seen = self._large.get(slot) if self._large else None
        for thumbnail_id in thumbnail_ids:
            if seen is not None:
                # A large person: the set says whether the id is there; the array is filtered
                # once, later, rather than searched and shifted for every id.
                if thumbnail_id not in seen:
                    continue
                seen.discard(thumbnail_id)
                self._uncompacted.add(slot)
            else:
                try:
                    del ids[ids.index(thumbnail_id)]  # at most _SCAN_LIMIT ids: a short C scan
                except ValueError:
                    continue
            dropped += 1
            self.unique_ids -= 1
        return dropped

    def _compact(self) -> None:
        """Filter the arrays of large persons that lost ids to drop_deleted (ids stay in order)."""
        for slot in self._uncompacted:
            kept = self._large[slot]
            self._several[slot] = array("q", [i for i in self._several[slot] if i in kept])
        self._uncompacted.clear()

    def plan(self, max_ids_per_request: int) -> Plan:
        """Counts of the work: the requests are exactly the sum of ceil(ids / max) per person."""
        self._compact()
        singles = len(self._single) - self._single.count(0)
        several = [len(ids) for ids in self._several.values() if ids]
        return Plan(
            workspaces=len(self._workspace_names),
            persons=singles + len(several),
            unique_ids=self.unique_ids,
            duplicates=self.duplicates,
            requests=singles + sum(-(-count // max_ids_per_request) for count in several),
            already_deleted=self.already_deleted,
            permanent_failures=self.permanent_failures,
            other_shards=self.other_shards,
        )

    def sample(self, size: int, rng: random.Random) -> list[tuple[str, int, tuple[int, ...]]]:
        """Up to `size` distinct persons with ids left, drawn uniformly, each with all its ids
        (in plan order); every such person when there are no more than `size`.

        It draws slots rather than walking the plan, so a preflight's sample of a ten-million
        person plan costs about `size` draws, not a pass over every batch.
        """
        self._compact()
        slots = len(self._single)
        persons = slots - self._single.count(0) + sum(1 for ids in self._several.values() if ids)
        if persons <= size or persons < slots * _DRAW_SHARE:
            left = [slot for slot in range(slots) if self._has_ids(slot)]
            chosen = set(left if persons <= size else rng.sample(left, size))
        else:
            chosen = set()
            while len(chosen) < size:
                slot = rng.randrange(slots)
                if self._has_ids(slot):
                    chosen.add(slot)
        return [self._person(slot) for slot in sorted(chosen)]

    def _has_ids(self, slot: int) -> bool:
        return bool(self._single[slot] or self._several.get(slot))

    def _person(self, slot: int) -> tuple[str, int, tuple[int, ...]]:
        """The slot's workspace, person id and ids."""
        single = self._single[slot]
        workspace = self._workspace_names[self._persons.workspaces[slot]]
        ids = (single,) if single else tuple(self._several[slot])
        return workspace, self._persons.person_ids[slot], ids

    def batches(self, max_ids_per_request: int) -> Iterator[PersonBatch]:
        """Batches in the order persons were first seen, each of at most `max_ids_per_request`."""
        self._compact()
        names, several = self._workspace_names, self._several
        workspaces, person_ids = self._persons.workspaces, self._persons.person_ids
        for slot, single in enumerate(self._single):
            if single:
                yield PersonBatch(names[workspaces[slot]], person_ids[slot], (single,))
                continue
            ids = several.get(slot)
            if not ids:
                continue
            workspace, person_id = names[workspaces[slot]], person_ids[slot]
            for start in range(0, len(ids), max_ids_per_request):
                chunk = tuple(ids[start : start + max_ids_per_request])
                yield PersonBatch(workspace, person_id, chunk)
