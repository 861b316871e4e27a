# Pålegg: `make run` for a demo server, `make test` for the whole suite, `make oidc-demo` for the
# demo with OpenID Connect login at a local test provider.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run oidc-demo demo-data test install messages lint bench bench-import clean
.PHONY: serve migrate backup backup-drill

# Development mode for the demo, its data, the translations and the benchmark: plain http on
# loopback and a secret generated into var/ (config/settings.py). The test suite sets it itself
# (tests/settings.py); `make serve` and a server run without it.
run oidc-demo demo-data messages bench bench-import: export PALEGG_DEVELOPMENT := 1
# The demo's server log is read by a person in a terminal, not by a log collector.
run oidc-demo: export PALEGG_LOG_FORMAT ?= console
# A backup of the demo's own SQLite database (no DATABASE_URL) is a local try as well; on a
# server the environment file says everything.
backup backup-drill: export PALEGG_DEVELOPMENT := $(if $(DATABASE_URL),$(PALEGG_DEVELOPMENT),1)

# --no-compile: pip would byte-compile every installed file (botocore's alone are thousands),
# some 40 s of a fresh install; Python compiles the modules it imports when it first does.
# The front-end packages (package.json) come from the npm registry, exactly as the lockfile
# says (npm ci): axe-core for the accessibility checks of the browser tests.
$(STAMP): pyproject.toml package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev]"
	npm ci --no-audit --no-fund --loglevel=error
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

# Python's bytecode cache, also where the environment turns it off (PYTHONDONTWRITEBYTECODE):
# without it every test process (two workers, their controller, the servers and commands the
# tests start) compiles Django and the libraries from source again, and pytest rewrites every
# test module's asserts again: some 8 s of each process's start. __pycache__ is ignored by git.
test: export PYTHONDONTWRITEBYTECODE :=

# One worker per core. Plain load balancing keeps pytest-django's order on each worker (tests that
# flush the database, and with it the seeded catalog, run after the rest).
test: install
	$(BIN)/python -m pytest -n auto --dist load

messages: install
	$(BIN)/python manage.py makemessages --locale nb --locale nn --ignore '.venv/*' --ignore 'bench/*' --ignore 'node_modules/*' --ignore 'tests/*' --no-obsolete
	$(BIN)/python manage.py compilemessages --locale nb --locale nn --ignore '.venv/*' --ignore 'node_modules/*'

lint: install
	$(BIN)/ruff check .

# The benchmark of issue 14 (bench/run.py, results in bench/RESULTS.md): worlds of 10,000 and
# 100,000 orders in scratch PostgreSQL databases (palegg_bench_*, on the local server), every
# role's pages against their bare SQL, a load test with gunicorn, the access log's chain.
# BENCH_ARGS passes options on, e.g. BENCH_ARGS="--sizes 10000 --reuse --baseline b28d5f2".
bench: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Times the GP register import (10,000 synthetic GPs). Uses a throwaway SQLite database, or the
# database in DATABASE_URL (e.g. a scratch PostgreSQL database) when that is set.
bench-import: install
	@export PALEGG_VAR_DIR="$$(mktemp -d)"; trap 'rm -rf "$$PALEGG_VAR_DIR"' EXIT; \
	$(BIN)/python manage.py migrate --no-input --verbosity 0 && \
	$(BIN)/python bench/import_gp_register.py

# A backup of the database, the evidence documents and the audit archive, under BACKUP_DIR
# (default var/backups). With DATABASE_OWNER_URL set, the owner reads the tables for it.
BACKUP_DIR ?= var/backups
backup: install
	$(BIN)/python manage.py backup --to "$(BACKUP_DIR)" \
		$${DATABASE_OWNER_URL:+--database-url "$$DATABASE_OWNER_URL"}

# The restore test: restores a backup into a scratch database and files, checks the access
# log, every table's row count and every document's checksum, then removes the scratch
# copies. DRILL_FROM=<backup or directory of backups> tests one already made (the newest);
# without it a fresh backup is made and tested.
backup-drill: install
	$(BIN)/python manage.py backup_drill $(if $(DRILL_FROM),--from "$(DRILL_FROM)") \
		$${DATABASE_OWNER_URL:+--database-url "$$DATABASE_OWNER_URL"}

clean:
	rm -rf $(VENV) var .pytest_cache

# The production configuration on this machine, as a server's systemd unit runs it: DEBUG off,
# hashed and compressed static files collected into var/static, migrations, then gunicorn with
# config/gunicorn.conf.py on PALEGG_BIND (default 127.0.0.1:8000). Development mode is switched
# off even if the shell has it. Everything else comes from the environment as on a server, with
# one exception for a try on one machine: without SECRET_KEY a key is made once in
# var/serve-secret-key (readable by its owner only) and used. gunicorn speaks plain http for a
# TLS proxy in front (nginx): a request that does not come through one, saying so in the header
# named by PALEGG_PROXY_SSL_HEADER, is redirected to https, and the cookies are https-only.
# For clicking around in a browser without a proxy, use `make run`.
serve: install
	@set -e; unset PALEGG_DEVELOPMENT; \
	if [ -z "$${SECRET_KEY:-}" ]; then \
	  key_file="$${PALEGG_VAR_DIR:-var}/serve-secret-key"; \
	  if [ ! -s "$$key_file" ]; then \
	    mkdir -p "$$(dirname "$$key_file")"; \
	    (umask 077; $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > "$$key_file"); \
	  fi; \
	  echo "SECRET_KEY is not set: using the key in $$key_file (a server sets its own)."; \
	  SECRET_KEY="$$(cat "$$key_file")"; export SECRET_KEY; \
	fi; \
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0; \
	$(MAKE) --no-print-directory -o install migrate; \
	exec $(BIN)/gunicorn -c config/gunicorn.conf.py config.wsgi
