"""The network as it really is: an API that cannot be reached, proxies, TLS inspection with a
private CA, a gateway whose clock differs from ours, and the POST form of the remove call."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr

from tests.cli import thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, read_ledger, single_id_rows, sweep
from tests.fake_api import FakeApi, run_with, success
from tests.net_relay import ForwardProxy, closed_port, self_signed_certificate, tls_front
from worker.api.outcome import Outcome
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.input.batching import PersonBatch
from worker.run import run
from worker.run_setup import RunSetup
from worker.settings import load_settings


async def _default_run(
    tmp_path: Path, base_url: str, persons: int, **overrides: object
) -> tuple[int, str | None, list[dict[str, object]], float]:
    """A run at default retry settings, without the preflight's look-ups (they are tested on
    their own); (exit code, stop reason, ledger, seconds it took)."""
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(single_id_rows(persons)))
    ledger = tmp_path / "ledger.jsonl"
    settings = load_settings(
        {"base_url": base_url, "ledger": ledger, "preflight": 0, **overrides}, None
    )
    started = time.monotonic()
    result = await run(
        RunSetup.from_settings(settings), str(source), (ACCESS_KEY, SecretStr(SECRET_KEY))
    )
    return result.exit_code, result.stop_reason, read_ledger(ledger), time.monotonic() - started


async def test_refused_connections_stop_fast_with_exit_3(tmp_path: Path) -> None:
    """Nothing listening: the run stops in seconds (not minutes of backoff), exit 3, every id
    skipped, and the reason names the host and the error."""
    port = closed_port()
    code, reason, ledger, seconds = await _default_run(tmp_path, f"http://127.0.0.1:{port}", 40)
    assert code == 3
    assert seconds < 10
    assert {r["status"] for r in ledger} == {"skipped"}
    assert sorted(str(r["thumbnail_ids"]) for r in ledger) == sorted(
        str([person * 10 + 1]) for person in range(1, 41)
    )
    assert reason is not None
    assert f"127.0.0.1:{port}" in reason
    assert "refused" in reason.lower()


async def test_unknown_host_stops_fast_with_exit_3(tmp_path: Path) -> None:
    """A host name that does not resolve: exit 3 within seconds, naming the host."""
    code, reason, ledger, seconds = await _default_run(
        tmp_path, "https://thumbsweep-test.invalid", 12
    )
    assert code == 3
    assert seconds < 10
    assert {r["status"] for r in ledger} == {"skipped"}
    assert reason is not None
    assert "cannot resolve the API host thumbsweep-test.invalid:443" in reason


async def test_untrusted_certificate_stops_fast_and_ca_bundle_fixes_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    """TLS inspection with a private CA: without --ca-bundle the run stops fast (exit 3, naming
    the certificate problem); with it every id is deleted."""
    cert, key = self_signed_certificate(tmp_path)
    port = int(emulator.base_url.rsplit(":", 1)[1])
    async with tls_front(cert, key, port) as tls_port:
        url = f"https://127.0.0.1:{tls_port}"
        code, reason, _, seconds = await _default_run(tmp_path / "no-ca", url, 5)
        assert code == 3
        assert seconds < 10
        assert reason is not None
        assert "certificate" in reason.lower()
        code, _, ledger, _ = await _default_run(tmp_path / "ca", url, 5, ca_bundle=cert)
        assert code == 0
        assert {r["status"] for r in ledger} == {"deleted"}


async def test_ssl_cert_file_is_the_ca_bundle_too(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE in the environment trusts the private CA as --ca-bundle does."""
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    port = int(emulator.base_url.rsplit(":", 1)[1])
    async with tls_front(cert, key, port) as tls_port:
        code, _, ledger, _ = await _default_run(tmp_path, f"https://127.0.0.1:{tls_port}", 3)
    assert code == 0
    assert {r["status"] for r in ledger} == {"deleted"}


async def test_outage_after_a_success_keeps_retrying(tmp_path: Path) -> None:
    """Once the API has answered, connection failures are retried as before, not a fast stop."""

    async def script(batch: PersonBatch, call: int) -> Outcome:
        if call == 0 or call >= 6:
            return success(batch)
        return Outcome(False, message="cannot connect", retryable=True, connect_failure=True)

    api = FakeApi(script)
    result, ledger = await run_with(api, tmp_path, csv_rows(single_id_rows(2)), concurrency=1)
    assert result.exit_code == 0
    assert {r["status"] for r in ledger} == {"deleted"}
    assert len(api.calls) == 7


