"""The sender pool driven through its seam by a scripted fake API: every batch ends in records
that cover each of its ids exactly once, whatever an attempt does (answers, lies, crashes, or
is cancelled at any await)."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import csv_rows, final_states, read_ledger, single_id_rows
from tests.fake_api import FakeApi, forever, run_with, success
from worker.api.outcome import Outcome
from worker.input.batching import PersonBatch
from worker.observe.summary import RunStats
from worker.records.ledger import Ledger
from worker.records.recorder import Recorder
from worker.run_setup import RunSetup
from worker.sending.outcome_messages import STILL_LISTED_MESSAGE
from worker.sending.pool import SenderPool
from worker.settings import load_settings

SECRET_QUERY = "X-Amz-Signature=feedfacecafe"


async def test_success_that_still_lists_ids_records_those_failed(tmp_path: Path) -> None:
    """A success whose final thumbnailList still holds requested ids: those are failed, the rest
    deleted, the run exits 1, --failed-out lists exactly them, and --resume sends only them."""
    rows = [("w", 1, 11), ("w", 1, 12), ("w", 1, 13), ("w", 2, 21)]

    async def keeps_12(batch: PersonBatch, call: int) -> Outcome:
        return success(batch, remaining=(12, 99)) if batch.person_id == 1 else success(batch)

    failed_out = tmp_path / "failed.csv"
    result, ledger = await run_with(
        FakeApi(keeps_12), tmp_path, csv_rows(rows), failed_out=failed_out
    )
    assert final_states(ledger) == {
        ("w", 1, 11): "deleted",
        ("w", 1, 12): "failed",
        ("w", 1, 13): "deleted",
        ("w", 2, 21): "deleted",
    }
    (failed,) = [record for record in ledger if record["status"] == "failed"]
    assert failed["thumbnail_ids"] == [12]
    assert failed["message"] == STILL_LISTED_MESSAGE
    assert (failed["http_status"], failed["code"]) == (200, "0")
    assert result.exit_code == 1
    assert failed_out.read_text().splitlines()[1:] == ["w,1,12"]

    again = FakeApi()
    resumed, _ = await run_with(again, tmp_path, csv_rows(rows), resume=True)
    assert [batch.thumbnail_ids for batch in again.calls] == [(12,)]
    assert resumed.exit_code == 0


async def test_success_without_a_readable_list_means_deleted(tmp_path: Path) -> None:
    """A success that carries no readable thumbnailList keeps the documented meaning: deleted."""

    async def no_list(batch: PersonBatch, call: int) -> Outcome:
        return Outcome(True, 200, "0", "success", remaining_ids=None)

    result, ledger = await run_with(FakeApi(no_list), tmp_path, csv_rows(single_id_rows(3)))
    assert set(final_states(ledger).values()) == {"deleted"}
    assert result.exit_code == 0


async def test_a_bug_in_one_attempt_drains_records_everything_and_exits_70(
    tmp_path: Path,
) -> None:
    """A sender that raises: its batch is recorded, no new request starts, the two requests in
    flight finish and are recorded, the rest is skipped, and the run ends 70 with one clear,
    redacted reason."""
    rows = single_id_rows(30)
    crash_raised = asyncio.Event()

    async def crashes_on_call_5(batch: PersonBatch, call: int) -> Outcome:
        if call in (3, 4):
            await crash_raised.wait()  # in flight when call 5 crashes; they answer only after it
        if call == 5:
            crash_raised.set()  # wakes them on the loop's next turn: after the crash is raised
            raise RuntimeError(f"bug near https://bucket.example/x.jpg?{SECRET_QUERY}")
        return success(batch)

    api = FakeApi(crashes_on_call_5)
    result, ledger = await run_with(api, tmp_path, csv_rows(rows), concurrency=3)
    assert len(api.calls) == 6  # nothing started after the crash
    states = final_states(ledger)
    assert set(states) == set(rows)  # every id, exactly once
    deleted = {key for key, status in states.items() if status == "deleted"}
    assert deleted == {("w", b.person_id, b.thumbnail_ids[0]) for b in api.calls[:5]}
    crashed = api.calls[5]
    (record,) = [r for r in ledger if r["person_id"] == crashed.person_id]
    assert record["status"] == "skipped"
    assert "internal error" in record["message"]
    assert result.exit_code == 70
    assert result.stop_reason is not None
    assert "internal error in thumbsweep (RuntimeError" in result.stop_reason
    assert SECRET_QUERY not in result.stop_reason


class WatchedStderr(io.StringIO):
    """A stderr that sets `written` at its first write (the progress reporter's first line,
    so a script can wait for that moment) and then keeps the text or, if `fails`, raises as a
    bug would."""

    def __init__(self, *, fails: bool) -> None:
        super().__init__()
        self.fails = fails
        self.written = asyncio.Event()

    def write(self, text: str) -> int:
        """Keep the text, or fail; `written` is set either way."""
        self.written.set()
        if self.fails:
            raise RuntimeError("bug in the progress line")
        return super().write(text)


def waiting_for_progress(stderr: WatchedStderr) -> FakeApi:
    """A fake API whose attempts all answer success once progress was first reported."""

    async def script(batch: PersonBatch, call: int) -> Outcome:
        await stderr.written.wait()
        return success(batch)

    return FakeApi(script)


async def test_a_bug_in_the_progress_reporter_stops_the_run_like_any_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress task runs beside the senders under the same TaskGroup: its failure cannot
    pass unnoticed. The run stops with exit 70, nothing new is sent, the requests in flight
    finish and are recorded, and the rest is recorded skipped."""
    stderr = WatchedStderr(fails=True)
    monkeypatch.setattr(sys, "stderr", stderr)  # where the progress lines go without a TTY
    rows = single_id_rows(40)
    api = waiting_for_progress(stderr)
    result, ledger = await run_with(
        api, tmp_path, csv_rows(rows), concurrency=2, progress_interval=0.001
    )
    assert result.exit_code == 70
    assert result.stop_reason is not None
    assert "internal error in thumbsweep (RuntimeError" in result.stop_reason
    # The ones in flight when the reporter failed, nothing after. (The fast start paces the
    # first starts 1/256 s apart, so the second may not have started by then.)
    assert 1 <= len(api.calls) <= 2
    states = final_states(ledger)
    assert set(states) == set(rows)  # every id, exactly once
    deleted = {key for key, status in states.items() if status == "deleted"}
    assert deleted == {("w", b.person_id, b.thumbnail_ids[0]) for b in api.calls}
    assert list(states.values()).count("skipped") == 40 - len(api.calls)


