# RSN — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# OpenCTI's client library, to judge the STIX export with OpenCTI's own observable classes
# (tests/interop/test_opencti.py). pycti pins its dependencies exactly, so it gets a
# virtual environment of its own and never enters the project's.
PYCTI  := .venv-pycti
PYCTI_VERSION := 7.261026.0
PORT   ?= 8080
DATA   ?= rsn-demo
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck unit system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# capparselib (an independent CAP parser for the tests) pins an old lxml it does not need
	$(BIN)/python -m pip install --quiet --no-deps 'capparselib==0.6.6'
	touch $@ $(VENV)/.installed

$(PYCTI)/.pycti-$(PYCTI_VERSION):
	$(PYTHON) -m venv $(PYCTI)
	$(PYCTI)/bin/python -m pip install --quiet --upgrade pip
	$(PYCTI)/bin/python -m pip install --quiet 'pycti==$(PYCTI_VERSION)'
	touch $@

## make demo: a BIMSTEC demo node on http://127.0.0.1:$(PORT)/ (data in ./$(DATA))
demo: $(VENV)/.installed
	$(BIN)/rsn demo --port $(PORT) --data-dir $(DATA)

## make test: lint, type-check, then the whole suite on SQLite and PostgreSQL
test: $(VENV)/.test-installed $(PYCTI)/.pycti-$(PYCTI_VERSION) system-deps lint typecheck unit

# The PostgreSQL half of the suite starts its own throwaway cluster with Debian's
# initdb/pg_ctl unless RSN_TEST_PG_URL names a server; the browser tests drive
# Debian's Chromium. Both are installed with apt when missing (never a downloaded browser).
system-deps:
	@missing=""; \
	if [ -z "$$RSN_TEST_PG_URL" ] && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		missing="$$missing postgresql"; fi; \
	if [ ! -x /usr/bin/chromium ]; then missing="$$missing chromium"; fi; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages for the tests:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: $(VENV)/.test-installed
	$(BIN)/ruff check rsn tests bench tools
	$(BIN)/ruff format --check rsn tests bench tools

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

# The suite, then again with the node's clock a year ahead (RSN_CLOCK_OFFSET, honoured by
# this process and by every node and demo the tests start): a test that leans on a literal
# date fails the second run today, not next month. The second run is on SQLite only; the
# store does not change what a date means.
# Both runs are spread over pytest-xdist workers, one per core (TEST_WORKERS=0: one
# process); a module's tests that share a module-scoped fixture (a browser, a served node)
# stay on one worker (--dist loadgroup, grouped in tests/conftest.py).
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup
unit: $(VENV)/.test-installed $(PYCTI)/.pycti-$(PYCTI_VERSION)
	$(PYTEST)
	@echo "== the suite again, with the clock a year ahead (RSN_CLOCK_OFFSET=365d), on SQLite"
	RSN_CLOCK_OFFSET=365d $(PYTEST) -q -p no:cacheprovider -k "not postgresql"

## make bench: the speed targets (see docs/benchmarks.md)
bench: $(VENV)/.test-installed
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) $(PYCTI) .pytest_cache .mypy_cache .ruff_cache .hypothesis
