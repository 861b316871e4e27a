# Pålegg: `make run` for a demo server, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test install messages lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_reference_data
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# One worker per core. Plain load balancing keeps pytest-django's order on each worker (tests that
# flush the database, and with it the seeded catalog, run after the rest).
test: install
	$(BIN)/python -m pytest -n auto --dist load

messages: install
	$(BIN)/python manage.py makemessages --locale nb --ignore '.venv/*' --ignore 'bench/*' --no-obsolete
	$(BIN)/python manage.py compilemessages --locale nb --ignore '.venv/*'

lint: install
	$(BIN)/ruff check .

# Times the GP register import (10,000 synthetic GPs). Uses a throwaway SQLite database, or the
# database in DATABASE_URL (e.g. a scratch PostgreSQL database) when that is set.
bench: install
	@export PALEGG_VAR_DIR="$$(mktemp -d)"; trap 'rm -rf "$$PALEGG_VAR_DIR"' EXIT; \
	$(BIN)/python manage.py migrate --no-input --verbosity 0 && \
	$(BIN)/python bench/import_gp_register.py

clean:
	rm -rf $(VENV) var .pytest_cache
