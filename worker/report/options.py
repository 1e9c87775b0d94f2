"""The options of `thumbsweep report`, kept apart so that building the command line imports
none of the report's machinery."""

from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = ("text", "json", "csv", "html")

EXIT_CODES = (
    ("0", "the report was written (whatever the ledgers say: the report is not the run)"),
    ("2", "usage, or a ledger missing or unreadable (a glob matching nothing); nothing written"),
    (
        "74",
        "--output or --failed-out could not be written (nothing half-written is left), "
        "or the temporary database under $TMPDIR",
    ),
)
"""The exit codes of `thumbsweep report`, shown by `report --help`; README says the same."""


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `thumbsweep report`."""
    parser.add_argument(
        "ledgers", nargs="+", metavar="LEDGER",
        help="ledger files (JSON Lines or .csv), or globs such as 'ledger.shard-*.jsonl'",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=FORMATS, default="text",
        help="text (default, for a terminal), json (for scripts), csv (one row per id, its "
        "final state) or html (one self-contained page)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, metavar="PATH",
        help="write the report to PATH (whole, or not at all) instead of stdout",
    )  # fmt: skip
    parser.add_argument(
        "--failed-out", type=Path, metavar="PATH",
        help="also write the ids not deleted that a --resume would send (retryable failures, "
        "skipped, dry-run) as a CSV input for `thumbsweep run`, as run --failed-out writes it",
    )  # fmt: skip
    parser.add_argument(
        "--retry-permanent", action="store_true",
        help="--failed-out includes permanent failures too (retryable false)",
    )  # fmt: skip
    parser.add_argument(
        "--person", metavar="WS/PID",
        help="look up one person: every record that touched it, in order, and its ids' final "
        "states",
    )  # fmt: skip
    parser.add_argument(
        "--id", type=int, dest="thumbnail_id", metavar="ID",
        help="look up one thumbnail id (in every workspace and person, or in --person's)",
    )  # fmt: skip
