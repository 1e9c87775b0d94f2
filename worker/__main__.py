"""`python -m worker` is the same as the `thumbsweep` command."""

from __future__ import annotations

from worker.cli import main

raise SystemExit(main())
