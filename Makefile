# Firsthand: `make run` starts the demo, `make test` runs every check.
# Both set up the virtual environment from the locked requirements first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test lint fmt lock bench messages schema clean totp screenshots

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Firsthand needs Python 3.11 or newer (set PYTHON=python3.11).")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base-installed: requirements/base.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/base.txt
	@touch $@

$(VENV)/.dev-installed: requirements/dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	@touch $@ $(VENV)/.base-installed

# The demo: SQLite, a file-system Celery broker, outbox channels. One Ctrl-C stops all.
run: export DEBUG := $(or $(DEBUG),1)
# Links in the demo's messages point at the port it runs on.
run: export PORTAL_BASE_URL := $(or $(PORTAL_BASE_URL),http://localhost:$(PORT))
run: $(VENV)/.base-installed
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "Firsthand is starting at http://127.0.0.1:$(PORT)/  (Ctrl-C stops the site, worker and beat)"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile.dev -p $(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-resolve the pinned requirements (needs uv: `pip install uv`).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-emit-index-url -o requirements/base.txt
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --no-emit-index-url -o requirements/dev.txt

# The demo staff's current sign-in code (the demo TOTP secret; DEBUG only).
totp: $(VENV)/.base-installed
	DEBUG=1 $(BIN)/python manage.py demo_totp

messages: $(VENV)/.dev-installed
	DEBUG=1 $(BIN)/python manage.py makemessages -l fr --no-obsolete --ignore=.venv --ignore=tests --ignore=staticfiles --ignore=var
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var staticfiles

# Every hot path against its raw ceiling (needs PostgreSQL and Redis; see README).
SCALE ?= 1000000
bench: $(VENV)/.dev-installed
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench --scale $(SCALE)

# The committed OpenAPI schema (a test fails when it differs from the code's).
schema: $(VENV)/.dev-installed
	DEBUG=1 $(BIN)/python manage.py spectacular --validate --fail-on-warn --lang en --file docs/openapi.yaml

# The browser tests' screenshots (tests/e2e, in test-results/screenshots) for the README.
screenshots:
	mkdir -p docs/screenshots
	cp test-results/screenshots/*.png docs/screenshots/
