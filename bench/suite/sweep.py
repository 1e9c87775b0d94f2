"""Benchmark 5, the concurrency sweep: thumbsweep at 50 ms latency for C = 1, 2, 4, ..., 256,
against the ideal C/L, as a table and a log-log plot (needs matplotlib)."""

from __future__ import annotations

import sys

from suite.report import plot_sweep, scale_note, table
from suite.runs import NAN, Figures, Options, networked_run


def concurrency_sweep(options: Options) -> Figures:
    """thumbsweep's throughput for C = 1 ... 256 at 50 ms latency, against C/L."""
    latency = 50.0
    print(
        f"\n== concurrency sweep: thumbsweep at latency {latency:g} ms, "
        "persons = max(200, 3 s x C/L) per point =="
    )
    points = []
    for power in range(9):
        concurrency = 2**power
        ideal = concurrency / (latency / 1000)
        # About three seconds of sending per point at the ideal rate (at least 200 persons), so
        # every point runs long enough for its ramp-up and its tail to weigh little.
        persons = options.size(max(200, round(ideal * 3)))
        run = networked_run(
            options, "thumbsweep", persons, latency, concurrency, f"sweep-{concurrency}"
        )
        print(f"  C={concurrency}: {run['last_stderr_line']}", file=sys.stderr)
        points.append({"concurrency": concurrency, "ideal_per_second": ideal, **run})
    print("one run per point; req/s = persons / the run's own wall")
    table(
        [
            "C",
            "persons",
            "ideal req/s",
            "req/s",
            "efficiency",
            "mean in flight",
            "process req/s",
            "CPU ms/req",
            "exit",
        ],
        [
            [
                f"{p['concurrency']}",
                f"{p['persons']}",
                f"{p['ideal_per_second']:.0f}",
                f"{p['run_per_second']:.0f}",
                f"{p['run_per_second'] / p['ideal_per_second']:.3f}",
                f"{p['emulator'].get('mean_in_flight', NAN):.1f}",
                f"{p['process_per_second']:.0f}",
                f"{p['cpu_ms_per_request']:.3f}",
                f"{p['exit_code']}",
            ]
            for p in points
        ],
    )
    scale_note(options)
    plotted = plot_sweep(points, latency, options)
    return {"latency_ms": latency, "plot": plotted, "points": points}
