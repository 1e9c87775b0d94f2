"""Nothing secret leaves the process: every output of real runs is searched for the secret key,
every signature the API received, and presigned URL query strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, single_id_rows
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.emulator.faults import Fault, RequestInfo

PRESIGNED = "https://kr.object.ncloudstorage.com/b/1.jpg?X-Amz-Algorithm=AWS4&X-Amz-Signature=beef"


def faults(info: RequestInfo) -> Fault | None:
    """A mix of every kind of trouble, on each person's first attempts: errors, drops, delays,
    a redirect to a presigned URL, a success that keeps ids (its list full of presigned URLs),
    and an error message quoting a presigned URL."""
    kinds = [
        Fault("status", status=429, retry_after="0"),
        Fault("status", status=502),
        Fault("status", status=503),
        Fault("drop_before"),
        Fault("drop_after"),
        Fault("delay", seconds=1.0),
        Fault("redirect", status=307, location=PRESIGNED),
        Fault("keep_ids"),
        Fault("raw", status=500, body=f'{{"code":"500","message":"see {PRESIGNED}"}}'.encode()),
        None,
    ]
    return kinds[info.person_id % len(kinds)] if info.person_request_index == 0 else None


async def run_cli(*args: str) -> str:
    """Run the CLI; return stdout and stderr together."""
    done = await thumbsweep.run(*args)
    return done.out + done.err


@pytest.mark.parametrize("verbosity", ["-v", "-q", "--dry-run"])
async def test_no_secret_signature_or_presigned_query_in_any_output(
    tmp_path: Path, verbosity: str
) -> None:
    """Runs with faults, timeouts and a refused key leak nothing, at any verbosity."""
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(single_id_rows(30)))
    outputs: list[str] = []
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    async with Emulator(config, fault_plan=faults) as emulator:
        for ledger in ("ledger.jsonl", "ledger.csv"):
            outputs.append(await run_cli(
                "run", str(source), "--base-url", emulator.base_url, "--ledger",
                str(tmp_path / ledger), "--timeout", "0.5", "--backoff-initial", "0.01", verbosity,
            ))  # fmt: skip
        signatures = list(emulator.seen_signatures)
    wrong = EmulatorConfig(access_key=ACCESS_KEY, secret_key="another-secret")
    async with Emulator(wrong) as refusing:
        outputs.append(await run_cli(
            "run", str(source), "--base-url", refusing.base_url, "--ledger",
            str(tmp_path / "refused.jsonl"), verbosity,
        ))  # fmt: skip
        signatures += refusing.seen_signatures
    outputs += [path.read_text() for path in tmp_path.glob("*.csv")]
    outputs += [path.read_text() for path in tmp_path.glob("*.jsonl")]
    everything = "\n".join(outputs)
    assert "thumbsweep run" in everything  # the summaries are really in there
    if verbosity == "-v":
        assert " DEBUG " in everything  # the most verbose logging was really on
    if verbosity != "--dry-run":
        assert len(signatures) > 30
    assert SECRET_KEY not in everything
    for signature in signatures:
        assert signature not in everything
    assert "X-Amz-Signature" not in everything
    assert "X-Amz-Algorithm" not in everything
