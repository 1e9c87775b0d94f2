"""What a run loads at start-up: libraries only when it uses them, a CA bundle once.

Start-up is part of every run's CPU (issue 12 measures CPU per request with it included), so
a run without metrics does not import prometheus_client and one without a progress bar does
not import tqdm. `-X importtime` lists every module the child imported.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.cli import thumbsweep
from worker.api import client
from worker.api.client import open_session
from worker.errors import ConfigError


def _imported(stderr: str) -> set[str]:
    """The modules a `python -X importtime` child imported (top-level package names)."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


async def test_a_run_without_metrics_or_bar_imports_neither(tmp_path: Path) -> None:
    """No --metrics-file, no --pushgateway, no terminal: prometheus_client and tqdm stay out."""
    (tmp_path / "in.csv").write_text("workspace,person_id,thumbnail_id\nw,1,2\n")
    done = await thumbsweep.run(
        "run", str(tmp_path / "in.csv"), "--dry-run", "--ledger", str(tmp_path / "l.jsonl"),
        prefix=(), program=("-X", "importtime", "-m", "worker"),
    )  # fmt: skip
    assert done.code == 0, done.err
    imported = _imported(done.err)
    assert "worker" in imported  # the listing is real
    assert "prometheus_client" not in imported
    assert "tqdm" not in imported


async def test_a_run_with_a_metrics_file_still_writes_it(tmp_path: Path) -> None:
    """The lazy import changes nothing for a run that asks for metrics."""
    (tmp_path / "in.csv").write_text("workspace,person_id,thumbnail_id\nw,1,2\n")
    metrics = tmp_path / "run.prom"
    done = await thumbsweep.run(
        "run", str(tmp_path / "in.csv"), "--dry-run", "--ledger", str(tmp_path / "l.jsonl"),
        "--metrics-file", str(metrics),
    )  # fmt: skip
    assert done.code == 0, done.err
    text = metrics.read_text()
    assert 'thumbsweep_ids{status="dry_run"} 1.0' in text
    assert "thumbsweep_exit_code 0.0" in text


async def test_sessions_of_one_run_share_one_loaded_ca_bundle() -> None:
    """The preflight's session and the run's trust the same bundle, loaded once."""
    bundle = Path(ssl.get_default_verify_paths().openssl_cafile)
    if not bundle.is_file():
        pytest.skip("no system CA file to load")
    client.trusting.cache_clear()
    async with open_session(1, bundle) as first, open_session(4, bundle) as second:
        contexts = [s.connector._ssl for s in (first, second)]  # type: ignore[union-attr]
    assert isinstance(contexts[0], ssl.SSLContext)
    assert contexts[0] is contexts[1]
    assert client.trusting.cache_info().misses == 1


async def test_an_unreadable_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    """A bundle that cannot be loaded stops the run with a clear message, not a traceback."""
    with pytest.raises(ConfigError, match="cannot load the CA bundle"):
        async with open_session(1, tmp_path / "missing.pem"):
            pass
