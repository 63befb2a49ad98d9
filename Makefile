# lab_etl set-up and the two commands of the README:  make demo  |  make test
# Everything is installed by these targets: a virtualenv in .venv, the package with its extras, the JVM jars.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
WAREHOUSE ?= warehouse
LANDING   ?= examples/landing
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYSPARK_PYTHON ?= $(abspath $(BIN)/python)

.PHONY: setup demo test lint typecheck browser clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (AWS Glue 5.0's); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed  ## install Python packages and fetch the jars (once; then offline)
	$(BIN)/lab-etl jars fetch >/dev/null
	$(BIN)/lab-etl doctor

demo: setup  ## the main job end to end on the bundled sample data, embedded lakehouse in ./warehouse
	$(BIN)/lab-etl run --landing $(LANDING) --warehouse $(WAREHOUSE)
	$(BIN)/lab-etl sql "SELECT count(*) AS n FROM lab_bronze.instrument_readings" --warehouse $(WAREHOUSE)
	$(BIN)/lab-etl report --run latest --warehouse $(WAREHOUSE) --output $(WAREHOUSE)/report.html

test: setup lint typecheck browser  ## lint, type-check and the whole test suite
	$(BIN)/python -m pytest -q

# The report's rendering test needs a real browser: Debian's chromium, installed here when it is missing and the
# machine allows it (root and apt-get). Never fails the build: without chromium that one test skips and says why.
browser:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (Debian) for the report's browser test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 \
	    || echo "could not install chromium: the report's browser test will skip"; \
	else \
	  echo "chromium is missing (install it: apt-get install chromium): the report's browser test will skip"; \
	fi

lint:
	$(BIN)/ruff check lab_etl tests jobs bench scripts
	$(BIN)/ruff format --check lab_etl tests jobs bench scripts

typecheck:
	$(BIN)/mypy lab_etl

clean:
	rm -rf $(VENV) $(WAREHOUSE) build dist *.egg-info
