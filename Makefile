# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv chromium spamassassin lint bench prod-check translations translations-extract translations-update

# Catalogues are compiled here, not committed: every install, run and test starts from the .po.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

venv: $(VENV)/.installed translations

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

translations: $(COMPILED)

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics --input-file $< --output-file $@

# After changing a marked string: extract, then update the catalogues and translate what is new.
translations-extract: $(VENV)/.installed
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords lazy_gettext --sort-by-file \
	  --project newsletters --copyright-holder "The Newsroom" --msgid-bugs-address "" \
	  --header-comment "# Messages of the reader pages and mail; made by make translations-extract." \
	  --width 99 --output-file translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update --input-file translations/messages.pot --output-dir translations \
	  --width 99 --no-fuzzy-matching --ignore-obsolete

# Serve with console mail; the outbox worker runs beside the server and stops with it.
run: venv
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Serving on http://$(HOST):$(PORT) (mail is printed here by the outbox worker)"
	@SMTP_URL=$${SMTP_URL:-console} $(FLASK) outbox work & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT) --with-threads

# Import contracts first (.importlinter): a layer imported the wrong way fails the build.
test: venv
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# Browser tests drive Debian's Chromium (never a downloaded browser); needs root for apt-get.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Campaign mail is scored with SpamAssassin's local rules in the tests (they skip without it).
spamassassin:
	@command -v spamassassin >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamassassin >/dev/null; }

# The production set-up of docs/deploy.md on this machine (gunicorn, two outbox workers,
# PostgreSQL, Redis, an SMTP sink), walked through and stopped again; needs PostgreSQL and Redis.
prod-check: venv
	$(BIN)/python tools/prod_check.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/run.py
