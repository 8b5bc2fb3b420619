# Two commands for a new user: `make demo` and `make test`. Both set themselves up in .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)
# A CPU build of torch on these machines; a GPU machine sets TORCH_SPEC (see README).
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
# Compose v2 (the docker plugin) where installed, else Debian's docker-compose.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose) -p conveyor

.PHONY: install system demo test test-extended e2e lint typecheck bench ui lock clean secrets up down

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	@# torch first: a plain resolve would pull gigabytes of CUDA wheels on a CPU machine.
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

# Debian packages the tests run for real (installed when missing; see the script), and a
# Docker engine that answers (Debian's dockerd started when none does).
system:
	scripts/system_packages.sh
	scripts/docker_engine.sh

demo: install
	$(BIN)/conveyor demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check pipelines plugins dags tests benchmarks

typecheck: install
	$(BIN)/mypy

# Three workers on CI's two cores: much of the suite waits on Airflow, MLflow, PostgreSQL
# and subprocesses rather than computing (measured: 17 minutes of tests, against 25 with two).
PYTEST_WORKERS ?= 3

test: install system lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=40 $(PYTEST_ARGS)

# The production paths `make test` leaves out for its time budget (tests marked extended:
# the demo profile in the task image), with the rest of the suite.
test-extended: install system lint typecheck
	CONVEYOR_EXTENDED_TESTS=1 $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The browser tests alone: Airflow's UI in headless Chromium (about 4 minutes; also in `make test`).
e2e: install system
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

ui: install
	scripts/ui.sh

bench: install system
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/train_text.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/orchestration.py
	$(BIN)/python benchmarks/scheduled.py
	$(BIN)/python benchmarks/tuning.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/serve_release.py
	$(BIN)/python benchmarks/drift.py
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/historical_features.py
	$(BIN)/python benchmarks/containers.py

# The production stack (docker compose): secrets first, generated into .env (never committed).
secrets: install
	$(BIN)/python scripts/make_secrets.py $(if $(FORCE),--force)

# The stack's other images (PostgreSQL, Redis, the socket proxy): pulled, or stand-ins built.
STACK_BASES = $(shell grep -oE '^ +image: [^ ]+' docker-compose.yml | awk '{print $$2}' | grep -v '^conveyor/' | sort -u)

# Celery workers on the default queue (`make up WORKERS=3`); the gpu queue has its own.
WORKERS ?= 1

up: secrets system
	scripts/build_images.sh
	scripts/offline_images.sh $(STACK_BASES)
	$(COMPOSE) up -d --scale airflow-worker=$(WORKERS)
	@echo "Airflow http://127.0.0.1:8080 (admin / AIRFLOW_ADMIN_PASSWORD in .env), MLflow http://127.0.0.1:5000, serving freight_volume http://127.0.0.1:8081, search_relevance http://127.0.0.1:8082"

down:
	$(COMPOSE) down

# Re-pin every dependency after changing pyproject.toml: resolves into a scratch venv.
lock:
	rm -rf /tmp/conveyor-lock && $(PYTHON) -m venv /tmp/conveyor-lock
	/tmp/conveyor-lock/bin/pip install --quiet --upgrade pip==26.3
	/tmp/conveyor-lock/bin/pip install --quiet "$(TORCH_SPEC)"
	/tmp/conveyor-lock/bin/pip install --quiet ".[dev]"
	/tmp/conveyor-lock/bin/pip freeze --all --exclude-editable --exclude conveyor \
	  | sed -E 's/^torch==([0-9.]+)\+cpu$$/torch==\1/' > requirements.lock

clean:
	rm -rf $(VENV) .conveyor .pytest_cache .mypy_cache .ruff_cache
