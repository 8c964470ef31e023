# The two commands the README promises: `make demo` and `make test`.
# Both set up what they need from nothing: a Python venv (.venv) and, for the tests, the node tools
# (node_modules: Azurite and pyright), each rebuilt only when its pins change.
#
# .venv gets three requirement sets, each stamped once installed:
#   .venv/.apps       requirements-apps.txt  the apps alone: what `make demo` runs (no Pulumi, no
#                                            Azure SDK: pulumi-azure-native alone is ~356 MB)
#   .venv/.program    requirements.txt       the Pulumi program: `make preview` and `pulumi up`
#                                            (Pulumi's python runtime installs this same file when
#                                            it creates .venv itself, Pulumi.yaml `virtualenv`)
#   .venv/.installed  requirements-dev.txt   all of it, the apps' Azure extras (Batch executor,
#                                            `ops run`) and the test tools: `make test`, `make setup`
# Recipes print to stderr only, so that `make preview JSON=1 > f.json` holds nothing but JSON.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
DEMO_DIR := demo-output
# Real bags from tests/data (provenance in tests/data/bags/PROVENANCE.md); the
# negative fixture empty-definition.bag is left out on purpose.
DEMO_BAGS := jackal-imu-odom.bag gps-navsatfix.bag turtlesim.bag custom-arrays.bag \
             magnetic-temperature.bag ros2-mcap-basic ros2-sqlite3-custom
APPS := apps/processor/pyproject.toml apps/orchestrator/pyproject.toml
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint typecheck unit preview bench-processor setup setup-apps setup-program clean

setup: $(VENV)/.installed node_modules/.installed
setup-apps: $(VENV)/.apps
setup-program: $(VENV)/.program

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required: set PYTHON=python3.11")'
	@echo "make: creating $(VENV)" >&2
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) --upgrade pip >&2

$(VENV)/.apps: requirements-apps.txt $(APPS) | $(PY)
	@echo "make: installing the apps into $(VENV) (requirements-apps.txt)" >&2
	@$(PIP) -r requirements-apps.txt >&2
	@touch $@

$(VENV)/.program: requirements.txt | $(PY)
	@echo "make: installing the Pulumi program's dependencies into $(VENV) (requirements.txt)" >&2
	@$(PIP) -r requirements.txt >&2
	@touch $@

# A superset of the two sets above, so it stamps them too.
$(VENV)/.installed: requirements-dev.txt requirements.txt requirements-apps.txt $(APPS) | $(PY)
	@echo "make: installing everything into $(VENV) (requirements-dev.txt)" >&2
	@$(PIP) -r requirements-dev.txt >&2
	@touch $(VENV)/.apps $(VENV)/.program $@

node_modules/.installed: package.json package-lock.json
	@echo "make: installing node tools (package-lock.json)" >&2
	@npm ci --no-audit --no-fund --loglevel=error >&2
	@touch $@

demo: $(VENV)/.apps
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

preview: $(VENV)/.program
	@$(PY) -m infra.preview --stack $(STACK) $(if $(JSON),--json,)

bench-processor: $(VENV)/.installed
	$(PY) scripts/bench_processor.py

clean:
	rm -rf $(VENV) node_modules $(DEMO_DIR) .bench .pytest_cache .ruff_cache
