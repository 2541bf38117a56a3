# LedgerFlow Schema. `make migrate` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_VERSION := 26.3

.DEFAULT_GOAL := help
.PHONY: help install lock migrate test test-fast test-matrix django-oracle coverage lint format showmigrations runserver embedded-stop clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# Every dependency comes pinned with its hash from the lock; the project itself goes on top.
$(STAMP): pyproject.toml requirements-dev.lock
	@echo "Installing LedgerFlow Schema and its tools into $(VENV) (about a minute the first time)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check  # a runtime dependency in pyproject.toml that the lock lacks (run make lock)
	@touch $@
	@echo "Installed into $(VENV)."

install: $(STAMP)  ## Create .venv and install the project, its dev tools and embedded server, from the lock

# UPGRADE=--upgrade re-resolves everything; UPGRADE="--upgrade-package ruff" just one package.
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--no-emit-package ledgerflow-schema --custom-compile-command "make lock" --quiet $(UPGRADE)
lock: $(STAMP)  ## Re-pin the dependencies in requirements.lock and requirements-dev.lock
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev --extra embedded --constraint requirements.lock -o requirements-dev.lock

migrate: $(STAMP)  ## Apply migrations to DATABASE_URL (or the embedded database when unset)
	LEDGERFLOW_ENV=$${LEDGERFLOW_ENV:-development} $(BIN)/python manage.py migrate

showmigrations: $(STAMP)  ## Show applied and pending migrations
	LEDGERFLOW_ENV=$${LEDGERFLOW_ENV:-development} $(BIN)/python manage.py showmigrations

runserver: $(STAMP)  ## Run the admin locally
	LEDGERFLOW_ENV=$${LEDGERFLOW_ENV:-development} $(BIN)/python manage.py runserver

# Workers for pytest-xdist: most of a test's time is spent waiting on PostgreSQL and on child
# processes, so more workers than cores still pays; each worker has its own test database.
TEST_WORKERS ?= 4

test: $(STAMP)  ## Lint, then run the whole test suite against real PostgreSQL, in parallel
	$(MAKE) --no-print-directory lint
	LEDGERFLOW_ENV=test $(BIN)/pytest -n $(TEST_WORKERS)

test-fast: $(STAMP)  ## Only the tests that start no process and create no database
	LEDGERFLOW_ENV=test $(BIN)/pytest -m "not process" -n $(TEST_WORKERS)

coverage: $(STAMP)  ## The test suite under coverage; the report lists ledgerflow/ line by line
	LEDGERFLOW_ENV=test $(BIN)/pytest -n $(TEST_WORKERS) --cov --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

django-oracle: $(STAMP)  ## Django's own migration tests against our executor and migrate command
	$(BIN)/python .ci/django-oracle

test-matrix: $(STAMP)  ## Schema-level tests on PostgreSQL 14 to 18 (and 13 refused); see .ci/pg-matrix
	$(BIN)/python .ci/pg-matrix $(MAJORS)

lint: $(STAMP)  ## ruff, import layers, one home per public name, models/migrations agreement, hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python .ci/duplicate-names
	LEDGERFLOW_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/hadolint Dockerfile

format: $(STAMP)  ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

embedded-stop:  ## Stop the embedded PostgreSQL, if it runs
	@$(BIN)/python -c "from pathlib import Path; from ledgerflow.db import embedded; embedded.stop_and_say(Path.cwd())"

clean: embedded-stop  ## Remove the virtual environment and the embedded database
	rm -rf $(VENV) .pgembedded
