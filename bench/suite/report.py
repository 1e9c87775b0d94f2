"""What the suite prints and draws: medians, ratios against the baseline, verdicts against the
targets, plain tables, and the concurrency sweep's log-log PNG."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from suite.runs import NAN, Figures, Options


def median(values: Sequence[float]) -> float:
    """The median of the values that are numbers (NaN if none is)."""
    kept = [v for v in values if not math.isnan(v)]
    return statistics.median(kept) if kept else NAN


def column(rows: Sequence[Figures], key: str) -> list[float]:
    """`key` of every row (a dotted key reads the emulator's stats)."""
    if key.startswith("emulator."):
        return [float(row["emulator"].get(key.split(".", 1)[1], NAN)) for row in rows]
    return [float(row[key]) for row in rows]


def median_cells(runs: Sequence[Figures], *columns: tuple[str, str]) -> list[str]:
    """The median of each (key, format spec) column of `runs`, formatted."""
    return [f"{median(column(runs, key)):{spec}}" for key, spec in columns]


def runs_text(values: Sequence[float], digits: int) -> str:
    """All runs, in brackets."""
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + "]"


def verdict(
    value: float, target: float | None, goal: float | None, higher_is_better: bool = True
) -> str:
    """'meets goal', 'meets target, misses goal', 'MISSES target' or, without a target,
    'misses goal'."""
    if math.isnan(value):
        return "no figure"

    def ok(limit: float) -> bool:
        return value >= limit if higher_is_better else value <= limit

    if goal is not None and ok(goal):
        return "meets goal"
    if target is None:
        return "misses goal"
    if ok(target):
        return "meets target, misses goal" if goal is not None else "meets target"
    return "MISSES target"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a plain table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in col) for col in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        cells = [f"{line[0]:<{widths[0]}}"]
        cells += [f"{cell:>{width}}" for cell, width in zip(line[1:], widths[1:], strict=True)]
        print("  ".join(cells).rstrip())


def client_table(results: dict[str, list[Figures]], concurrency: int) -> None:
    """Medians of each client's runs, all runs' run throughput in brackets."""
    header = [
        "client",
        "run req/s",
        "process req/s",
        "run s",
        "process s",
        "CPU s",
        "CPU ms/req",
        "mean in flight",
        "max in flight",
        "deleted",
        "exit",
        "all runs req/s",
    ]
    rows = []
    for client, runs in results.items():
        rows.append(
            [
                client,
                *median_cells(
                    runs,
                    ("run_per_second", ".0f"),
                    ("process_per_second", ".0f"),
                    ("run_seconds", ".2f"),
                    ("process_seconds", ".2f"),
                    ("cpu_seconds", ".2f"),
                    ("cpu_ms_per_request", ".3f"),
                ),
                f"{median(column(runs, 'emulator.mean_in_flight')):.1f}/{concurrency}",
                f"{max(column(runs, 'emulator.max_in_flight')):.0f}",
                f"{min(column(runs, 'emulator.deletes_applied')):.0f}",
                f"{max(column(runs, 'exit_code')):.0f}",
                runs_text(column(runs, "run_per_second"), 0),
            ]
        )
    table(header, rows)


def ratio(
    results: dict[str, list[Figures]], key: str, against: str = "baseline"
) -> tuple[float, list[float]]:
    """thumbsweep / `against`: the median of the rounds' ratios, and each round's ratio.

    The two runs of a round ran minutes apart at most, on the same machine state; the median
    of those paired ratios is steadier on a shared machine than the ratio of two medians taken
    over different moments.
    """
    ours, theirs = column(results["thumbsweep"], key), column(results[against], key)
    pairs = [a / b if b else NAN for a, b in zip(ours, theirs, strict=True)]
    return median(pairs), pairs


def throughput_ratios(
    results: dict[str, list[Figures]], target: float, goal: float, against: str = "baseline"
) -> tuple[float, float]:
    """Print thumbsweep / `against` throughput over run walls (against `target` and `goal`)
    and over process walls; return both ratios."""
    run_ratio, run_pairs = ratio(results, "run_per_second", against)
    process_ratio, process_pairs = ratio(results, "process_per_second", against)
    print(
        f"throughput thumbsweep/{against} (run walls): {run_ratio:.3f} "
        f"{runs_text(run_pairs, 3)}  target >= {target}, goal >= {goal}: "
        f"{verdict(run_ratio, target, goal)}"
    )
    print(
        f"throughput thumbsweep/{against} (process walls): {process_ratio:.3f} "
        f"{runs_text(process_pairs, 3)}"
    )
    return run_ratio, process_ratio


def scale_note(options: Options) -> None:
    """Say that the targets are for --scale 1 only."""
    if options.scale != 1:
        print(f"  (--scale {options.scale:g}: sizes are scaled, so the targets do not apply)")


def plot_sweep(points: list[Figures], latency: float, options: Options) -> str | None:
    """Save the sweep as a log-log PNG; None (and a message) without matplotlib."""
    try:
        import matplotlib

        # A file backend: the suite runs headless and only ever saves the figure.
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[bench]')")
        return None
    concurrency = [p["concurrency"] for p in points]
    figure, axes = plt.subplots(figsize=(7, 5), dpi=120)
    axes.plot(
        concurrency,
        [p["ideal_per_second"] for p in points],
        "--",
        color="grey",
        label=f"ideal C/L (L = {latency:g} ms)",
    )
    axes.plot(
        concurrency,
        [p["run_per_second"] for p in points],
        "o-",
        color="tab:blue",
        label="thumbsweep, measured",
    )
    axes.set_xscale("log", base=2)
    axes.set_xticks(concurrency, [str(c) for c in concurrency])
    axes.set_yscale("log")
    axes.set_xlabel("concurrency C (requests in flight)")
    axes.set_ylabel("throughput (requests/s)")
    title = f"thumbsweep throughput vs concurrency, emulator latency {latency:g} ms"
    if options.scale != 1:
        title += f" (--scale {options.scale:g})"
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    options.plot.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(options.plot)
    plt.close(figure)
    print(f"plot: {options.plot}")
    return str(options.plot)
