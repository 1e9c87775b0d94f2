"""The preflight against the emulator with real state: a wrong manifest is caught before any
DELETE, a right one runs, and a look-up that cannot be read leaves the run to go on unchecked."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from random import Random

import pytest
from pydantic import SecretStr

from tests.cli import Thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, sweep
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.emulator.faults import Fault, RequestInfo
from worker.errors import ExitCode
from worker.run import run
from worker.run_setup import RunSetup
from worker.sending.preflight import PreflightFailedError
from worker.settings import load_settings

# Ten persons, each holding thumbnails p*10+1 .. p*10+3 (the first one primary).
PERSONS = range(1, 11)
RIGHT = [("w", p, p * 10 + 2) for p in PERSONS]  # one non-primary id of each person
SWAPPED = [("w", t, p) for _, p, t in RIGHT]  # person and thumbnail columns swapped


CHECKED = Thumbsweep(preflight=True)  # the CLI with its default preflight (20 persons)


def state_lines() -> str:
    """The persons above as an emulator --state file."""
    persons = ({"workspace": "w", "person_id": p, "thumbnail_ids": [p * 10 + i for i in (1, 2, 3)]}
               for p in PERSONS)  # fmt: skip
    return "".join(json.dumps(person) + "\n" for person in persons)


@pytest.fixture
async def real(tmp_path: Path) -> AsyncIterator[Emulator]:
    """An emulator loaded with the persons above through --state (its config's `state`)."""
    state = tmp_path / "state.jsonl"
    state.write_text(state_lines())
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, state=str(state))
    async with Emulator(config) as served:
        yield served


def removals(emulator: Emulator) -> int:
    """Remove requests (DELETE or POST) the emulator received, applied or not."""
    return sum(emulator.stats.per_id.values())


async def test_swapped_columns_exit_3_and_no_delete_reaches_the_api(
    real: Emulator, tmp_path: Path
) -> None:
    """A swapped-column manifest ends with exit 3 and the likely causes; nothing is removed."""
    (tmp_path / "in.csv").write_text(csv_rows(SWAPPED))
    done = await CHECKED.run(
        "run", str(tmp_path / "in.csv"), "--base-url", real.base_url,
        "--ledger", str(tmp_path / "ledger.jsonl"),
    )  # fmt: skip
    assert done.code == ExitCode.GUARD
    assert "only 0 of 10 sampled thumbnail ids exist" in done.err
    assert "10 of them not found" in done.err
    assert "columns are swapped" in done.err
    assert "already removed" in done.err
    assert removals(real) == 0
    assert real.stats.deletes_applied == 0
    assert not (tmp_path / "ledger.jsonl").exists()


async def test_right_manifest_passes_and_runs(
    real: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A manifest whose ids exist passes the preflight and every id is deleted."""
    caplog.set_level(logging.INFO, "thumbsweep")
    result, records = await sweep(real, tmp_path, csv_rows(RIGHT), preflight=20)
    assert result.exit_code == ExitCode.OK
    assert {r["status"] for r in records} == {"deleted"}
    assert all(t not in real.thumbnail_ids(w, p) for w, p, t in RIGHT)
    assert "preflight: 10 of 10 sampled ids exist on their 10 persons" in caplog.text


async def test_min_match_sets_the_share(real: Emulator, tmp_path: Path) -> None:
    """With 4 of 10 ids real, the default 50% stops the run; --preflight-min-match 0.4 passes."""
    rows = RIGHT[:4] + [("w", p, p * 10 + 9) for p in PERSONS[4:]]
    with pytest.raises(PreflightFailedError, match="only 4 of 10"):
        await sweep(real, tmp_path, csv_rows(rows), preflight=20)
    assert removals(real) == 0
    result, _ = await sweep(real, tmp_path, csv_rows(rows), preflight=20, preflight_min_match=0.4)
    assert result.stats.requests["deleted"] == 10


async def test_preflight_sends_at_most_n_look_ups(real: Emulator, tmp_path: Path) -> None:
    """--preflight 3 looks up 3 persons: 3 GETs before the 10 removals."""
    methods: list[str] = []

    def watch(info: RequestInfo) -> Fault | None:
        methods.append(info.method)
        return None

    real.fault_plan = watch
    await sweep(real, tmp_path, csv_rows(RIGHT), preflight=3)
    assert methods == ["GET"] * 3 + ["DELETE"] * 10


async def test_preflight_0_turns_it_off(real: Emulator, tmp_path: Path) -> None:
    """With --preflight 0 a swapped manifest is sent as before (nothing checks it)."""
    result, _ = await sweep(real, tmp_path, csv_rows(SWAPPED), preflight=0)
    assert result.exit_code != ExitCode.GUARD
    assert removals(real) == 10


async def test_whole_person_and_primary_ids_are_reported(
    real: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A request for all of a person's ids, and a primary id, are named before sending."""
    rows = [("w", 1, 11), ("w", 1, 12), ("w", 1, 13), ("w", 2, 21)]
    await sweep(real, tmp_path, csv_rows(rows), preflight=20)
    assert "1 sampled persons would lose every thumbnail, which the API refuses (e.g. w/1)" in (
        caplog.text
    )
    assert "2 sampled ids are a person's primary thumbnail (e.g. w/1:11, w/2:21)" in caplog.text


def on_look_up(fault: Fault) -> Emulator:
    """A state emulator (persons seeded, `has_state` set) whose look-ups all get `fault`."""
    emulator = Emulator(EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY))
    for p in PERSONS:
        emulator.add_person("w", p, [p * 10 + i for i in (1, 2, 3)])
    emulator.has_state = True
    emulator.fault_plan = lambda info: fault if info.method == "GET" else None
    return emulator


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (Fault("status", 401, shape="gateway"), "gateway error 200"),
        (Fault("raw", 200, body=b"<html>ok</html>"), "not JSON"),
        (Fault("raw", 405, body=b""), "HTTP 405"),
        (Fault("status", 503, shape="gateway"), "HTTP 503"),
        (Fault("raw", 200, body=b'{"code":"0","message":"success","result":{}}'), "thumbnailList"),
        (Fault("raw", 404, body=b'{"error":{"errorCode":"300"}}'), "gateway error 300"),
    ],
)
async def test_look_up_that_cannot_be_read_warns_once_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: Fault, said: str
) -> None:
    """Gateway errors, non-JSON, 405, 5xx after retries, no thumbnailList: cannot check."""
    async with on_look_up(fault) as emulator:
        result, _ = await sweep(emulator, tmp_path, csv_rows(RIGHT), max_attempts=2, preflight=20)
    warnings = [r.getMessage() for r in caplog.records if "cannot check" in r.getMessage()]
    assert len(warnings) == 1
    assert said in warnings[0]
    assert result.stats.requests["deleted"] == 10  # the run went on: the API took them all


