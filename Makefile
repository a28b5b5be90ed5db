# The two commands of the README: `make run` and `make test`. Both install what they need.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test coverage lint docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/taskrouterx serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy docs/examples

# The documentation site (docs/, the README as its home, the client and worker reference
# from their docstrings) into site/; any warning (a broken link, an unknown name) fails it.
docs: install
	$(BIN)/mkdocs build --quiet -f .ci/mkdocs.yml

# PostgreSQL tests run on a throwaway cluster (.ci/with-postgres), or are reported skipped;
# the dashboard's browser tests run in /usr/bin/chromium, or are reported skipped. The tests
# run on WORKERS processes (a file per worker at a time), then those marked `serial` in one
# process (the contract fuzzer: under xdist schemathesis runs only one of its operations).
# Three workers on two cores: the tests wait on servers, browsers and subprocesses about
# half the time, so two workers leave the cores half idle (four crowd the browser tests).
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: every test process and
# every server a test starts would otherwise compile the same modules again (and pytest
# rewrite every test module's asserts again: 3 of a process's 7 s of collection).
# `make coverage` runs the same tests measuring line coverage (about a third slower).
CHROMIUM ?= /usr/bin/chromium
WORKERS  ?= 3
COV      ?=
COV_REST ?=

test: lint docs
	@test -x $(CHROMIUM) || echo "NOTE: no Chromium at $(CHROMIUM): the dashboard's browser tests will be SKIPPED (apt-get install chromium, or run .ci/run)"
	env -u PYTHONDONTWRITEBYTECODE TASKROUTERX_TEST_CHROMIUM=$(CHROMIUM) ./.ci/with-postgres sh -c '\
	  $(BIN)/pytest -rs -n $(WORKERS) --dist loadfile -m "not serial" --durations=20 $(COV) && \
	  $(BIN)/pytest -rs -m serial $(COV_REST)'
	@test -x $(CHROMIUM) || echo "NOTE: the dashboard's browser tests were SKIPPED: no Chromium at $(CHROMIUM)"

coverage:
	$(MAKE) test COV="--cov --cov-report=" COV_REST="--cov --cov-append --cov-report=term"
