# The two commands of the README: `make run` and `make test`. Both install what they need.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint

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

# PostgreSQL tests run on a throwaway cluster (.ci/with-postgres), or are reported skipped.
test: lint
	./.ci/with-postgres $(BIN)/pytest -rs --cov --cov-report=term