async def test_look_up_5xx_is_retried_like_a_removal_then_given_up(tmp_path: Path) -> None:
    """A 503 look-up is tried --max-attempts times, then the check is dropped (one person)."""
    async with on_look_up(Fault("status", 503)) as emulator:
        await sweep(emulator, tmp_path, csv_rows(RIGHT), max_attempts=3, preflight=20)
    assert emulator.stats.by_status["503"] == 3


async def test_emulator_without_state_cannot_be_checked(
    emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without --state the emulator's look-up reads as "cannot check", and the run deletes."""
    result, _ = await sweep(emulator, tmp_path, csv_rows(RIGHT), preflight=20)
    assert result.exit_code == ExitCode.OK
    assert "cannot check the manifest" in caplog.text
    assert "--state FILE" in caplog.text


async def test_dry_run_with_credentials_looks_up_and_deletes_nothing(
    real: Emulator, tmp_path: Path
) -> None:
    """--dry-run with credentials runs the look-ups: a swapped file exits 3, a right one 0."""
    for rows, code in ((SWAPPED, ExitCode.GUARD), (RIGHT, ExitCode.OK)):
        (tmp_path / "in.csv").write_text(csv_rows(rows))
        done = await CHECKED.run(
            "run", str(tmp_path / "in.csv"), "--base-url", real.base_url, "--dry-run",
            "--ledger", str(tmp_path / "ledger.jsonl"),
        )  # fmt: skip
        assert done.code == code, done.err
        # neither the secret nor a presigned URL the look-ups received reaches the output
        assert SECRET_KEY not in done.err
        assert "X-Amz-Signature" not in done.err
    assert real.stats.total_requests == 20
    assert removals(real) == 0
    assert real.stats.deletes_applied == 0


async def test_dry_run_without_credentials_says_the_check_was_skipped(
    real: Emulator, tmp_path: Path
) -> None:
    """Without credentials a dry run sends nothing and says the preflight was skipped."""
    (tmp_path / "in.csv").write_text(csv_rows(SWAPPED))
    done = await Thumbsweep(credentials=False, preflight=True).run(
        "run", str(tmp_path / "in.csv"), "--base-url", real.base_url, "--dry-run",
        "--ledger", str(tmp_path / "ledger.jsonl"),
    )  # fmt: skip
    assert done.code == ExitCode.OK
    assert "preflight: skipped (no credentials" in done.err
    assert real.stats.total_requests == 0


async def test_sample_is_random_and_seeded(real: Emulator, tmp_path: Path) -> None:
    """The same seed looks up the same persons; the sample is not simply the first ones."""
    looked_up: list[int] = []

    def watch(info: RequestInfo) -> Fault | None:
        if info.method == "GET":
            looked_up.append(info.person_id)
        return None

    real.fault_plan = watch
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(RIGHT))
    overrides = {"base_url": real.base_url, "ledger": tmp_path / "l.jsonl", "preflight": 3}
    setup = RunSetup.from_settings(load_settings({**overrides, "dry_run": True}, None))
    samples = []
    for _ in range(2):
        looked_up.clear()
        await run(setup, str(source), (ACCESS_KEY, SecretStr(SECRET_KEY)), sample_rng=Random(5))
        samples.append(list(looked_up))
    assert samples[0] == samples[1]
    assert len(samples[0]) == 3
    assert sorted(samples[0]) != [1, 2, 3]
