# lab_etl set-up and the two commands of the README:  make demo  |  make test
# Everything is installed by these targets: a virtualenv in .venv, the package with its extras, the JVM jars.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
WAREHOUSE ?= warehouse
LANDING   ?= examples/landing
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYSPARK_PYTHON ?= $(abspath $(BIN)/python)

.PHONY: setup demo test lint typecheck clean

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

test: setup lint typecheck  ## lint, type-check and the whole test suite
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check lab_etl tests jobs bench scripts
	$(BIN)/ruff format --check lab_etl tests jobs bench scripts

typecheck:
	$(BIN)/mypy lab_etl

clean:
	rm -rf $(VENV) $(WAREHOUSE) build dist *.egg-info