async def test_http_proxy_from_environment_carries_every_request(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY is honoured: each request goes through the proxy, and all are deleted."""
    async with ForwardProxy().serving() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        result, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(6)))
    assert result.exit_code == 0
    assert len(proxy.requests) == emulator.stats.total_requests == 6
    assert {method for method, _ in proxy.requests} == {"DELETE"}
    assert all(target.endswith("/person-thumbnail") for _, target in proxy.requests)


async def test_no_proxy_bypasses_the_proxy(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY naming the API host sends straight to it, past HTTP_PROXY."""
    async with ForwardProxy().serving() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        result, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(3)))
    assert result.exit_code == 0
    assert proxy.requests == []


async def test_proxy_option_wins_over_environment_and_sends_credentials(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--proxy (with user:password) beats HTTP_PROXY, and authenticates to the proxy."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    expected = "Basic " + base64.b64encode(b"squid:pr0xy-pw").decode()
    async with ForwardProxy(required_auth=expected).serving() as proxy:
        url = f"http://squid:pr0xy-pw@127.0.0.1:{proxy.port}"
        result, ledger = await sweep(emulator, tmp_path, csv_rows(single_id_rows(4)), proxy=url)
    assert result.exit_code == 0
    assert len(proxy.requests) == 4
    assert {r["status"] for r in ledger} == {"deleted"}


async def test_proxy_credentials_are_never_printed(tmp_path: Path) -> None:
    """An unreachable --proxy with a password: exit 3, the proxy host named, the password in no
    output and no ledger line."""
    source = tmp_path / "in.csv"
    source.write_text(csv_rows(single_id_rows(3)))
    port = closed_port()
    ledger = tmp_path / "ledger.jsonl"
    done = await thumbsweep.run(
        "run", str(source), "--ledger", str(ledger), "--base-url", "http://api.example:80",
        "--proxy", f"http://squid:pr0xy-s3cret@127.0.0.1:{port}",
    )  # fmt: skip
    assert done.code == 3, done.err
    assert f"127.0.0.1:{port}" in done.err
    assert "pr0xy-s3cret" not in done.out + done.err + ledger.read_text()


async def test_gateway_clock_ahead_is_corrected_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway clock an hour ahead: the first refusal's Date corrects the signing clock, one
    warning names the offset, and every id is deleted."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, clock_offset=3600)
    caplog.set_level(logging.WARNING, logger="thumbsweep")
    async with Emulator(config) as emulator:
        result, ledger = await sweep(emulator, tmp_path, csv_rows(single_id_rows(20)))
        assert emulator.stats.deletes_applied == 20
    assert result.exit_code == 0
    assert {r["status"] for r in ledger} == {"deleted"}
    warnings = [r.getMessage() for r in caplog.records if "clock" in r.getMessage()]
    assert len(warnings) == 1
    assert "+3600 s" in warnings[0] or "+3599 s" in warnings[0] or "+3601 s" in warnings[0]


async def test_clock_refused_again_after_correction_stops(tmp_path: Path) -> None:
    """A gateway that still refuses after the correction: exactly one re-send, then exit 3."""
    seen: list[str] = []

    async def refuse(request: web.Request) -> web.Response:
        seen.append(request.headers["x-ncp-apigw-timestamp"])
        future = time.time() + 3600
        body = {
            "error": {
                "errorCode": "200",
                "message": "Authentication Failed",
                "details": "timestamp is 5 minutes or more away from the gateway clock",
            }
        }
        date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(future))
        return web.json_response(body, status=401, headers={"Date": date})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        code, reason, ledger, _ = await _default_run(
            tmp_path, f"http://127.0.0.1:{port}", 1, concurrency=1
        )
    finally:
        await runner.cleanup()
    assert code == 3
    assert len(seen) == 2
    assert int(seen[1]) - int(seen[0]) > 3_500_000  # the re-send was signed an hour later
    assert reason is not None
    assert ledger[0]["status"] == "failed"


@pytest.mark.parametrize(
    ("method", "seen", "suffix"),
    [("post", "POST", "/person-thumbnail/remove"), ("delete", "DELETE", "/person-thumbnail")],
)
async def test_method_chooses_the_remove_call(
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    seen: str,
    suffix: str,
) -> None:
    """--method post sends POST .../person-thumbnail/remove (signed for it), delete the DELETE."""
    async with ForwardProxy().serving() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        result, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(3)), method=method)
    assert result.exit_code == 0
    assert emulator.stats.deletes_applied == 3
    assert {m for m, _ in proxy.requests} == {seen}
    assert all(target.endswith(suffix) for _, target in proxy.requests)
