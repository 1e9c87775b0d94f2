"""Seeing what a run does: the plan, JSON progress lines, JSON logs, the metrics file and push."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.cli import run_on_terminal, thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, single_id_rows
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.emulator.faults import Fault, RequestInfo


async def run_cli(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr as a pipe (not a terminal); return exit code and stderr."""
    code, _, err = await thumbsweep.run(*args)
    return code, err


def json_lines(text: str) -> list[dict[str, Any]]:
    """The lines of `text` that are JSON objects."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a Prometheus text file, keyed by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def fail_person_7(info: RequestInfo) -> Fault | None:
    """A permanent failure for person 7, and one 503 for every fourth person's first attempt."""
    if info.person_id == 7:
        return Fault("status", status=400, shape="service")
    if info.person_id % 4 == 0 and info.person_request_index == 0:
        return Fault("status", status=503)
    return None


async def test_progress_lines_metrics_file_and_json_logs(tmp_path: Path) -> None:
    """Without a TTY: periodic JSON progress lines with the right numbers, JSON logs with the
    plan, and a metrics file whose samples match the ledger."""
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(single_id_rows(40)))
    metrics = tmp_path / "thumbsweep.prom"
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, latency_ms=40)
    async with Emulator(config, fault_plan=fail_person_7) as emulator:
        code, err = await run_cli(
            "run", str(source), "--base-url", emulator.base_url, "--ledger",
            str(tmp_path / "l.jsonl"), "--concurrency", "2", "--backoff-initial", "0.01",
            "--progress-interval", "0.2", "--log-format", "json", "--metrics-file", str(metrics),
        )  # fmt: skip
    assert code == 4  # person 7 refused for good; the 503s were retried away
    objects = json_lines(err)
    progress = [o for o in objects if o.get("event") == "progress"]
    logs = [o for o in objects if "level" in o]
    assert len(progress) >= 3
    assert {p["ids_total"] for p in progress} == {40}
    done = [p["ids_done"] for p in progress]
    assert done == sorted(done)
    assert 0 < done[-1] <= 40
    assert all(
        p["ids_done"] == p["ids_deleted"] + p["ids_failed"] + p["ids_skipped"] for p in progress
    )
    assert progress[-1]["retries"] >= 1
    plan = next(log["message"] for log in logs if log["message"].startswith("plan"))
    assert "40 unique ids" in plan
    assert "40 requests" in plan
    values = samples(metrics)
    assert values[("thumbsweep_ids", (("status", "deleted"),))] == 39
    assert values[("thumbsweep_ids", (("status", "failed"),))] == 1
    assert values[("thumbsweep_requests_total", (("http_status", "503"),))] == 10
    assert values[("thumbsweep_requests_total", (("http_status", "400"),))] == 1
    assert values[("thumbsweep_requests_total", (("http_status", "200"),))] == 39
    assert values[("thumbsweep_retries_total", ())] == 10
    assert values[("thumbsweep_exit_code", ())] == 4
    assert values[("thumbsweep_duration_seconds", ())] > 0
    assert values[("thumbsweep_last_success_timestamp_seconds", ())] > 1.7e9


async def test_metrics_are_pushed_to_a_pushgateway_at_the_end(
    emulator: Emulator, tmp_path: Path
) -> None:
    """--pushgateway PUTs the run's metrics once, under job thumbsweep."""
    pushed: list[tuple[str, str]] = []

    async def receive(request: web.Request) -> web.Response:
        pushed.append((request.path, await request.text()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        source = tmp_path / "in.csv"
        source.write_text(csv_rows(single_id_rows(3)))
        code, err = await run_cli(
            "run", str(source), "--base-url", emulator.base_url, "--ledger",
            str(tmp_path / "l.jsonl"), "--pushgateway", f"http://127.0.0.1:{port}",
        )  # fmt: skip
    finally:
        await runner.cleanup()
    assert code == 0, err
    ((path, body),) = pushed
    assert path == "/metrics/job/thumbsweep"
    assert 'thumbsweep_ids{status="deleted"} 3.0' in body


async def test_progress_bar_on_a_terminal(emulator: Emulator, tmp_path: Path) -> None:
    """With stderr on a terminal, a progress bar shows ids done of the total, ids/s and failures."""
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(single_id_rows(25)))
    code, text = await run_on_terminal(
        "run", str(source), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "l.jsonl"), "--concurrency", "1",
    )  # fmt: skip
    assert code == 0
    assert "25/25" in text
    assert "id/s" in text
    assert "failed=0" in text
    assert '"event":"progress"' not in text  # no JSON lines on a terminal


async def test_unreachable_pushgateway_warns_without_its_credentials(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A push that fails only warns (exit code unchanged) and never prints the URL's user info."""
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(single_id_rows(2)))
    code, err = await run_cli(
        "run", str(source), "--base-url", emulator.base_url, "--ledger", str(tmp_path / "l.jsonl"),
        "--pushgateway", "http://pusher:hunter2-secret@127.0.0.1:9/?token=t0ken-secret",
    )  # fmt: skip
    assert code == 0, err
    assert "cannot push metrics to http://127.0.0.1:9/" in err
    assert "hunter2-secret" not in err
    assert "t0ken-secret" not in err
