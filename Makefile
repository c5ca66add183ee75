# OnTime. `make run` and `make test` each do all the set-up they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench-solomon bench-homberger clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ontime demo --serve

test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

unit: $(STAMP) browser
	$(BIN)/pytest -n 2 --dist loadgroup

bench-solomon: $(STAMP)
	$(BIN)/ontime bench vrptw --set solomon --time-limit 10 --jobs 2

bench-homberger: $(STAMP)
	$(BIN)/ontime bench vrptw --set homberger_200 --time-limit 30 --jobs 2

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
