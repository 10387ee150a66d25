# The two commands a new machine needs:
#   make run    the server on http://127.0.0.1:5000 (SQLite, jobs in process, sample flow, demo agents,
#               a mail catcher on 127.0.0.1:1025 printing demo e-mail); PORT=... and MAIL_PORT=... move them
#   make test   lint, type checks and the whole test suite (SQLite, PostgreSQL and Redis on 127.0.0.1)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
# `make run` starts a mail catcher here: demo e-mail is printed in its terminal, never sent.
MAIL_PORT ?= 1025
# Production is the default everywhere else; the laptop commands opt into development.
DEV    := IVR_ENV=development PUBLIC_BASE_URL=http://$(HOST):$(PORT) SMTP_HOST=$(HOST) SMTP_PORT=$(MAIL_PORT)

.PHONY: run simulate test lint typecheck pytest worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(DEV) $(FLASK) db upgrade
	$(DEV) $(FLASK) flows check
	$(DEV) $(FLASK) flows import --only-new
	$(DEV) $(FLASK) demo seed
	@echo "Survey server on http://$(HOST):$(PORT). In another terminal: make simulate"
	@echo "Demo e-mail goes to a mail catcher on $(HOST):$(MAIL_PORT) and is printed below."
	$(BIN)/python -m aiosmtpd -n -l $(HOST):$(MAIL_PORT) & catcher=$$!; \
	trap 'kill $$catcher 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(DEV) $(FLASK) run --host $(HOST) --port $(PORT)

simulate: $(VENV)/.installed
	$(DEV) $(FLASK) simulate $(ARGS)

test: lint typecheck pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check ivr tests $(wildcard bench)
	$(BIN)/ruff format --check ivr tests $(wildcard bench)

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# Two workers that take tests from each other when idle, so that no long file holds up the end
# (each worker has its own databases: tests/helpers.py);
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
pytest: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

worker: $(VENV)/.installed
	$(DEV) $(FLASK) worker --with-scheduler

# Needs PostgreSQL and Redis on 127.0.0.1; about 10 minutes; prints a table, exits 0.
bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m bench --profile $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
