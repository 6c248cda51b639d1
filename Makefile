# The two commands that matter: `make run` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wallet

.PHONY: run test lint format bench clean install translations

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -q -d wallet/translations 2>/dev/null || true

## make run: migrate, seed demo data, start the sandbox (:5001) and the portal (:5000)
run: $(STAMP) translations
	$(BIN)/flask db upgrade
	$(BIN)/flask wallet seed-demo
	$(BIN)/python -m wallet.devserver

## make test: the whole suite (SQLite; set WALLET_TEST_DATABASE_URL for PostgreSQL)
test: $(STAMP) translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
