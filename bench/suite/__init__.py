"""The performance suite behind `bench/perf.py`: one module per benchmark, their runs, a report."""
