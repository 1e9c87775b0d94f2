"""The preflight: before the first DELETE, check a random sample of the plan against the API.

The API answers success for ids a person does not have, so a manifest with stale ids, another
workspace's ids or its columns swapped would "succeed" while removing nothing. Looking up a few
persons (`GET .../persons/{id}`, read only) and counting how many of their planned ids they hold
catches that before anything is deleted. At most `size` look-ups are sent (plus retries), one
at a time, paced by the run's rate limit; the first look-up that cannot be read ends the check
(it cannot be made), and the run goes on without it.
"""

from __future__ import annotations

import contextlib
import logging
import random
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pydantic import SecretStr

from worker.api.client import open_api
from worker.api.person import PersonLookup
from worker.errors import ExitCode, ThumbsweepError
from worker.input.batching import Batcher
from worker.run_setup import RunSetup
from worker.sending.guards import Guard
from worker.sending.options import SenderOptions
from worker.sending.throttle import RateLimiter

log = logging.getLogger("thumbsweep")

PersonKey = tuple[str, int]
_SHOWN = 3  # persons named in a warning; the rest are counted


@runtime_checkable
class PersonLookupApi(Protocol):
    """One signed look-up of one person: the seam between the preflight and HTTP."""

    async def look_up(self, workspace: str, person_id: int) -> PersonLookup:
        """Send one GET now; never raises for anything the API or the network does."""
        ...


class PreflightFailedError(ThumbsweepError):
    """Too few sampled ids exist on their persons: nothing was deleted (exit 3)."""

    exit_code = ExitCode.GUARD


@dataclass
class PreflightReport:
    """What the sample showed, or why it could not be checked (`cannot_check`)."""

    persons: int = 0
    ids: int = 0
    found: int = 0
    missing_persons: int = 0
    whole_persons: list[PersonKey] = field(default_factory=list)  # would lose every thumbnail
    primary_ids: list[tuple[str, int, int]] = field(default_factory=list)
    cannot_check: str | None = None
    requests: int = 0

    def matches(self, min_match: float) -> bool:
        """Whether enough of the sampled ids exist (an unchecked sample always passes)."""
        return self.cannot_check is not None or not self.ids or self.found >= min_match * self.ids


async def check_sample(
    api: PersonLookupApi,
    sample: list[tuple[str, int, tuple[int, ...]]],
    options: SenderOptions,
    guard: Guard | None = None,
) -> PreflightReport:
    """Look up each sampled person (with the run's retry and pacing rules); count its ids."""
    guard = guard or Guard()
    limiter = RateLimiter(options.rate, retry_after_max=options.retry_after_max)
    report = PreflightReport()
    for workspace, person_id, planned in sample:
        lookup = await _look_up(api, workspace, person_id, options, limiter, guard, report)
        if lookup.state == "unknown":
            report.cannot_check = lookup.problem or "no answer"
            return report
        report.persons += 1
        report.ids += len(planned)
        if lookup.state == "missing":
            report.missing_persons += 1
            continue
        held = set(lookup.thumbnail_ids)
        found = [i for i in planned if i in held]
        report.found += len(found)
        if held and held <= set(planned):
            report.whole_persons.append((workspace, person_id))
        if lookup.primary_id is not None and lookup.primary_id in found:
            report.primary_ids.append((workspace, person_id, lookup.primary_id))
    return report


async def _look_up(
    api: PersonLookupApi,
    workspace: str,
    person_id: int,
    options: SenderOptions,
    limiter: RateLimiter,
    guard: Guard,
    report: PreflightReport,
) -> PersonLookup:
    """One person's look-up, retried as a batch is: full-jitter backoff or a capped
    Retry-After between attempts, at most `max_attempts` in all."""
    attempt = 1
    while True:
        started = await limiter.acquire(guard)
        report.requests += 1
        lookup = await api.look_up(workspace, person_id)
        if lookup.http_status == 429:
            limiter.on_throttled(started, lookup.retry_after)
        elif lookup.http_status is not None:
            limiter.on_accepted(started)
        if not lookup.retryable or attempt >= options.max_attempts or guard.tripped:
            return lookup
        if lookup.retry_after is not None:
            wait = min(lookup.retry_after, options.retry_after_max)
        else:
            window = min(options.backoff_max, options.backoff_initial * 2 ** (attempt - 1))
            wait = random.uniform(0, window)  # jitter, not a secret
        await guard.sleep(wait)
        attempt += 1


def explain(report: PreflightReport, min_match: float) -> str:
    """The message of a failed preflight: what was sampled, what was found, likely causes."""
    gone = f", {report.missing_persons} of them not found at all" if report.missing_persons else ""
    return (
        f"preflight: only {report.found} of {report.ids} sampled thumbnail ids exist on their "
        f"persons ({report.persons} persons looked up{gone}); at least {min_match:.0%} must. "
        "Nothing was deleted. Likely causes: the person and thumbnail columns are swapped, the "
        "manifest is for another workspace (or account), or the ids were already removed. "
        "Check the file; --preflight 0 turns this check off"
    )


def log_findings(report: PreflightReport) -> None:
    """Say what the check found: skipped, or matched, and the requests the API will refuse."""
    if report.cannot_check is not None:
        log.warning(
            "preflight: cannot check the manifest (%s); continuing without the check",
            report.cannot_check,
        )
        return
    log.info(
        "preflight: %d of %d sampled ids exist on their %d persons (%d persons not found)",
        report.found, report.ids, report.persons, report.missing_persons,
    )  # fmt: skip
    if report.whole_persons:
        shown = ", ".join(f"{w}/{p}" for w, p in report.whole_persons[:_SHOWN])
        log.warning(
            "preflight: %d sampled persons would lose every thumbnail, which the API refuses "
            "(e.g. %s)",
            len(report.whole_persons), shown,
        )  # fmt: skip
    if report.primary_ids:
        shown = ", ".join(f"{w}/{p}:{t}" for w, p, t in report.primary_ids[:_SHOWN])
        log.warning(
            "preflight: %d sampled ids are a person's primary thumbnail (e.g. %s)",
            len(report.primary_ids), shown,
        )  # fmt: skip


async def run_preflight(
    setup: RunSetup,
    batcher: Batcher,
    credentials: tuple[str, SecretStr] | None,
    api: object | None,
    rng: random.Random,
) -> None:
    """Check a sample of the plan against the API; raise PreflightFailedError (exit 3) when too
    few of its ids exist. Runs before the ledger is opened: a failed check writes nothing."""
    settings = setup.settings
    if not settings.preflight:
        return
    if api is not None and not isinstance(api, PersonLookupApi):
        return  # a test's removal-only fake: nothing to look up
    if api is None and credentials is None:
        log.info("preflight: skipped (no credentials; a dry run does not need them)")
        return
    sample = batcher.sample(settings.preflight, rng)
    async with contextlib.AsyncExitStack() as resources:
        lookups: PersonLookupApi
        if isinstance(api, PersonLookupApi):
            lookups = api
        else:
            assert credentials is not None
            lookups = await resources.enter_async_context(open_api(setup.api, credentials, 1))
        report = await check_sample(lookups, sample, setup.sender)
    log_findings(report)
    if not report.matches(settings.preflight_min_match):
        raise PreflightFailedError(explain(report, settings.preflight_min_match))
