"""Shared test setup: the aioresponses/aiohttp 3.14 shim and a clean environment per test."""

from __future__ import annotations

import functools
import types
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse

from tests.cli import Thumbsweep
from tests.e2e import ACCESS_KEY, SECRET_KEY
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig

# aioresponses 0.7.9 builds ClientResponse without the `stream_writer` argument that aiohttp 3.14
# made required (https://github.com/pnuckowski/aioresponses/issues/289). aiohttp only reads
# `stream_writer.output_size` when the request was already sent, so a stand-in with output_size 0
# is enough. Test-only; remove once aioresponses ships a fix.
_original_init = ClientResponse.__init__
_NO_UPLOAD = types.SimpleNamespace(output_size=0)


@functools.wraps(_original_init)
def _init_with_stream_writer(self: ClientResponse, *args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("stream_writer", _NO_UPLOAD)
    _original_init(self, *args, **kwargs)


ClientResponse.__init__ = _init_with_stream_writer  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's credentials, .env, config file, secrets directory or
    proxy."""
    for name in (
        "THUMBSWEEP_ACCESS_KEY", "THUMBSWEEP_SECRET_KEY", "NCLOUD_ACCESS_KEY",
        "NCLOUD_SECRET_KEY", "THUMBSWEEP_CONFIG", "THUMBSWEEP_SECRETS_DIR", "THUMBSWEEP_SHARD",
        "THUMBSWEEP_SHARD_COUNT", "JOB_COMPLETION_INDEX",
        # the API client honours these: a developer's proxy must not carry the tests' requests
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
        "no_proxy", "all_proxy", "SSL_CERT_FILE",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("THUMBSWEEP_SECRETS_DIR", str(tmp_path_factory.mktemp("no-secrets") / "x"))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A running emulator that accepts the test credentials."""
    async with Emulator(EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY)) as served:
        yield served


@pytest.fixture
async def slow_emulator() -> AsyncIterator[Emulator]:
    """An emulator that takes 200 ms per request."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, latency_ms=200)
    async with Emulator(config) as served:
        yield served


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture(params=["asyncio", "uvloop"])
def cli_each_loop(request: pytest.FixtureRequest) -> Thumbsweep:
    """The CLI as a child process, once on asyncio's event loop and once on uvloop (the extra):
    what a test proves with it must not depend on the loop."""
    return Thumbsweep(event_loop=request.param)
