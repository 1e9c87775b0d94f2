"""One run's settings resolved once, at its top, into what each stage needs.

The command line resolves them before it takes the ledger's lock, and hands the result to the
run: the lock, `--resume`, the ledger and the other outputs all use the same paths, named for
the run's shard, and the sender pool gets its own options rather than the whole settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from worker.api.options import ApiOptions
from worker.input.sharding import Shard
from worker.sending.options import SenderOptions
from worker.settings import Settings


@dataclass(frozen=True, slots=True)
class OutputPaths:
    """The files one run writes; with --shard I/N each is named NAME.shard-I-of-N.EXT."""

    ledger: Path  # also where the lock (LEDGER.lock) and --resume look
    failed_out: Path | None  # None when not asked for, and on a dry run (nothing was sent)
    metrics_file: Path | None


@dataclass(frozen=True, slots=True)
class RunSetup:
    """The settings as given, and what was resolved from them for the run's stages."""

    settings: Settings
    shard: Shard | None
    outputs: OutputPaths
    sender: SenderOptions
    api: ApiOptions

    @classmethod
    def from_settings(cls, settings: Settings) -> RunSetup:
        """Resolve the shard, the output paths, the sender's and the client's options, once."""
        shard = settings.shard_spec

        def named(path: Path) -> Path:
            return path if shard is None else shard.ledger_path(path)

        outputs = OutputPaths(
            ledger=named(settings.ledger),
            failed_out=(
                None if settings.failed_out is None or settings.dry_run
                else named(settings.failed_out)
            ),
            metrics_file=None if settings.metrics_file is None else named(settings.metrics_file),
        )  # fmt: skip
        sender = SenderOptions(
            concurrency=settings.concurrency,
            rate=settings.rate,
            max_attempts=settings.max_attempts,
            backoff_initial=settings.backoff_initial,
            backoff_max=settings.backoff_max,
            retry_after_max=settings.retry_after_max,
            breaker_min_batches=settings.breaker_min_batches,
            max_failure_rate=settings.max_failure_rate,
            drain_timeout=settings.drain_timeout,
        )
        api = ApiOptions(
            base_url=settings.base_url,
            timeout=settings.timeout,
            method=settings.method,
            proxy=settings.proxy,
            ca_bundle=settings.ca_bundle,
        )
        return cls(settings, shard, outputs, sender, api)
