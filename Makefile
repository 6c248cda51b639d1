# The two commands that matter: `make run` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wallet

.PHONY: run test lint format bench clean install translations i18n-extract browser

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -f -d wallet/translations >/dev/null

## make i18n-extract: refresh the catalogue after changing user-facing strings
i18n-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs='.venv sandbox' -o wallet/translations/messages.pot .
	$(BIN)/pybabel update -i wallet/translations/messages.pot -d wallet/translations

## make run: migrate, seed demo data, start the sandbox (:5001) and the portal (:5000)
run: $(STAMP) translations
	$(BIN)/flask db upgrade
	$(BIN)/flask wallet seed-demo
	$(BIN)/python -m wallet.devserver

# Browser tests use Debian's chromium; install it when we can (root + apt), else they skip.
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/truetype/nanum ]; } || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null) \
	  || echo "note: chromium not installed; browser tests will be skipped"; }

## make test: the whole suite (SQLite; set WALLET_TEST_DATABASE_URL for PostgreSQL)
test: $(STAMP) translations browser
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
