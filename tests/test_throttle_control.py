"""The rate controller and its pacer on virtual time: a discrete-event simulation of senders
against the emulator's token bucket (the gateway's quota), plus the safeguards one by one.

Each simulated request goes through the real `RateLimiter` (and its `Pacer`): a 429 is answered
at once, an accepted request after the latency, and a 429'd request is sent again through the
limiter, as the sender pool does. Virtual time makes the simulation exact and instant.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from tests.virtual_time import in_virtual_time
from worker.emulator.gateway import TokenBucket
from worker.sending.guards import Guard
from worker.sending.pacer import Pacer
from worker.sending.throttle import Phase, RateLimiter

LATENCY = 0.010


@dataclass
class Process:
    """One simulated thumbsweep process: its limiter, its work and what became of it."""

    requests: int
    delay: float = 0.0  # seconds after the simulation's start that it starts
    ceiling: float = 0.0
    concurrency: int = 64
    accepted: int = 0
    throttled: int = 0
    started_at: float = 0.0
    done_at: float = 0.0
    accepted_at: list[float] = field(default_factory=list)


async def _run(process: Process, bucket: TokenBucket) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(process.delay)
    process.started_at = loop.time()
    limiter = RateLimiter(process.ceiling, retry_after_max=60, clock=loop.time)
    guard = Guard()
    todo = process.requests

    async def sender() -> None:
        nonlocal todo
        while todo > 0:
            todo -= 1
            while True:  # one request, sent again after each 429
                start = await limiter.acquire(guard)
                if bucket.take(loop.time()):
                    await asyncio.sleep(LATENCY)
                    limiter.on_accepted(start)
                    process.accepted += 1
                    process.accepted_at.append(start)
                    break
                limiter.on_throttled(start, None)
                process.throttled += 1

    async with asyncio.TaskGroup() as senders:
        for _ in range(process.concurrency):
            senders.create_task(sender())
    process.done_at = loop.time()


def simulate(quota: float, *processes: Process) -> list[Process]:
    """Run the processes against one key's bucket (burst = quota / 10) to the end."""
    bucket = TokenBucket(quota, max(1.0, quota / 10))

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            for process in processes:
                group.create_task(_run(process, bucket))

    in_virtual_time(main())
    return list(processes)


@pytest.mark.parametrize("quota", [50.0, 200.0, 1000.0])
def test_an_unknown_quota_is_found_fast_and_ridden(quota: float) -> None:
    """No --rate: 20 s of work at the quota takes at most 1.05x that, with 429s <= 2 %."""
    (run,) = simulate(quota, Process(requests=round(20 * quota)))
    assert run.accepted == run.requests
    assert run.done_at <= 1.05 * 20
    assert run.throttled <= 0.02 * (run.accepted + run.throttled)


def test_a_known_quota_is_paced_at_without_a_429() -> None:
    """--rate 190 against 200: paced at 190, never a 429, never faster."""
    (run,) = simulate(200.0, Process(requests=1900, ceiling=190))
    assert run.throttled == 0
    assert run.done_at == pytest.approx(1900 / 190, rel=0.01)
    assert run.done_at >= 1899 / 190


def test_processes_sharing_a_key_get_fair_shares() -> None:
    """Two processes on one key's 400/s, the second a second later: while both run, neither
    gets less than a third of the quota, and all is done within 1.15x of the ideal."""
    first, second = simulate(400.0, Process(requests=4000), Process(requests=4000, delay=1.0))
    overlap_from, overlap_to = 3.0, min(first.done_at, second.done_at)
    assert overlap_to - overlap_from >= 5
    for run in (first, second):
        during = sum(overlap_from <= t < overlap_to for t in run.accepted_at)
        assert during / (overlap_to - overlap_from) >= 400 / 3
    assert max(first.done_at, second.done_at) <= 1.15 * 8000 / 400
    total = sum(run.accepted + run.throttled for run in (first, second))
    assert first.throttled + second.throttled <= 0.05 * total


