# Calango — the two Quick start commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install install-test run test lint format translations clean-venv bench bench-users

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Editable install: templates/, static/ and migrations/ are used from this folder.
install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(MAKE) --no-print-directory translations

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(MAKE) --no-print-directory translations

translations:
	$(BIN)/pybabel compile -d calango/translations

## make run: install, migrate the SQLite database in ~/.calango, serve on http://127.0.0.1:5000
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask run --host $(HOST) --port $(PORT)  # DESKTOP refuses a non-loopback host

## make test: install with test extras, Chromium when missing, then the whole suite.
## PostgreSQL tests run when a server answers on 127.0.0.1:5432 (or CALANGO_TEST_DATABASE_URL).
test: install-test
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: sudo apt-get install -y chromium (browser tests will be skipped)"; fi; }
	@if [ -z "$$CALANGO_TEST_DATABASE_URL" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  export CALANGO_TEST_DATABASE_URL=$(PG_TEST_URL); fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench:
	$(BIN)/python -m bench.run_all

## make bench-users: 50 signed-in users × 10 turns at human pace, gunicorn on PostgreSQL
## (BENCH_USERS_ARGS="--think 0.5 1" for a short run).
bench-users:
	$(BIN)/python -m bench.fifty_users $(BENCH_USERS_ARGS)
