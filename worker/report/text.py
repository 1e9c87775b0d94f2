"""The report for a terminal (`--format text`): the headline, the runs, what is left by
reason, latency, and any ledger lines that could not be read."""

from __future__ import annotations

from typing import Any

from worker.observe.wording import counted


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _example(example: dict[str, Any]) -> str:
    if "ledger" in example:
        return f"{example['ledger']}:{example['line']}"
    return f"{example['workspace']}/{example['person_id']}/{example['thumbnail_id']}"


def _reason(group: dict[str, Any]) -> str:
    parts = [group["status"]]
    if group["http_status"] is not None:
        parts.append(f"HTTP {group['http_status']}")
    if group["code"] is not None:
        parts.append(f"code {group['code']}")
    if group["message"]:
        parts.append(str(group["message"]))
    return ", ".join(parts)


def _left(title: str, groups: list[dict[str, Any]]) -> list[str]:
    if not groups:
        return [f"{title}: none"]
    lines = [f"{title}:"]
    for group in groups:
        shown = ", ".join(_example(example) for example in group["examples"])
        lines.append(f"  {group['count']:>10,}  {_reason(group)}  (e.g. {shown})")
    return lines


def _runs(runs: list[dict[str, Any]]) -> list[str]:
    header = ("run", "started", "seconds", "deleted", "failed", "skipped", "dry_run", "invalid",
              "requests", "retries", "429s", "ids/s", "exit", "host")  # fmt: skip
    rows = [header]
    for run in runs:
        ids = run["ids"]
        rows.append((
            run["run_id"], run["started"] or "-", _number(run["duration_s"]),
            _number(ids["deleted"]), _number(ids["failed"]), _number(ids["skipped"]),
            _number(ids["dry_run"]), _number(run["invalid_rows"]), _number(run["requests"]),
            _number(run["retries"]), _number(run["throttled"]), _number(run["ids_per_second"]),
            _number(run["exit_code"]), run["host"] or "-",
        ))  # fmt: skip
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            .rstrip() for row in rows]  # fmt: skip


def render_text(report: dict[str, Any]) -> str:
    """The whole report as lines of text."""
    head = report["headline"]
    final = report["final_status"]
    lines = [
        f"thumbsweep report: {counted(len(report['ledgers']), 'ledger')}, "
        f"{counted(head['runs'], 'run')}, {head['first_ts'] or '-'} to {head['last_ts'] or '-'}",
        f"  ids:          {head['ids']:,} requested, {head['deleted']:,} deleted, "
        f"{head['needs_person']:,} need a person (permanent failures), {head['resumable']:,} "
        "left for --resume",
        f"  invalid rows: {head['invalid_rows']:,} (need a person: fix the input)",
        "  final status: " + ", ".join(f"{status} {count:,}" for status, count in final.items()),
        "",
        "runs:",
        *_runs(report["runs"]),
        "",
        *_left("needs a person", report["left"]["needs_person"]),
        *_left("left for --resume", report["left"]["resumable"]),
        "",
    ]
    latency = report["latency_ms"]
    if latency["count"]:
        lines.append(
            f"latency of {counted(latency['count'], 'batch', 'batches')} (elapsed_ms): "
            f"p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms, "
            f"p99 {latency['p99']:.0f} ms, max {latency['max']:.0f} ms"
        )
    else:
        lines.append("latency: no request recorded")
    unreadable = report["unreadable_lines"]
    if unreadable["corrupt"] or unreadable["torn"]:
        lines.append(
            f"unreadable ledger lines, left out: {unreadable['corrupt']:,} corrupt, "
            f"{unreadable['torn']:,} torn"
        )
        lines += [f"  {problem}" for problem in unreadable["shown"]]
    return "\n".join(lines) + "\n"
