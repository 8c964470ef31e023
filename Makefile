# The two commands the README promises: `make demo` and `make test`.
# Both set up everything from nothing: a Python venv (.venv) and the node tools
# (node_modules: Azurite and pyright), each rebuilt only when its pins change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
DEMO_DIR := demo-output
# Real bags from tests/data (provenance in tests/data/bags/PROVENANCE.md); the
# negative fixture empty-definition.bag is left out on purpose.
DEMO_BAGS := jackal-imu-odom.bag gps-navsatfix.bag turtlesim.bag custom-arrays.bag \
             magnetic-temperature.bag ros2-mcap-basic ros2-sqlite3-custom

.PHONY: demo test lint typecheck unit preview bench-processor setup clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt apps/processor/pyproject.toml apps/orchestrator/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required: set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.installed
	rm -rf $(DEMO_DIR)
	mkdir -p $(DEMO_DIR)/raw
	cd tests/data/bags && cp -r $(DEMO_BAGS) ../../../$(DEMO_DIR)/raw/
	$(PY) -m orchestrator extract --executor local --input $(DEMO_DIR)/raw --output $(DEMO_DIR)/extracted

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	node_modules/.bin/pyright

unit: setup
	$(PY) -m pytest

test: lint typecheck unit

preview: $(VENV)/.installed
	$(PY) -m infra.preview --stack $(STACK) $(if $(JSON),--json,)

bench-processor: $(VENV)/.installed
	$(PY) scripts/bench_processor.py

clean:
	rm -rf $(VENV) node_modules $(DEMO_DIR) .bench .pytest_cache .ruff_cache
