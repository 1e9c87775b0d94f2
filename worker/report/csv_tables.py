"""The report's CSV tables (`--format csv`): one row per id with its final state (the
auditor's spreadsheet), or, for a lookup, one row per record. Cells follow the ledger's CSV
rule (`worker.records.record`): formulas prefixed with `'`, lists joined by `;`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from worker.records.record import csv_cell, csv_row
from worker.report.final_states import IdState
from worker.report.model import Reading

ID_COLUMNS = ("workspace", "person_id", "thumbnail_id", "status", "retryable", "ts", "run_id",
              "http_status", "code", "message", "attempts", "ledger")  # fmt: skip
RECORD_COLUMNS = ("ledger", "line", "ts", "run_id", "workspace", "person_id", "thumbnail_ids",
                  "status", "retryable", "http_status", "code", "message", "attempts",
                  "elapsed_ms", "error")  # fmt: skip


def id_fields(state: IdState, gathered: Reading) -> dict[str, Any]:
    """One id's final state as the named fields of `ID_COLUMNS`."""
    reason = gathered.final.reasons.values[state.reason]
    return {
        "workspace": state.workspace, "person_id": state.person_id,
        "thumbnail_id": state.thumbnail_id, "status": state.status,
        "retryable": state.retryable, "ts": state.ts, "run_id": gathered.run_id_of(state.run),
        "http_status": reason.http_status, "code": reason.code, "message": reason.message,
        "attempts": state.attempts, "ledger": gathered.ledgers[state.ledger],
    }  # fmt: skip


def id_rows(gathered: Reading) -> Iterator[str]:
    """The per-id table: its header, then one line per id, by workspace, person and id."""
    yield csv_row(list(ID_COLUMNS))
    for state in gathered.final.states():
        fields = id_fields(state, gathered)
        yield csv_row([csv_cell(fields[name]) for name in ID_COLUMNS])


def record_rows(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The lookup's table: its header, then one line per record (with ledger and line)."""
    yield csv_row(list(RECORD_COLUMNS))
    for record in records:
        yield csv_row([csv_cell(record.get(name)) for name in RECORD_COLUMNS])