async def test_an_unwritable_metrics_file_only_warns_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A metrics file that cannot be written at a progress tick is not a bug: a warning, and
    the run goes on and records every id (exit 0)."""
    stderr = WatchedStderr(fails=False)
    monkeypatch.setattr(sys, "stderr", stderr)
    rows = single_id_rows(40)
    metrics = tmp_path / "no-such-dir" / "sub" / "m.prom"
    result, ledger = await run_with(
        waiting_for_progress(stderr), tmp_path, csv_rows(rows), progress_interval=0.001,
        metrics_file=metrics,
    )  # fmt: skip
    assert '"event":"progress"' in stderr.getvalue()  # a tick fell while sending
    assert f"cannot write metrics file {metrics}" in caplog.text
    assert set(final_states(ledger)) == set(rows)
    assert result.exit_code == 0


def _pool(tmp_path: Path, api: FakeApi, **overrides: object) -> tuple[SenderPool, Recorder]:
    settings = load_settings(
        {"ledger": tmp_path / "ledger.jsonl", "concurrency": 2, **overrides}, None
    )
    ledger = Ledger(settings.ledger)
    ledger.open()
    recorder = Recorder(ledger, RunStats())
    return SenderPool(
        RunSetup.from_settings(settings).sender, api, recorder, RunStats(), "run-1"
    ), recorder


async def _in_flight(batch: PersonBatch, call: int) -> Outcome:
    await forever()
    raise AssertionError("unreachable")


async def _retryable_then_success(batch: PersonBatch, call: int) -> Outcome:
    if call < 2:
        return Outcome(False, 503, None, "HTTP 503", retryable=True)
    return success(batch)


async def _succeeds(batch: PersonBatch, call: int) -> Outcome:
    return success(batch)


@pytest.mark.parametrize(
    ("where", "script", "overrides", "reached", "message"),
    [
        ("pacing", _succeeds, {"rate": 1.0}, lambda api: len(api.calls) == 1, "not sent"),
        ("in flight", _in_flight, {}, lambda api: api.in_flight == 2, "interrupted in flight"),
        (
            "backoff",
            _retryable_then_success,
            {"backoff_initial": 30.0, "backoff_max": 30.0},
            lambda api: len(api.calls) == 2,
            "stopped before retrying",
        ),
    ],
    ids=["pacing", "in-flight", "backoff"],
)
async def test_cancelling_at_each_await_records_every_id_once(
    tmp_path: Path,
    where: str,
    script: Callable[[PersonBatch, int], object],
    overrides: dict[str, object],
    reached: Callable[[FakeApi], bool],
    message: str,
) -> None:
    """Cancelled while pacing, in flight or in backoff: each batch gets one record that says
    truthfully whether a request may have been applied."""
    api = FakeApi(script)  # type: ignore[arg-type]
    pool, recorder = _pool(tmp_path, api, **overrides)
    batches = iter([PersonBatch("w", person, (person * 10,)) for person in range(1, 8)])
    sending = asyncio.create_task(pool.send_all(batches))
    for _ in range(200):
        if reached(api):
            break
        await asyncio.sleep(0.01)
    assert reached(api), where
    pool.stop("test stop", 143)
    pool.cancel_in_flight()
    await sending
    recorder.close()
    ledger = read_ledger(tmp_path / "ledger.jsonl")
    states = final_states(ledger)
    assert set(states) == {("w", person, person * 10) for person in range(1, 8)}
    assert "deleted" not in set(states.values()) or where == "pacing"
    cancelled = [r for r in ledger if r["message"].startswith(message) and r["elapsed_ms"]]
    assert cancelled, ledger  # the batch(es) in hand when cancelled, with their own message
    interrupted = [r for r in ledger if r["message"].startswith("interrupted in flight")]
    assert all(r["attempts"] >= 1 for r in interrupted)
    assert len(interrupted) == (2 if where == "in flight" else 0)
