"""What the API client needs to know: where the API is, how to call it and how to get there.

Resolved once from the settings at the top of a run (`worker.run_setup`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """The client's options; the names and meanings are those of the run's settings."""

    base_url: str
    timeout: float  # seconds for one attempt
    method: Literal["delete", "post"] = "delete"  # which form of the remove call
    proxy: str | None = None  # beats HTTP(S)_PROXY; may hold credentials: never print it
    ca_bundle: Path | None = None  # --ca-bundle; None: OpenSSL's defaults (SSL_CERT_FILE, ...)

    def __repr__(self) -> str:
        # The proxy URL may carry a password: show only whether one is set.
        proxy = "set" if self.proxy else None
        return (
            f"ApiOptions(base_url={self.base_url!r}, timeout={self.timeout!r}, "
            f"method={self.method!r}, proxy={proxy!r}, ca_bundle={self.ca_bundle!r})"
        )
