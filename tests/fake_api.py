"""A scripted stand-in for the HTTP client at the senders' seam (`worker.sending.pool.RemoveApi`).

Its script decides, per call, what one attempt does: return an `Outcome`, raise (a bug), or wait
on an event first. It records every call, so tests can say exactly what was sent and when.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from tests.e2e import read_ledger
from worker.api.outcome import Outcome
from worker.input.batching import PersonBatch
from worker.run import RunResult, run
from worker.run_setup import RunSetup
from worker.settings import load_settings

Script = Callable[[PersonBatch, int], Awaitable[Outcome]]


def success(batch: PersonBatch, remaining: tuple[int, ...] = (99,)) -> Outcome:
    """The API's usual success: the batch's ids gone, `remaining` still on the person."""
    return Outcome(True, 200, "0", "success", remaining_ids=remaining, primary_id=remaining[0])


async def always_succeeds(batch: PersonBatch, call: int) -> Outcome:
    """A script under which every attempt succeeds."""
    return success(batch)


@dataclass
class FakeApi:
    """Runs `script(batch, call_number)` for each attempt; call numbers start at 0."""

    script: Script = always_succeeds
    calls: list[PersonBatch] = field(default_factory=list)
    in_flight: int = 0

    async def remove(self, batch: PersonBatch, body: bytes) -> Outcome:
        """One attempt, as the script says."""
        call = len(self.calls)
        self.calls.append(batch)
        self.in_flight += 1
        try:
            return await self.script(batch, call)
        finally:
            self.in_flight -= 1


async def run_with(
    api: FakeApi, tmp_path: Path, text: str, **overrides: Any
) -> tuple[RunResult, list[dict[str, Any]]]:
    """Run the whole pipeline on `text` with `api` as the HTTP client; return result and ledger."""
    source = tmp_path / "in.csv"
    source.write_text(text)
    ledger = tmp_path / "ledger.jsonl"
    settings = load_settings(
        {"ledger": ledger, "backoff_initial": 0.0, "backoff_max": 0.0, **overrides}, None
    )
    result = await run(
        RunSetup.from_settings(settings), str(source), (("fake", SecretStr("fake"))), api=api
    )
    return result, read_ledger(ledger)


async def forever() -> None:
    """Wait until cancelled."""
    await asyncio.Event().wait()
