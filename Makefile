# LedgerFlow Schema. `make migrate` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install migrate test test-fast test-matrix lint format showmigrations runserver embedded-stop clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "Installing LedgerFlow Schema and its tools into $(VENV) (about a minute the first time)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,embedded]"
	@touch $@
	@echo "Installed into $(VENV)."

install: $(STAMP)  ## Create .venv and install the project with its dev tools and embedded server

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

test-matrix: $(STAMP)  ## Schema-level tests on PostgreSQL 14 to 18 (and 13 refused); see .ci/pg-matrix
	$(BIN)/python .ci/pg-matrix $(MAJORS)

lint: $(STAMP)  ## ruff, import layers, models/migrations agreement, hadolint on the Dockerfile
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	LEDGERFLOW_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/hadolint Dockerfile

format: $(STAMP)  ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

embedded-stop:  ## Stop the embedded PostgreSQL, if it runs
	@$(BIN)/python -c "from pathlib import Path; from ledgerflow.db import embedded; embedded.stop_and_say(Path.cwd())"

clean: embedded-stop  ## Remove the virtual environment and the embedded database
	rm -rf $(VENV) .pgembedded
