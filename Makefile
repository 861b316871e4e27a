# Pålegg: `make run` for a demo server, `make test` for the whole suite, `make oidc-demo` for the
# demo with OpenID Connect login at a local test provider.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run oidc-demo demo-data test install messages lint bench clean
.PHONY: migrate

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Migrations as the tables' owner (DATABASE_OWNER_URL), then the runtime role (the user in
# DATABASE_URL, or PALEGG_DB_RUNTIME_ROLE) is given its privileges: it does not own the tables, so
# it cannot truncate them or disable their triggers. Without DATABASE_OWNER_URL (SQLite, the demo)
# it only migrates.
migrate: install
	@if [ -z "$$DATABASE_OWNER_URL" ]; then \
		$(BIN)/python manage.py migrate --no-input; \
	else \
		role="$$($(BIN)/python manage.py grant_runtime_role --print-role)" && \
		test -n "$$role" || { echo "No runtime role: set DATABASE_URL or PALEGG_DB_RUNTIME_ROLE." >&2; exit 1; }; \
		DATABASE_URL="$$DATABASE_OWNER_URL" $(BIN)/python manage.py migrate --no-input && \
		DATABASE_URL="$$DATABASE_OWNER_URL" $(BIN)/python manage.py grant_runtime_role "$$role"; \
	fi

demo-data: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_reference_data
	$(BIN)/python manage.py load_demo

run: demo-data
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The demo with a local OpenID Connect test provider on 127.0.0.1:9400 (no network needed): a
# HelseID-style button (the demo GP, found by HPR number) and an Entra-style one (the demo
# caseworker). Ctrl-C stops both servers.
oidc-demo: demo-data
	$(BIN)/python manage.py oidc_demo

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
