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
# Runs a command with DATABASE_URL and REDIS_URL, starting project-local PostgreSQL and
# Redis (installed into .venv by pip, data in var/) for whichever is unset.
WITH_SERVICES := $(PY) -m config.services
MYPY := $(BIN)/mypy stats publications
# The accessibility checker the browser tests inject (tests/browser/test_phone.py).
AXE_CORE := 4.11.0

.PHONY: help venv install install-test install-browser install-varnish run test lint typecheck migrate-check bench-import bench-api bench-recompute bench-pages bench-load bench-release-day bench-compare clean

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

run: install ## Migrate, load the demo, serve web + Celery worker + beat on PORT (8000)
	@$(WITH_SERVICES) bash scripts/serve.sh

install-browser: ## Install Debian's chromium and axe-core (npm, into node_modules/) for the browser tests
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing chromium (Debian package) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@if [ ! -f node_modules/axe-core/axe.min.js ] || ! grep -q '"version": "$(AXE_CORE)"' node_modules/axe-core/package.json; then \
		echo "Installing axe-core $(AXE_CORE) (npm) for the accessibility browser test"; \
		npm install --no-save --no-package-lock --no-audit --no-fund axe-core@$(AXE_CORE); \
	fi

install-varnish: ## Install Debian's Varnish and its modules (xkey) for the HTTP cache tests (tests/deploy), and wrk for the load generator's tests (tests/bench)
	@if [ ! -x /usr/sbin/varnishd ] || [ ! -e /usr/lib/x86_64-linux-gnu/varnish/vmods/libvmod_xkey.so ] || ! command -v wrk >/dev/null 2>&1; then \
		echo "Installing varnish, varnish-modules and wrk (Debian packages) for the HTTP cache and load tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq varnish varnish-modules wrk; \
	fi

test: install-test install-browser install-varnish ## ruff, mypy, makemigrations --check and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(WITH_SERVICES) --redis-db 1 bash -c '$(MYPY) && $(MANAGE) makemigrations --check --dry-run \
		&& bash scripts/check_services.sh && $(BIN)/pytest'

# mypy's Django plugin imports the settings, which need DATABASE_URL and REDIS_URL: it runs
# under the launcher like the tests (nothing connects to either).
typecheck: install-test ## mypy on stats and publications (configuration in pyproject.toml)
	$(WITH_SERVICES) $(MYPY)

lint: install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-import: install ## Benchmark the validated import of 1,000,000 rows against COPY (PostgreSQL)
	$(PY) -m bench.bench_import

bench-api: install ## Load-test the read API (gunicorn) against Datasette on 2,000,000 rows, uncached and behind one Varnish (PostgreSQL, Redis, wrk, varnish)
	@for tool in wrk:wrk varnishd:varnish; do \
		if ! command -v $${tool%%:*} >/dev/null 2>&1; then \
			echo "Installing $${tool#*:} (Debian package) for bench-api"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $${tool#*:}; \
		fi; \
	done
	$(PY) -m bench.bench_api $(BENCH_ARGS)

bench-recompute: install ## Benchmark derived recompute and one new month against SQL (PostgreSQL)
	$(PY) -m bench.bench_recompute

bench-pages: install ## Time to first byte of the public pages, page cache warm and cold, on 2,000,000 rows (PostgreSQL, Redis)
	$(PY) -m bench.bench_pages

bench-load: install ## 60 s at 64 connections (bench-api's JSON mix, home and indicator page) with a release published half-way: errors, p50/p99, ETag/body consistency (PostgreSQL, Redis, wrk)
	$(PY) -m bench.bench_load

bench-release-day: install ## The release instant on 2,000,000 rows: 256 clients through Varnish, one streaming replica, a release published at second 20 (PostgreSQL binaries, Redis, wrk, varnish)
	@if ! command -v wrk >/dev/null 2>&1; then \
		echo "Installing wrk (Debian package) for bench-release-day"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	fi
	@$(MAKE) --no-print-directory install-varnish
	$(PY) -m bench.bench_release_day $(BENCH_ARGS)

bench-compare: ## Benchmarks side by side with BASE=<rev> (BENCHES="import recompute pages api")
	bash bench/side_by_side.sh $(BASE) $(BENCHES)

clean: ## Stop the project-local servers; remove the virtualenv and local data (var/)
	@if [ -x $(PY) ]; then $(WITH_SERVICES) --stop; fi
	rm -rf $(VENV) var staticfiles
