# One command surface for people, CI and hooks.  `make test` and `make demo`
# bootstrap .venv on their own, so they work on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck pytest node bench bench-observe bench-lifecycle bench-web bench-server-cost bench-queue screenshots clean

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

# The Node.js client (clients/node): `npm ci` installs what its tests use
# (node-redis, typescript; package-lock.json is committed) and, as its
# prepare script, copies src/jobbertrack/_lua into clients/node/lua
# (scripts/copy-lua.mjs, the one place that copy is made; lua/ is not
# committed).  A change to the scripts only copies them again.  Without npm
# this says so and goes on: tests/node then skips, or fails under CI=true.
NODE_DIR := clients/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
NODE_LUA := $(NODE_DIR)/lua/manifest.json
HAVE_NPM := $(shell command -v npm 2>/dev/null)

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
ifneq ($(HAVE_NPM),)
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)
else
	@echo "make: npm not found: the Node.js client is not installed (tests/node skips; fails under CI=true)" >&2
endif

$(NODE_LUA): $(NODE_STAMP) $(NODE_DIR)/scripts/copy-lua.mjs $(wildcard src/jobbertrack/_lua/*.lua) src/jobbertrack/_scripts.py
ifneq ($(HAVE_NPM),)
	cd $(NODE_DIR) && npm run --silent copy-lua
endif

node: $(NODE_LUA)

pytest: $(STAMP) $(NODE_LUA)
	$(BIN)/pytest

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/jobbertrack demo

# The README's pictures of the dashboard (needs Debian's chromium).
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache $(NODE_DIR)/node_modules $(NODE_DIR)/lua

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

# BullMQ's row runs on Node: installed here when node and npm exist (the
# report says the row was skipped otherwise).
bench/bullmq/node_modules/.installed: bench/bullmq/package.json bench/bullmq/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix bench/bullmq --no-audit --no-fund --silent && touch $@; \
	else echo "bench: npm not found, BullMQ's row will be skipped"; fi

bench-server-cost: $(BENCH_STAMP)
	-@$(MAKE) --no-print-directory bench/bullmq/node_modules/.installed
	$(BIN)/python bench/server_cost.py

bench-queue: $(BENCH_STAMP)
	$(BIN)/python bench/workqueue.py

bench: bench-observe bench-server-cost bench-lifecycle bench-web bench-queue