def test_a_fast_start_does_not_hold_back_an_api_that_never_throttles() -> None:
    """Without a quota the limiter soon stops pacing: concurrency is the only limit (here 64
    senders and 16 ms answers: 4,000 requests/s), and the fast start costs under 3 %."""

    async def main() -> tuple[float | None, float]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(0, retry_after_max=60, clock=loop.time)
        guard = Guard()
        sent = 0

        async def sender() -> None:
            nonlocal sent
            while sent < 8000:
                sent += 1
                start = await limiter.acquire(guard)
                await asyncio.sleep(0.016)
                limiter.on_accepted(start)

        async with asyncio.TaskGroup() as group:
            for _ in range(64):
                group.create_task(sender())
        return limiter.rate, loop.time()

    rate, elapsed = in_virtual_time(main())
    assert rate is None
    assert elapsed <= 1.03 * 8000 / 4000


async def test_each_429_cuts_the_rate_down_to_the_floor_and_no_lower() -> None:
    """Cruising, every 429 cuts the rate by `cut`; however many, never below `min_rate`."""
    clock = FakeClock()
    limiter = RateLimiter(100, retry_after_max=60, cut=0.05, min_rate=2.0, clock=clock)
    assert limiter.phase is Phase.CRUISE
    start = await limiter.acquire(Guard())
    limiter.on_throttled(start, None)
    assert limiter.rate == pytest.approx(95)
    limiter.on_throttled(start, None)
    assert limiter.rate == pytest.approx(90.25)
    for _ in range(1000):
        limiter.on_throttled(start, None)
    assert limiter.rate == 2.0


async def test_the_rate_grows_back_but_never_past_the_ceiling() -> None:
    """Without 429s the rate climbs back, faster the longer it stays quiet, up to --rate."""
    clock = FakeClock()
    limiter = RateLimiter(100, retry_after_max=60, cut=0.5, clock=clock)
    start = await limiter.acquire(Guard())
    limiter.on_throttled(start, None)
    assert limiter.rate == pytest.approx(50)
    rates: list[float] = []
    for _ in range(60):
        clock.now += 0.1
        limiter.on_accepted(clock.now)
        assert limiter.rate is not None
        rates.append(limiter.rate)
    assert rates == sorted(rates)
    assert rates[-1] == 100


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_rate_cut_applies_to_requests_already_waiting() -> None:
    """Requests queued at the pacer start at the new, slower pace from the next start on
    (not at the slots they would have had at the old rate)."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        pacer = Pacer(loop.time, slack=0.0)
        pacer.set_rate(100)
        guard = Guard()
        waiting = [asyncio.ensure_future(pacer.start(guard)) for _ in range(5)]
        await asyncio.sleep(0.015)  # two have started (at 0 and 0.01)
        pacer.set_rate(10)
        return list(await asyncio.gather(*waiting))

    starts = in_virtual_time(main())
    assert starts[:2] == pytest.approx([0.0, 0.01])
    assert starts[2:] == pytest.approx([0.11, 0.21, 0.31])


def test_a_rate_rise_applies_to_requests_already_waiting() -> None:
    """Queued requests start at the new, faster pace at once."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        pacer = Pacer(loop.time, slack=0.0)
        pacer.set_rate(1)
        guard = Guard()
        waiting = [asyncio.ensure_future(pacer.start(guard)) for _ in range(4)]
        await asyncio.sleep(0.5)
        pacer.set_rate(10)
        return list(await asyncio.gather(*waiting))

    starts = in_virtual_time(main())
    assert 0.5 - 1e-6 <= starts[1] <= 0.55
    assert starts[2:] == pytest.approx([starts[1] + 0.1, starts[1] + 0.2])


def test_a_stop_releases_every_waiting_request() -> None:
    """A tripped guard ends the wait of the whole queue at once."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        pacer = Pacer(loop.time)
        pacer.set_rate(1)
        guard = Guard()
        waiting = [asyncio.ensure_future(pacer.start(guard)) for _ in range(50)]
        await asyncio.sleep(2.5)
        guard.trip("stop")
        await asyncio.gather(*waiting)
        return loop.time()

    assert in_virtual_time(main()) == pytest.approx(2.5)


def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    """A request cancelled while queued (or just handed its turn) lets the next one go."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        pacer = Pacer(loop.time, slack=0.0)
        pacer.set_rate(10)
        guard = Guard()
        waiting = [asyncio.ensure_future(pacer.start(guard)) for _ in range(4)]
        await asyncio.sleep(0)
        waiting[1].cancel()
        waiting[2].cancel()
        done = await asyncio.gather(*waiting, return_exceptions=True)
        return [t for t in done if isinstance(t, float)]

    assert in_virtual_time(main()) == pytest.approx([0.0, 0.1])
