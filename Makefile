# One command surface for people, CI and hooks.  `make test` and `make demo`
# bootstrap .venv on their own, so they work on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Every package `make test` and `make demo` use comes from requirements/dev.lock:
# exact versions with hashes, for every platform and Python >= 3.10 (uv's
# universal resolution).  A change of the lock rebuilds .venv from nothing, so
# no package of an older lock lingers.  The project itself is then installed
# editable *without* reaching an index: if pyproject.toml asks for something the
# lock lacks, this fails and says to run `make lock`.
LOCK := requirements/dev.lock
LOCK_INPUTS := pyproject.toml requirements/tools.in
UV_COMPILE = $(BIN)/uv pip compile $(LOCK_INPUTS) --quiet --extra dev --universal \
	--python-version 3.10 --generate-hashes --custom-compile-command "make lock"

.PHONY: scripts test test-fast test-lowest test-newest lock demo lint typecheck pytest node bench bench-observe bench-lifecycle bench-web bench-server-cost bench-queue bench-finding bench-groups screenshots clean

$(VENV)/.locked: $(LOCK)
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r $(LOCK)
	touch $@

$(STAMP): $(VENV)/.locked pyproject.toml
	$(BIN)/python -m pip install --quiet --no-index --no-build-isolation -e '.[dev]' \
		|| { echo "make: $(LOCK) does not satisfy pyproject.toml: run 'make lock'" >&2; exit 1; }
	touch $@

# Refresh the locks (run it after changing a dependency in pyproject.toml, and
# when you mean to move to newer releases: then run `make test-newest` first).
# requirements/lowest.lock holds the oldest releases pyproject.toml allows for
# every direct dependency, for `make test-lowest`.
lock: | $(VENV)/.locked
	$(UV_COMPILE) -o $(LOCK)
	$(UV_COMPILE) --resolution lowest-direct -o requirements/lowest.lock
	@echo "make: locks refreshed; run 'make test' (it rebuilds .venv) and commit requirements/"

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy

# The Node.js client (clients/node): `npm ci` installs what its tests use
# (node-redis, typescript; package-lock.json is committed), then `npm run
# copy-lua` copies the assembled scripts (src/jobbertrack/_lua/assembled) into
# clients/node/lua (scripts/copy-lua.mjs, the one place that copy is made; lua/ is not
# committed; `npm pack` runs it too, as prepack: not as an install script,
# which npm 11 warns about where the package is installed).  A change to
# the scripts only copies them again.  Without npm
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

$(NODE_LUA): $(NODE_STAMP) $(NODE_DIR)/scripts/copy-lua.mjs $(wildcard src/jobbertrack/_lua/assembled/*)
ifneq ($(HAVE_NPM),)
	cd $(NODE_DIR) && npm run --silent copy-lua
endif

node: $(NODE_LUA)

# After a change of a script in src/jobbertrack/_lua, of _lib.lua or of the
# state table: rebuild _states.lua and the artifacts in _lua/assembled that
# Python and Node load (the one assembler; a test says when they are stale).
scripts: $(STAMP)
	$(BIN)/python -m jobbertrack._assemble
	$(MAKE) node

pytest: $(STAMP) $(NODE_LUA)
	$(BIN)/pytest

test: lint typecheck pytest

# While iterating: everything but the tests marked slow (`make test` runs all).
test-fast: $(STAMP) $(NODE_LUA)
	$(BIN)/pytest -m "not slow"

# The whole suite on the edges of the declared range (README, "Tested
# versions"), each in .venv-lowest/ or .venv-newest/: run both before saying a
# change is done.  test-lowest takes the oldest Python found (3.10 if any).
LOWEST_PY ?= $(firstword $(foreach p,python3.10 $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10),\
	$(if $(shell $(p) -c 'import sys; print(sys.version_info[:2] == (3, 10))' 2>/dev/null | grep True),$(p))) $(PY))

test-lowest:
	bash requirements/matrix.sh lowest $(LOWEST_PY)

test-newest:
	bash requirements/matrix.sh newest $(PY)

demo: $(STAMP)
	$(BIN)/jobbertrack demo

# The README's pictures of the dashboard (needs Debian's chromium).
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .venv-lowest .venv-newest .venv-arq .mypy_cache .pytest_cache .ruff_cache $(NODE_DIR)/node_modules $(NODE_DIR)/lua

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

# arq pins redis-py < 6 and Celery (kombu 5.7) needs >= 6.4: arq gets a
# virtualenv of its own, .venv-arq (the `bench-arq` extra), which
# bench/workqueue.py runs arq's producer and workers from.
ARQ_STAMP := .venv-arq/.installed

$(ARQ_STAMP): pyproject.toml
	$(PY) -m venv .venv-arq
	.venv-arq/bin/python -m pip install --quiet -e '.[bench-arq]'
	touch $@

bench-queue: $(BENCH_STAMP)
	-@$(MAKE) --no-print-directory bench/bullmq/node_modules/.installed
	-@$(MAKE) --no-print-directory $(ARQ_STAMP)
	$(BIN)/python bench/workqueue.py

# Issue 26: a filtered list page at 1,000 vs 1,000,000 jobs, and a lifecycle
# with two tags vs none (fills 1M jobs: a few minutes, ~2 GB of Redis memory).
bench-finding: $(BENCH_STAMP)
	$(BIN)/python bench/finding.py

bench-groups: $(BENCH_STAMP)
	$(BIN)/python bench/groups.py

bench: bench-observe bench-server-cost bench-lifecycle bench-web bench-queue bench-finding
