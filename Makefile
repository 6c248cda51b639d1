# The two commands that matter: `make run` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
export FLASK_APP := wallet

.PHONY: run test lint format bench clean install translations i18n-extract browser npm

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) $(NPM_STAMP)

# Toss's official SDK loaders and typings (package.json, pinned by package-lock.json): the
# browser contract tests in tests/sdk load them unmodified. Without npm those tests skip.
# Like `browser`: npm comes from apt when we can install it (root + apt).
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null); } || true
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $(NPM_STAMP); \
	else echo "note: npm not installed; the SDK contract tests (tests/sdk) will be skipped"; fi

npm: $(NPM_STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -f -d wallet/translations >/dev/null

## make i18n-extract: refresh the catalogue after changing user-facing strings
i18n-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs='.venv sandbox' -o wallet/translations/messages.pot .
	$(BIN)/pybabel update -i wallet/translations/messages.pot -d wallet/translations

## make run: migrate, seed demo data, start the sandbox (:5001) and the portal (:5000)
run: $(STAMP) $(NPM_STAMP) translations
	$(BIN)/flask db upgrade
	$(BIN)/flask wallet seed-demo
	$(BIN)/python -m wallet.devserver

# Browser tests use Debian's chromium; install it when we can (root + apt), else they skip.
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/truetype/nanum ]; } || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null) \
	  || echo "note: chromium not installed; browser tests will be skipped"; }

## make test: the whole suite (SQLite; set WALLET_TEST_DATABASE_URL for PostgreSQL),
## one pytest-xdist worker per core, a test file per worker at a time.
PYTEST_WORKERS ?= auto
test: $(STAMP) $(NPM_STAMP) translations browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache test-artifacts
