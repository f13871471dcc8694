# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The C scanner is compiled by the install: a change to it or to setup.py reinstalls.
$(STAMP): pyproject.toml setup.py src/indicia/matching/_ecs_scan.c | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/indicia demo --intel demo/sunburst/Indicator_Release_NBIs.csv --intel demo/sunburst/Indicator_Release_Hashes.csv

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench setup.py
	$(BIN)/ruff check src tests bench setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench-quick: $(STAMP)
	$(BIN)/python bench/ingest.py --quick
	$(BIN)/python bench/match.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
