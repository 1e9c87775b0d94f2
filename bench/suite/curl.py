"""Benchmark 4, against a curl loop: `bench/curl_loop.sh` (one date, openssl and curl process per
id) against thumbsweep at its default concurrency, 500 single-id persons at 50 ms latency."""

from __future__ import annotations

import shutil
import sys

from suite.report import table
from suite.runs import Figures, Options, networked_run

# What curl_loop.sh runs; without any of them the benchmark is skipped, not failed.
TOOLS = ("bash", "curl", "openssl", "base64", "date")


def against_curl(options: Options) -> Figures:
    """500 single-id persons at 50 ms: the curl loop vs thumbsweep's default concurrency."""
    persons, latency = options.size(500), 50.0
    print(
        f"\n== against a curl loop: {persons} single-id persons, latency {latency:g} ms, "
        "thumbsweep at its default concurrency (8) =="
    )
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        print(f"skipped: {', '.join(missing)} not found on PATH")
        return {"skipped": f"missing {', '.join(missing)}"}
    results: dict[str, list[Figures]] = {}
    for client in ("curl", "thumbsweep"):
        results[client] = [networked_run(options, client, persons, latency, None, f"curl-{client}")]
        print(f"  {client}: {results[client][0]['last_stderr_line']}", file=sys.stderr)
    print("one run each (the gap is large); 'run' excludes interpreter start-up")
    rows = []
    for client, runs in results.items():
        run = runs[0]
        rows.append(
            [
                client,
                f"{run['run_seconds']:.2f}",
                f"{run['process_seconds']:.2f}",
                f"{run['run_per_second']:.1f}",
                f"{run['cpu_seconds']:.2f}",
                f"{run['emulator'].get('deletes_applied')}",
                f"{run['exit_code']}",
            ]
        )
    table(["client", "run s", "process s", "req/s", "CPU s", "deleted", "exit"], rows)
    curl, ours = results["curl"][0], results["thumbsweep"][0]
    run_ratio = curl["run_seconds"] / ours["run_seconds"]
    process_ratio = curl["process_seconds"] / ours["process_seconds"]
    overhead = (curl["run_seconds"] - persons * latency / 1000) * 1000 / persons
    print(f"curl loop wall / thumbsweep wall: run {run_ratio:.1f}x, process {process_ratio:.1f}x")
    print(
        f"curl loop: {overhead:.1f} ms per id beyond the {latency:g} ms latency "
        "(date, openssl, base64 and curl processes, a new connection each)"
    )
    return {
        "persons": persons,
        "latency_ms": latency,
        "ratio_run": run_ratio,
        "ratio_process": process_ratio,
        "curl_overhead_ms_per_id": overhead,
        "runs": results,
    }
