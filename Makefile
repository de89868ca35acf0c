# The two commands: `make run` (the demo) and `make test` (the suite).
# Everything installs into .venv from requirements.txt.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install demo-setup clean-demo check

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

# The demo: SQLite and the embedded SQLite broker under var/, both emulators
# seeded with a demo tenant and team, the portal on http://127.0.0.1:8000.
# Ctrl-C stops everything.
run: export DEBUG ?= true
run: export PORTAL_DEMO := true
run: $(STAMP)
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/honcho --procfile Procfile --env var/demo.env --app-root . start

# The whole suite. DATABASE_URL and CELERY_BROKER_URL choose PostgreSQL and
# Redis (as .ci/run does); without them it runs on SQLite and the embedded broker.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/python manage.py check --deploy --fail-level WARNING
