"""Choosing the event loop: asyncio's own, or uvloop (an optional extra) when installed."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from worker.cli import main
from worker.errors import ConfigError
from worker.sending.event_loop import loop_factory, run_on


async def _loop_type() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_asyncio_is_asyncio_default_loop() -> None:
    """--event-loop asyncio runs on asyncio's own loop even with uvloop installed."""
    name, factory = loop_factory("asyncio")
    assert (name, factory) == ("asyncio", None)
    assert not issubclass(run_on(factory, _loop_type()), uvloop.Loop)


@pytest.mark.parametrize("choice", ["auto", "uvloop"])
def test_uvloop_when_installed(choice: str) -> None:
    """auto and uvloop both run on uvloop when it is importable."""
    name, factory = loop_factory(choice)  # type: ignore[arg-type]
    assert name == "uvloop"
    assert issubclass(run_on(factory, _loop_type()), uvloop.Loop)


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the extra, auto quietly takes asyncio; asking for uvloop is a clear error."""
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    assert loop_factory("auto") == ("asyncio", None)
    with pytest.raises(ConfigError, match=r"pip install 'thumbsweep\[uvloop\]'"):
        loop_factory("uvloop")


def test_unknown_choice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --event-loop is refused before anything is read or sent."""
    code = main(["run", "-", "--dry-run", "--event-loop", "trio"])
    assert code == 2
    err = capsys.readouterr().err
    assert "event_loop" in err or "event-loop" in err
    assert "Traceback" not in err
