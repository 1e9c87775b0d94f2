"""`--shard I/N`: split one manifest across N workers by a stable hash of the person.

A person's shard is crc32("workspace\\0person_id") mod N: the same on every machine and every run
(unlike Python's salted `hash`), so shards are disjoint, their union is everything, and a
person's ids are never split between shards.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from worker.errors import ConfigError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `count` (0 <= index < count)."""

    index: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """Read "I/N"; raise ValueError with a readable reason otherwise."""
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(f"shard must look like I/N (e.g. 0/4), not {spec!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"shard {spec!r}: need 0 <= I < N")
        return cls(index, count)

    def holds(self, workspace: str, person_id: int) -> bool:
        """True when this shard owns the person."""
        key = f"{workspace}\0{person_id}".encode()
        return zlib.crc32(key) % self.count == self.index

    def ledger_path(self, ledger: Path) -> Path:
        """The shard's own ledger: `name.shard-I-of-N.ext` beside the configured one."""
        return ledger.with_name(f"{ledger.stem}.shard-{self.index}-of-{self.count}{ledger.suffix}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_from_environment() -> str | None:
    """Inside a Kubernetes Indexed Job: JOB_COMPLETION_INDEX/THUMBSWEEP_SHARD_COUNT; a count
    without an index is a ConfigError."""
    count = os.environ.get("THUMBSWEEP_SHARD_COUNT")
    index = os.environ.get("JOB_COMPLETION_INDEX")
    if count and index:
        return f"{index}/{count}"
    if count:  # running every shard's persons in each pod would repeat the whole job N times
        raise ConfigError(
            f"THUMBSWEEP_SHARD_COUNT={count} is set but JOB_COMPLETION_INDEX is not: it is the "
            "shard count of a Kubernetes Indexed Job; elsewhere use --shard I/N"
        )
    return None
