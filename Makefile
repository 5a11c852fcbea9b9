# One command surface for people, CI and hooks.  `make test` and `make demo`
# bootstrap .venv on their own, so they work on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck pytest bench bench-observe bench-lifecycle bench-web bench-queue screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/jobbertrack demo

# The README's pictures of the dashboard (needs Debian's chromium).
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# Benchmarks (never part of `make test`): the bench extra adds RQ, Celery,
# hiredis and pyinstrument.  bench-observe runs first: the lifecycle report
# quotes its flat-cost ratio.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench-observe: $(BENCH_STAMP)
	$(BIN)/python bench/observe.py

bench-lifecycle: $(BENCH_STAMP)
	$(BIN)/python bench/lifecycle.py

bench-web: $(BENCH_STAMP)
	$(BIN)/python bench/web.py

bench-queue: $(BENCH_STAMP)
	$(BIN)/python bench/workqueue.py

bench: bench-observe bench-lifecycle bench-web bench-queue
