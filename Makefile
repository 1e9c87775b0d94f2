# thumbsweep: `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint demo clean bench bench-throttle bench-resume bench-report lock

# Create the venv, or refresh it whenever the dependencies in pyproject.toml change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The bench extra (matplotlib) on top of the test venv, refreshed like it.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

lint: venv
	$(BIN)/ruff check worker tests bench
	$(BIN)/ruff format --check worker tests bench
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet deploy/k8s/*.yaml

test: lint
	$(BIN)/pytest

demo: venv
	bash examples/demo.sh

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache *.egg-info

# Issue 12's throttling scenarios against emulated token-bucket gateways (about three minutes);
# redraws docs/benchmarks-throttle.png.
bench-throttle: $(BENCH_STAMP)
	$(BIN)/python bench/throttle.py --plot docs/benchmarks-throttle.png

# Issue 9's --resume targets: `run --resume --dry-run` on a 1M-record ledger against the same
# run without --resume, for a JSONL and a CSV ledger (about three minutes, ~0.7 GB of scratch).
bench-resume: venv
	$(BIN)/python bench/resume.py --csv

# Issue 13's report figures: `thumbsweep report` time and peak RSS over a synthetic 1M- and
# 10M-record ledger (a few minutes, ~3.5 GB of scratch in $TMPDIR).
bench-report: venv
	$(BIN)/python bench/report.py --formats json,csv

# The performance suite (bench/perf.py: latency, cpu, memory, curl, sweep; a few minutes on two
# cores): prints its tables and writes docs/benchmarks-concurrency.png; then the uvloop extra's
# gain on benchmark 2's setup (bench/uvloop_check.py, about a minute).
bench: $(BENCH_STAMP)
	$(BIN)/python bench/perf.py
	$(BIN)/python bench/uvloop_check.py

# Regenerate the hash-pinned lock file of the runtime dependencies and the uvloop extra (used by
# the Dockerfile).
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip-tools
	.lock-venv/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links --extra uvloop --output-file requirements.lock pyproject.toml
