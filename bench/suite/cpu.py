"""Benchmark 2, CPU-bound: zero latency, concurrency 64, thumbsweep against two scripts.

Against the baseline (parses each reply's JSON): throughput ratio >= 0.85 (goal >= 1.0).
Against the leanest script (bench/lean.py, reads each body and parses nothing; issue 12):
CPU per request <= 1.1x (goal <= 1.0x) and throughput >= 0.9x (goal >= 1.0x). CPU per request
is each client process's own CPU time over the requests the emulator saw, start-up included;
it is also shown without start-up (measured alone on a header-only input). 2 x --runs rounds,
each client once per round; a ratio is the median of the rounds' ratios.
"""

from __future__ import annotations

from _harness import emulator, run_command
from suite.report import (
    client_table,
    column,
    median,
    ratio,
    runs_text,
    scale_note,
    table,
    throughput_ratios,
    verdict,
)
from suite.runs import (
    CPU_CLIENTS,
    Figures,
    Options,
    alternate_networked,
    client_argv,
    process_figures,
)

LEAN_CPU_TARGET, LEAN_CPU_GOAL = 1.1, 1.0
LEAN_THROUGHPUT_TARGET, LEAN_THROUGHPUT_GOAL = 0.9, 1.0


def startup(options: Options, client: str, runs: int = 3) -> Figures:
    """`client` on a header-only file: the CPU and wall of start-up (no request is sent); the
    run with the median CPU of `runs`."""
    jobs = options.work / "empty.csv"
    jobs.write_text("workspace,person_id,thumbnail_id\n")
    ledger = options.work / "ledger-empty.jsonl"
    measured = []
    with emulator() as served:
        for _ in range(runs):
            ledger.unlink(missing_ok=True)
            finished = run_command(
                client_argv(client, jobs, served.base_url, 64, ledger), cwd=options.work
            )
            measured.append(process_figures(finished, 0))
    measured.sort(key=lambda figures: float(figures["cpu_seconds"]))
    return measured[len(measured) // 2]


def cpu_bound(options: Options) -> Figures:
    """Zero latency, concurrency 64: throughput ratios and CPU per request."""
    persons, concurrency = options.size(20_000), 64
    print(f"\n== CPU-bound: {persons} single-id persons, latency 0, concurrency {concurrency} ==")
    print("(the emulator shares the 2 cores with the client: both are CPU-bound here)")
    # Twice --runs rounds: a run lasts ~3 s, and single rounds swing +-15 % on a shared machine.
    rounds = 2 * options.runs
    results = alternate_networked(
        options, persons, 0.0, concurrency, "cpu", CPU_CLIENTS, rounds=rounds
    )
    print(
        f"{rounds} rounds of lean, baseline and thumbsweep, each round starting with the next "
        "client; medians; ratios are medians of the rounds' ratios; CPU = the client process's "
        "own user + system time, start-up included"
    )
    client_table(results, concurrency)
    starts = {client: startup(options, client) for client in CPU_CLIENTS}
    print(
        "start-up alone (header-only input, nothing sent; the median of 3), and CPU per "
        "request without it:"
    )
    rows = []
    net: dict[str, float] = {}
    for client in CPU_CLIENTS:
        cpu = median(column(results[client], "cpu_seconds"))
        net[client] = (cpu - starts[client]["cpu_seconds"]) * 1000 / persons
        rows.append(
            [
                client,
                f"{starts[client]['process_seconds']:.2f}",
                f"{starts[client]['cpu_seconds']:.2f}",
                f"{starts[client]['max_rss_mb']:.0f}",
                f"{net[client]:.3f}",
            ]
        )
    table(["client", "start-up s", "start-up CPU s", "start-up RSS MB", "CPU ms/req net"], rows)
    run_ratio, process_ratio = throughput_ratios(results, target=0.85, goal=1.0)
    cpu_ratio, _ = ratio(results, "cpu_ms_per_request")
    print(f"CPU per request thumbsweep/baseline: {cpu_ratio:.3f}")
    lean_run, lean_process = throughput_ratios(
        results, LEAN_THROUGHPUT_TARGET, LEAN_THROUGHPUT_GOAL, against="lean"
    )
    lean_cpu, lean_cpu_pairs = ratio(results, "cpu_ms_per_request", against="lean")
    lean_net = net["thumbsweep"] / net["lean"]
    print(
        f"CPU per request thumbsweep/lean: {lean_cpu:.3f} {runs_text(lean_cpu_pairs, 3)}  "
        f"target <= {LEAN_CPU_TARGET}, goal <= {LEAN_CPU_GOAL}: "
        f"{verdict(lean_cpu, LEAN_CPU_TARGET, LEAN_CPU_GOAL, higher_is_better=False)}; "
        f"without start-up {lean_net:.3f}"
    )
    scale_note(options)
    return {
        "persons": persons,
        "concurrency": concurrency,
        "ratio_run": run_ratio,
        "ratio_process": process_ratio,
        "ratio_cpu_per_request": cpu_ratio,
        "lean_ratio_run": lean_run,
        "lean_ratio_process": lean_process,
        "lean_ratio_cpu_per_request": lean_cpu,
        "lean_ratio_cpu_per_request_net": lean_net,
        "startup": starts,
        "runs": results,
    }
