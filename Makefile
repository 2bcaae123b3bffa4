# KYC Desk. `make run` serves the app with the provider sandboxes; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# Integration and browser tests: real PostgreSQL, Redis and a Celery worker (see .ci/run).
IT_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kycdesk
IT_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test test-unit test-integration test-faults serve worker beat lint format clean \
	bench bench-tools bench-ingest bench-ingest-cpu bench-latency bench-decision-cpu bench-backoffice bench-backoffice-full bench-media bench-polling bench-callback

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

run: export KYC_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	# Also makes Solaris's webhook subscriptions for KYC_PUBLIC_URL (kyc/management/demo_solaris.py).
	$(BIN)/python manage.py load_demo
	# The poller (manage.py poll_sessions: ShareID's results are fetched, development has no broker
	# for the beat task) runs beside the server, and stops with it (Ctrl-C, or the server exiting).
	# It starts once the server has had time to listen: the sandbox it fetches from is served there.
	(sleep 5; exec $(BIN)/python manage.py poll_sessions) & poller=$$!; \
		trap 'kill $$poller 2>/dev/null; wait $$poller' EXIT INT TERM; \
		$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install lint test-unit test-integration

# lint-imports: the dependency contracts of pyproject.toml ([tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# One pytest-xdist worker per core: each has its own SQLite test database and media folder.
test-unit: install
	$(BIN)/pytest tests --ignore=tests/integration --ignore=tests/browser --ignore=tests/faults -n auto

test-integration: install
	DATABASE_URL=$(IT_DATABASE_URL) CELERY_BROKER_URL=$(IT_BROKER_URL) \
		$(BIN)/pytest tests/integration tests/browser
	$(MAKE) test-faults

# Fault injection (tests/faults): a pytest session of its own, since each test runs its own stack
# (worker killed, database cut) and must not share the broker with tests/integration's.
test-faults: install
	DATABASE_URL=$(IT_DATABASE_URL) CELERY_BROKER_URL=$(IT_BROKER_URL) \
		$(BIN)/pytest tests/faults

# Production-like processes against CELERY_BROKER_URL and DATABASE_URL (README, "Operations").
# The app under gunicorn with its shipped settings (config/gunicorn.py: URLs redacted in its logs).
serve: install
	$(BIN)/gunicorn -c python:config.gunicorn config.wsgi --bind $(HOST):$(PORT) --access-logfile -

worker: install
	$(BIN)/celery -A config worker --loglevel info

beat: install
	$(BIN)/celery -A config beat --loglevel info --schedule var/celerybeat-schedule

# Performance benchmarks (benchmarks/README.md): local PostgreSQL and Redis, each in
# databases named kycdesk_bench_* it creates and drops; wrk and curl from Debian.
bench: bench-ingest bench-latency bench-backoffice bench-media

# The load generator and the reference client, from Debian, installed when missing.
bench-tools:
	@command -v wrk >/dev/null && command -v curl >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq wrk curl; }

bench-ingest: install bench-tools
	$(BIN)/python benchmarks/webhook_ingest.py $(BENCH_ARGS)

bench-ingest-cpu: install
	$(BIN)/python benchmarks/ingest_cpu.py $(BENCH_ARGS)

bench-latency: install
	$(BIN)/python benchmarks/decision_latency.py $(BENCH_ARGS)

bench-decision-cpu: install
	$(BIN)/python benchmarks/decision_cpu.py $(BENCH_ARGS)

bench-backoffice: install
	$(BIN)/python benchmarks/backoffice.py $(BENCH_ARGS)

bench-backoffice-full: install
	$(BIN)/python benchmarks/backoffice.py --full $(BENCH_ARGS)

bench-media: install bench-tools
	$(BIN)/python benchmarks/media_streaming.py $(BENCH_ARGS)

# ShareID polling at scale (issue 15): N open sessions against a fast "not ready" server.
bench-polling: install
	$(BIN)/python benchmarks/shareid_polling.py $(BENCH_ARGS)

# ShareID's callback: p99 answer time at 32 connections beside its 3000 ms deadline.
bench-callback: install bench-tools
	$(BIN)/python benchmarks/shareid_callback.py $(BENCH_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
