"""What a run loads at start-up: libraries only when it uses them, a CA bundle once.

Start-up is part of every run's CPU (issue 12 measures CPU per request with it included), so
a run without metrics does not import prometheus_client and one without a progress bar does
not import tqdm. `-X importtime` lists every module the child imported.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from pathlib import Path

import pytest

from tests.cli import thumbsweep
from tests.net_relay import self_signed_certificate
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


_COUNT_CONTEXTS = """
import asyncio, ssl, sys
from pydantic import SecretStr
from worker.api.client import open_api
from worker.run_setup import RunSetup
from worker.settings import load_settings

made = []
create = ssl.create_default_context
ssl.create_default_context = lambda *a, **k: made.append(k) or create(*a, **k)

async def main() -> None:
    settings = load_settings({"base_url": "https://127.0.0.1:9", "ledger": sys.argv[1]}, None)
    async with open_api(RunSetup.from_settings(settings).api, ("a", SecretStr("b")), 2):
        pass

asyncio.run(main())
print(len(made))
"""


async def test_ssl_cert_file_is_not_loaded_a_second_time(tmp_path: Path) -> None:
    """SSL_CERT_FILE as it was when aiohttp was imported is already in aiohttp's default
    context (OpenSSL reads it): a run builds no TLS context of its own (one costs the CPU of a
    few hundred requests)."""
    cert, _ = self_signed_certificate(tmp_path)
    env = {**os.environ, "SSL_CERT_FILE": str(cert)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _COUNT_CONTEXTS, str(tmp_path / "l.jsonl"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()
    assert out.decode().split() == ["0"]


async def test_an_unreadable_ssl_cert_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE naming no readable file stops the run with a clear message, as a bad
    --ca-bundle does, instead of OpenSSL silently trusting nothing from it."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=r"cannot load the CA bundle .*missing\.pem"):
        async with open_session(1):
            pass
