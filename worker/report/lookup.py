"""`--person WS/PID` and `--id ID`: every record that touched a person or an id, in order
(by `ts`, ledgers in the order given), and the final state of the ids it looked up; the
audit question ("was it removed, and when?") answered directly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.clock import utc_now_iso
from worker.errors import ConfigError
from worker.report.csv_tables import id_fields
from worker.report.ledgers import is_batch, read_records
from worker.report.model import REPORT_VERSION, Reading, reading


@dataclass(frozen=True)
class Wanted:
    """What a lookup asks about: a person, an id, or an id of a person."""

    workspace: str | None
    person_id: int | None
    thumbnail_id: int | None

    @classmethod
    def of(cls, person: str | None, thumbnail_id: int | None) -> Wanted:
        """From `--person WS/PID` and `--id ID`; a bad WS/PID is a usage error (exit 2)."""
        if person is None:
            return cls(None, None, thumbnail_id)
        workspace, slash, number = person.rpartition("/")
        if not slash or not workspace or not number.isdigit():
            raise ConfigError(f"--person {person!r}: expected WORKSPACE/PERSON_ID, e.g. news/1001")
        return cls(workspace, int(number), thumbnail_id)

    def ids_in(self, record: dict[str, Any]) -> list[int]:
        """The ids of a batch record this lookup is about (none if it is about no id of it)."""
        if self.workspace is not None and (
            record["workspace"] != self.workspace or record["person_id"] != self.person_id
        ):
            return []
        ids: list[int] = record["thumbnail_ids"]
        return ids if self.thumbnail_id is None else [i for i in ids if i == self.thumbnail_id]

    def describe(self) -> dict[str, Any]:
        """The lookup as the report's JSON object."""
        return {"workspace": self.workspace, "person_id": self.person_id,
                "thumbnail_id": self.thumbnail_id}  # fmt: skip


def look_up(paths: list[Path], wanted: Wanted) -> dict[str, Any]:
    """The lookup report: the matching records (each with its ledger and line), in order, and
    the final states of the ids looked up (from those records, by the report's own rule)."""
    matched: list[dict[str, Any]] = []
    gathered: Reading
    with reading([]) as gathered:
        gathered.ledgers = [str(path) for path in paths]
        for number, path in enumerate(paths):
            for line, record in read_records(path, gathered.problems):
                if not is_batch(record):
                    continue
                ids = wanted.ids_in(record)
                if ids:
                    matched.append({"ledger": str(path), "line": line, **record})
                    gathered.add({**record, "thumbnail_ids": ids}, number, line)
        matched.sort(key=lambda record: record["ts"])  # stable: ledger order within a time
        final = [id_fields(state, gathered) for state in gathered.final.states()]
    return {
        "report_version": REPORT_VERSION,
        "generated_at": utc_now_iso(),
        "ledgers": [str(path) for path in paths],
        "lookup": wanted.describe(),
        "records": matched,
        "final": final,
        "unreadable_lines": {
            "corrupt": gathered.problems.corrupt,
            "torn": gathered.problems.torn,
            "shown": gathered.problems.shown,
        },
    }


def render_lookup_text(found: dict[str, Any]) -> str:
    """The lookup for a terminal: one line per record, then each id's final state."""
    wanted = found["lookup"]
    about = " ".join(
        f"{name} {wanted[name]}" for name in ("workspace", "person_id", "thumbnail_id")
        if wanted[name] is not None
    )  # fmt: skip
    lines = [f"records that touched {about}: {len(found['records']):,}"]
    for record in found["records"]:
        answer = " ".join(
            f"{label} {record[name]}"
            for label, name in (("HTTP", "http_status"), ("code", "code"), ("", "message"))
            if record.get(name) is not None
        ).replace("  ", " ")
        ids = ";".join(map(str, record["thumbnail_ids"]))
        lines.append(
            f"  {record['ts']}  run {record['run_id']}  {record['status']}  "
            f"{record['workspace']}/{record['person_id']} ids {ids}  {answer}  "
            f"attempts {record.get('attempts')}  ({record['ledger']}:{record['line']})"
        )
    lines.append(f"final state of {len(found['final']):,} ids:")
    for state in found["final"]:
        retryable = (
            "" if state["retryable"] is None else f" retryable {str(state['retryable']).lower()}"
        )
        lines.append(
            f"  {state['workspace']}/{state['person_id']}/{state['thumbnail_id']}  "
            f"{state['status']}{retryable}  at {state['ts']}  by run {state['run_id']}"
        )
    return "\n".join(lines) + "\n"
