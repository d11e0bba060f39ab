# Two commands on a fresh clone: `make run` and `make test`. Both bootstrap .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The main job: migrate the embedded SQLite database, load the example plan into an empty
# log, print a feed to subscribe to, then run the daemon and the feed server (Ctrl-C stops).
run: $(STAMP)
	$(BIN)/consultations db upgrade
	$(BIN)/consultations run --seed examples/tm-az-cooperation.toml --demo-feed

lint: $(STAMP)
	$(BIN)/ruff check src migrations tests
	$(BIN)/ruff format --check src migrations tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

BENCH_SIZE ?= full
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

# Benchmarks against eventsourcing and raw sqlite3/psycopg (docs/performance.md).
# BENCH_SIZE=full (growth to 1M events) | quick (to 100k, ~6 min) | smoke (seconds)
bench: $(BENCH_STAMP)
	BENCH_SIZE=$(BENCH_SIZE) $(BIN)/python -m benchmarks

# A longer chaos run (random commands, kill -9 of writers and daemons) than `make test` does.
soak: $(STAMP)
	CONSULTATIONS_SOAK=1 $(BIN)/pytest -q -s tests/reliability/test_chaos.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
