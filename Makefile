# Quick start: `make demo` runs ocppscope, `make test` runs every test, `make test-fast` the pure
# ones. They set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint format bench docs clean

$(BIN)/ocppscope: pyproject.toml
	scripts/ensure-system-packages $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The whole lab, the seed guide's scenarios 1-5 in real time (about three minutes), the report;
# exit 1 when a scenario fails. ARGS are demo's options, e.g. ARGS="--speed 10 --keep-running".
demo: $(BIN)/ocppscope
	$(BIN)/ocppscope demo $(ARGS)

test: lint
	scripts/ensure-system-packages $(PYTHON) --test-tools
	$(BIN)/pytest

# The pure tests only (pytest -m unit: no sockets, processes or database; tests/tiers.py), in
# under a minute on a busy 2-core machine. The property tests try 100 examples each here, not
# their 300-400 (PROPERTY_EXAMPLES=400 make test-fast for all); `make test` runs every test in full.
PROPERTY_EXAMPLES ?= 100
test-fast: $(BIN)/ocppscope
	PROPERTY_EXAMPLES=$(PROPERTY_EXAMPLES) $(BIN)/pytest -m unit -q

# ruff (lint and format), the import contracts of pyproject.toml (the rooms, the pure engine) and
# mypy on the whole package ([tool.mypy] in pyproject.toml).
lint: $(BIN)/ocppscope
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(BIN)/ocppscope
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The option reference, from proxy/options.py (tests/test_options.py fails when it is stale).
docs: $(BIN)/ocppscope
	$(BIN)/python -m proxy.options > docs/options.md
	$(BIN)/python -m ocppscope.rules_doc > docs/rules.md

bench: $(BIN)/ocppscope
	$(BIN)/ocppscope bench engine

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis test-artifacts
