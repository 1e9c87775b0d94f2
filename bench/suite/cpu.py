"""Benchmark 2, CPU-bound: zero latency, concurrency 64, thumbsweep against the baseline.

Targets: throughput ratio >= 0.85 (goal >= 1.0); CPU ms per request of each client process,
with and without its start-up (measured alone on a header-only input).
"""

from __future__ import annotations

from _harness import emulator, run_command
from suite.report import client_table, column, median, ratio, scale_note, table, throughput_ratios
from suite.runs import CLIENTS, Figures, Options, alternate_networked, client_argv, process_figures


def startup(options: Options, client: str) -> Figures:
    """`client` on a header-only file: the CPU and wall of start-up (no request is sent)."""
    jobs = options.work / "empty.csv"
    jobs.write_text("workspace,person_id,thumbnail_id\n")
    ledger = options.work / "ledger-empty.jsonl"
    ledger.unlink(missing_ok=True)
    with emulator() as served:
        finished = run_command(
            client_argv(client, jobs, served.base_url, 64, ledger), cwd=options.work
        )
    return process_figures(finished, 0)


def cpu_bound(options: Options) -> Figures:
    """Zero latency, concurrency 64: throughput ratio and CPU per request."""
    persons, concurrency = options.size(20_000), 64
    print(f"\n== CPU-bound: {persons} single-id persons, latency 0, concurrency {concurrency} ==")
    print("(the emulator shares the 2 cores with the client: both are CPU-bound here)")
    results = alternate_networked(options, persons, 0.0, concurrency, "cpu")
    print(
        f"{options.runs} runs each, alternating; medians; CPU = the client process's own "
        "user + system time, start-up included"
    )
    client_table(results, concurrency)
    starts = {client: startup(options, client) for client in CLIENTS}
    print("start-up alone (header-only input, nothing sent), and CPU per request without it:")
    rows = []
    for client in CLIENTS:
        cpu = median(column(results[client], "cpu_seconds"))
        net = (cpu - starts[client]["cpu_seconds"]) * 1000 / persons
        rows.append(
            [
                client,
                f"{starts[client]['process_seconds']:.2f}",
                f"{starts[client]['cpu_seconds']:.2f}",
                f"{starts[client]['max_rss_mb']:.0f}",
                f"{net:.3f}",
            ]
        )
    table(["client", "start-up s", "start-up CPU s", "start-up RSS MB", "CPU ms/req net"], rows)
    run_ratio, process_ratio = throughput_ratios(results, target=0.85, goal=1.0)
    cpu_ratio, _ = ratio(results, "cpu_ms_per_request")
    print(f"CPU per request thumbsweep/baseline: {cpu_ratio:.3f}")
    scale_note(options)
    return {
        "persons": persons,
        "concurrency": concurrency,
        "ratio_run": run_ratio,
        "ratio_process": process_ratio,
        "ratio_cpu_per_request": cpu_ratio,
        "startup": starts,
        "runs": results,
    }
