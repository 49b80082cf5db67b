# The two commands: `make run` and `make test`. Everything else is what they call.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint audit translations compile-translations services worker clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Extract the messages of code and templates and merge them into every catalogue.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	    --project survey_app -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -w 100 --no-fuzzy-matching

compile-translations: install
	$(BIN)/pybabel compile -d translations --use-fuzzy=false 2>/dev/null || $(BIN)/pybabel compile -d translations

run: install compile-translations
	$(BIN)/survey-app db upgrade heads
	$(BIN)/survey-app demo --if-empty
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(BIN)/survey-app run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

services:
	bash scripts/ensure-services.sh

# The whole suite: PostgreSQL + Redis, and at the same time the embedded path on SQLite with the
# in-process queue (scripts/run-tests.sh).
# Known vulnerabilities in the installed packages fail; an unreachable vulnerability service
# only warns (loudly), see scripts/audit_deps.py.
audit: install
	$(BIN)/python scripts/audit_deps.py

test: install compile-translations lint audit services
	BIN=$(BIN) scripts/run-tests.sh

worker: install
	$(BIN)/survey-app worker

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
