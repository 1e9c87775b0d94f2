"""Where a run goes and what it uses: the API host, the config file, where the credentials came
from (never their values) and every file it writes. The plan and the summary both say it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class RunOrigin:
    """The facts an operator checks before trusting a run, all safe to print."""

    api_host: str
    config_file: Path | None
    credentials: str  # e.g. "from the environment (THUMBSWEEP_ACCESS_KEY, ...)"; never a key
    outputs: tuple[tuple[str, Path], ...]  # (what, path), with the shard's names

    @classmethod
    def of(
        cls,
        base_url: str,
        config_file: Path | None,
        credentials: str,
        outputs: dict[str, Path | None],
    ) -> RunOrigin:
        """Describe a run; outputs that are not written (None) are left out."""
        written = tuple((what, path) for what, path in outputs.items() if path is not None)
        # Host and port only: user:password@ in a URL must not reach a log.
        parts = urlsplit(base_url)
        host = parts.hostname or "?"
        if parts.port is not None:
            host += f":{parts.port}"
        return cls(host, config_file, credentials, written)

    @property
    def config_text(self) -> str:
        """The config file, or that none is read."""
        return "none" if self.config_file is None else str(self.config_file)

    @property
    def outputs_text(self) -> str:
        """Every output file, e.g. "ledger run.jsonl, metrics run.prom"."""
        return ", ".join(f"{what} {path}" for what, path in self.outputs)

    def plan_line(self) -> str:
        """The plan's first line: where the run goes and what it reads and writes."""
        return (
            f"target {self.api_host}; config {self.config_text}; credentials "
            f"{self.credentials}; writes {self.outputs_text}"
        )

    def summary_lines(self) -> list[str]:
        """The summary's lines for the same facts: the target, then one line per output."""
        lines = [
            f"  target:   {self.api_host} (config {self.config_text}; credentials "
            f"{self.credentials})"
        ]
        lines += [f"  {what + ':':<9} {path}" for what, path in self.outputs]
        return lines
