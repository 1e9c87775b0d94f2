"""What the emulator remembers: the persons with their thumbnails, and the counters it keeps.

The counters (`EmulatorStats`) are mostly served on `GET /_emulator/stats`; the in-process ones
(per person, per id, the clock bookkeeping) are for tests only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["DROPPED", "EmulatorStats", "Person", "new_person", "read_state"]

DROPPED = "dropped"  # key in `EmulatorStats.by_status` for connections closed without a response

_IN_PROCESS = {"in_process": True}  # field metadata: not served on /_emulator/stats


@dataclass
class Person:
    """A person's thumbnail ids in order, and which of them is primary."""

    thumbnails: list[int]
    primary: int

    def remove(self, ids: Iterable[int]) -> int | None:
        """Remove `ids`; return how many were removed, or None (nothing changed) if that would
        leave the person without a thumbnail."""
        doomed = set(ids)
        kept = [i for i in self.thumbnails if i not in doomed]
        if not kept:
            return None
        removed = len(self.thumbnails) - len(kept)
        self.thumbnails = kept
        if self.primary not in kept:  # undocumented upstream; we promote the first remaining
            self.primary = kept[0]
        return removed


def new_person(ids: Iterable[int], primary: int | None = None) -> Person:
    """A person holding `ids` (in order, at least one); `primary` defaults to the first."""
    thumbnails = list(dict.fromkeys(ids))
    if not thumbnails:
        raise ValueError("a person needs at least one thumbnail")
    chosen = thumbnails[0] if primary is None else primary
    if chosen not in thumbnails:
        raise ValueError("the primary thumbnail must be one of the ids")
    return Person(thumbnails, chosen)


def read_state(path: str | Path) -> dict[tuple[str, int], Person]:
    """The persons of a `--state` file: JSON Lines of {"workspace", "person_id",
    "thumbnail_ids", "primary" (optional)}; ValueError names the first bad line."""
    persons: dict[tuple[str, int], Person] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the state file {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            workspace, person_id = item["workspace"], item["person_id"]
            ids, primary = item["thumbnail_ids"], item.get("primary")
            if not isinstance(workspace, str) or type(person_id) is not int:
                raise TypeError
            if not isinstance(ids, list):
                raise TypeError
            if not all(type(i) is int for i in ids) or primary not in (None, *ids):
                raise TypeError
            persons[workspace, person_id] = new_person(ids, primary)
        except (ValueError, TypeError, KeyError):
            raise ValueError(
                f'state file {path}, line {number}: expected {{"workspace": str, "person_id": '
                'int, "thumbnail_ids": [int, ...], "primary": int (optional)}'
            ) from None
    return persons


@dataclass
class EmulatorStats:
    """Counters; the in-process ones (`per_person`, `per_id`, clock bookkeeping) are not
    served on /_emulator/stats, all others are, plus `mean_in_flight`.

    `in_flight` is tracked over time through `request_started` / `request_ended`, which take
    the event loop's monotonic clock, giving `mean_in_flight`.
    """

    total_requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    per_person: Counter[tuple[str, int]] = field(default_factory=Counter, metadata=_IN_PROCESS)
    # (workspace, person_id, thumbnail_id) -> remove requests asking for it (as per_person counts)
    per_id: Counter[tuple[str, int, int]] = field(default_factory=Counter, metadata=_IN_PROCESS)
    signature_failures: int = 0
    rate_limited: int = 0  # 429s of the token bucket; also counted in by_status["429"]
    deletes_applied: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    # per second since the first request (by arrival): [answers other than 429, 429s]
    per_second: list[list[int]] = field(default_factory=list)
    in_flight_integral: float = field(default=0.0, metadata=_IN_PROCESS)  # request-seconds
    first_start: float | None = field(default=None, metadata=_IN_PROCESS)  # loop clock
    last_end: float | None = field(default=None, metadata=_IN_PROCESS)  # loop clock
    last_change: float | None = field(default=None, metadata=_IN_PROCESS)  # loop clock

    def request_started(self, now: float) -> None:
        """One more request in flight from `now` on."""
        self._advance(now)
        if self.first_start is None:
            self.first_start = now
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def request_ended(self, now: float) -> None:
        """One request fewer in flight from `now` on."""
        self._advance(now)
        self.in_flight -= 1
        self.last_end = now

    def count_answer(self, arrived: float, throttled: bool) -> None:
        """Count one answer in the second (since the first request) its request arrived in."""
        second = int(arrived - (self.first_start if self.first_start is not None else arrived))
        while len(self.per_second) <= second:
            self.per_second.append([0, 0])
        self.per_second[second][throttled] += 1

    def _advance(self, now: float) -> None:
        """Add the time since the last change, weighted by the requests in flight during it."""
        if self.last_change is not None:
            self.in_flight_integral += self.in_flight * (now - self.last_change)
        self.last_change = now

    @property
    def mean_in_flight(self) -> float:
        """Requests in flight averaged over the time from the first start to the last end.

        Exact once nothing is in flight; 0.0 before any request has ended.
        """
        if self.first_start is None or self.last_end is None:
            return 0.0
        span = self.last_end - self.first_start
        return self.in_flight_integral / span if span > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        """The JSON form served on the stats endpoint."""
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, counting the pairs
        served = {
            f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("in_process")
        }
        served["mean_in_flight"] = self.mean_in_flight
        return served
