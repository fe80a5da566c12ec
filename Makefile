# The two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run token test lint typecheck pytest bench demo-data clean test-compat clients-ts test-stress

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# mt5linux 0.1.9 pins rpyc 5 and numpy 1.21; it is only the client of our compatibility
	# test (pure Python), so it goes in without its pins.
	$(PY) -m pip install --quiet --no-deps mt5linux==0.1.9
	# The Python client is its own distribution (clients/python); its tests run against us.
	$(PY) -m pip install --quiet -e clients/python
	touch $@

venv: $(VENV)/.installed

run: $(VENV)/.installed  ## start the gateway with the embedded simulator, SQLite and dev secrets
	install -d -m 700 data  # private to you: the store and the dev secrets live here
	LOG_FORMAT=$${LOG_FORMAT:-text} CONSOLE=$${CONSOLE:-true} $(VENV)/bin/uvicorn \
		--factory gateway.main:create_app --host $(HOST) --port $(PORT) --workers 1 \
		--timeout-keep-alive 30

token: $(VENV)/.installed  ## print a dev access token for the curl examples
	@$(PY) scripts/dev_token.py

demo-data: $(VENV)/.installed  ## print the simulator's demo servers, accounts and symbols
	@$(PY) -m simulator demo-data

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check gateway simulator tests bench scripts clients/python

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict clients/python/src/mt5gw_client

clients-ts:  ## build and type-check the TypeScript client (and the console's JS)
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm run typecheck

# The suite waits on real servers far more than it computes: three workers (pytest-xdist), each
# running whole files (their servers are module- and session-scoped), fill two cores.
PYTEST_WORKERS ?= 3

pytest: $(VENV)/.installed
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test: lint typecheck clients-ts pytest  ## lint, type-check and run the whole suite

test-compat: $(VENV)/.installed  ## the mt5linux matrix and the pip-installable MetaTrader5 simulator
	$(VENV)/bin/pytest -q tests/compat tests/bots

test-stress: $(VENV)/.installed  ## the load and fault suite at full size (see bench/README.md)
	STRESS_SIZE=full PROPERTY_EXAMPLES=500 $(VENV)/bin/pytest -q -p no:xdist tests/stress tests/properties

bench: $(VENV)/.installed  ## protocol and gateway benchmarks, ratios against same-run baselines
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
