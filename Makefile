# Minka: `make run` starts the all-in-one system, `make test` runs the tests.
# Both bootstrap their own environment (uv in .tools/, the workspace in .venv/) from Python 3.11+.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: run test e2e browser up down lint check-migrations migration clean bench

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Minka needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages
	touch $@

run: .venv/.synced
	$(UV) run --frozen --no-sync uvicorn minka_gateway.app:create_app --factory --host 127.0.0.1 --port $(PORT)

test: .venv/.synced
	$(UV) run --frozen --no-sync pytest $(PYTEST_ARGS)

# The multi-process shape: each service in its own uvicorn process(es), nginx in front on MINKA_GATEWAY_PORT (8080).
up: .venv/.synced
	$(UV) run --frozen --no-sync python -m minka_gateway.stack up

down: .venv/.synced
	$(UV) run --frozen --no-sync python -m minka_gateway.stack down

# The end-to-end suite against that shape (needs nginx: apt-get install nginx-light).
e2e: .venv/.synced
	$(UV) run --frozen --no-sync pytest -m e2e tests/e2e $(PYTEST_ARGS)

# The thin client in headless Chromium against the running all-in-one system (needs Debian's chromium).
browser: .venv/.synced
	$(UV) run --frozen --no-sync pytest -m browser tests/browser $(PYTEST_ARGS)

lint: .venv/.synced
	$(UV) run --frozen --no-sync ruff check .

SERVICES := registry certification traceability

check-migrations: .venv/.synced
	@for service in $(SERVICES); do \
		$(UV) run --frozen --no-sync python -m minka_common.migrate_cli $$service check || exit 1; \
	done

# make migration SERVICE=certification MESSAGE="add x"
migration: .venv/.synced
	$(UV) run --frozen --no-sync python -m minka_common.migrate_cli $(SERVICE) revision $(MESSAGE)

clean:
	rm -rf .venv $(TOOLS)

bench: .venv/.synced
	$(UV) run --frozen --no-sync python bench/registry_bench.py
	$(UV) run --frozen --no-sync python bench/provenance_bench.py
