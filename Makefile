# angka: run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
# Local runs are development runs unless the environment says otherwise.
export DEBUG ?= true

.PHONY: help venv install install-test run test lint migrate-check bench-import clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) requirements.lock pyproject.toml
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed ## Create .venv and install the locked dependencies

install-test: install ## Install what the tests need (same lock file)

run: install ## Set up everything and serve the site at http://127.0.0.1:8000
	$(MANAGE) migrate --no-input
	$(MANAGE) load_demo --with-staff
	bash scripts/serve.sh

test: install-test ## ruff, makemigrations --check and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run
	bash scripts/check_services.sh
	$(BIN)/pytest

lint: install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-import: install ## Benchmark the validated import of 1,000,000 rows against COPY (PostgreSQL)
	$(PY) -m bench.bench_import

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var staticfiles
