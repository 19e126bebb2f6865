# Spotify playlist lake: the same commands on a laptop and in CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAKE ?= lake
export PYSPARK_PYTHON := $(CURDIR)/$(BIN)/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(BIN)/python

.PHONY: help install java-check lint typecheck test test-fast run bench package deploy test-glue clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

java-check: ## Check that Java 17 (needed by Spark 3.5.4 / Glue 5.0) is on PATH
	@command -v java >/dev/null 2>&1 || { echo "ERROR: Java 17 is missing (Spark needs it). Install it, e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME/PATH." >&2; exit 1; }
	@java -version 2>&1 | head -1 | grep -qE '"17[."]' || { echo "ERROR: Java 17 is required (Glue 5.0 runs Java 17); found: $$(java -version 2>&1 | head -1). Install openjdk-17 and put it first on PATH." >&2; exit 1; }

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "ERROR: $(PYTHON) is missing: this project needs Python 3.11 (the Glue 5.0 runtime)." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: java-check $(STAMP) ## Create .venv/ and install everything (idempotent, quick when up to date)

lint: install ## ruff (lint + format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy on the source
	$(BIN)/mypy

test: install lint typecheck ## Install if needed, then lint, type check and the whole test suite
	$(BIN)/pytest

test-fast: install ## pytest only, no lint/type check
	$(BIN)/pytest -x -q

run: install ## The whole pipeline locally on the embedded default stack (no credentials, no network)
	$(BIN)/spotify-etl run --lake $(LAKE)

clean: ## Remove the venv, the local lake and build output
	rm -rf $(VENV) $(LAKE) build dist .pytest_cache .mypy_cache .ruff_cache spark-warehouse metastore_db
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
