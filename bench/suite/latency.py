"""Benchmark 1, latency-bound: 50 ms latency, concurrency 64, thumbsweep against the baseline.

Targets: throughput ratio >= 0.97 (goal >= 1.0); efficiency against the ideal C/L; the
emulator's mean requests in flight (goal >= 63 of 64).
"""

from __future__ import annotations

from suite.report import client_table, column, median, scale_note, throughput_ratios, verdict
from suite.runs import Figures, Options, alternate_networked


def latency_bound(options: Options) -> Figures:
    """50 ms latency, concurrency 64: thumbsweep vs the baseline."""
    persons, concurrency, latency = options.size(12_800), 64, 50.0
    ideal = concurrency / (latency / 1000)
    print(
        f"\n== latency-bound: {persons} single-id persons, latency {latency:g} ms, "
        f"concurrency {concurrency}, ideal C/L = {ideal:.0f} requests/s =="
    )
    results = alternate_networked(options, persons, latency, concurrency, "latency")
    print(
        f"{options.runs} runs each, alternating; medians, and ratios as the median of the "
        "rounds' ratios (req/s = persons / wall; 'run' excludes interpreter start-up, "
        "'process' includes it)"
    )
    client_table(results, concurrency)
    run_ratio, process_ratio = throughput_ratios(results, target=0.97, goal=1.0)
    ours = median(column(results["thumbsweep"], "run_per_second"))
    in_flight = median(column(results["thumbsweep"], "emulator.mean_in_flight"))
    print(f"thumbsweep efficiency = {ours:.0f} / {ideal:.0f} = {ours / ideal:.3f}")
    print(
        f"thumbsweep mean in flight {in_flight:.1f} of {concurrency}, goal >= "
        f"{concurrency - 1}: {verdict(in_flight, None, concurrency - 1)}"
    )
    scale_note(options)
    return {
        "persons": persons,
        "latency_ms": latency,
        "concurrency": concurrency,
        "ideal_per_second": ideal,
        "ratio_run": run_ratio,
        "ratio_process": process_ratio,
        "efficiency": ours / ideal,
        "runs": results,
    }
