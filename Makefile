# Quick start: `make demo` runs ocppscope, `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := proxy/samples/jeju-morning.jsonl

.PHONY: demo test lint format bench clean

$(BIN)/ocppscope: pyproject.toml
	scripts/ensure-system-packages $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The sample holds seeded defects, so `check` exits 1 (errors found); only 2 (bad input) fails here.
demo: $(BIN)/ocppscope
	$(BIN)/ocppscope check $(SAMPLE) || [ $$? -eq 1 ]

test: $(BIN)/ocppscope
	scripts/ensure-system-packages $(PYTHON) --browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(BIN)/ocppscope
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/ocppscope
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/ocppscope
	$(BIN)/ocppscope bench engine

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis test-artifacts
