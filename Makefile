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

# Lambda wheels (for the Lambda runtime: python3.11 x86_64), fetched once so that `make package` is offline.
LAMBDA_WHEELS := $(VENV)/lambda-wheels
LAMBDA_WHEELS_STAMP := $(LAMBDA_WHEELS)/.stamp
LAMBDA_REQUIREMENTS := infra/scripts/lambda-requirements.txt
# checkov conflicts with the project venv (it pins `packaging` below what pytest needs): its own venv.
CHECKOV_VERSION := 3.3.30
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.checkov-$(CHECKOV_VERSION)
GLUE_IMAGE ?= spotify-etl-glue5
STACK ?=
ASSETS_BUCKET ?=
PLAYLIST_IDS ?=
ALARM_EMAIL ?=
REGION ?=
DRY_RUN ?=
VIEWS_ONLY ?=
PARAMS ?=

$(LAMBDA_WHEELS_STAMP): $(LAMBDA_REQUIREMENTS) | $(STAMP)
	rm -rf $(LAMBDA_WHEELS) && mkdir -p $(LAMBDA_WHEELS)
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
		--platform manylinux2014_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
		-d $(LAMBDA_WHEELS) -r $(LAMBDA_REQUIREMENTS)
	@touch $@

$(TOOLS_STAMP):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "ERROR: $(PYTHON) is missing: checkov's tool venv needs Python 3.11." >&2; exit 1; }
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	@rm -f $(TOOLS_VENV)/.checkov-* && touch $@

install: java-check $(STAMP) $(LAMBDA_WHEELS_STAMP) $(TOOLS_STAMP) ## Create .venv/ (+ Lambda wheels, .venv-tools/ with checkov) (idempotent)

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

package: install ## Build build/: Lambda zip, Glue script + library zip, rendered template (offline)
	$(BIN)/python -m infra.scripts.package --out build

deploy: package ## Deploy: make deploy STACK=name ASSETS_BUCKET=bucket [PLAYLIST_IDS=.. ALARM_EMAIL=.. PARAMS="K=V .."] [DRY_RUN=1] [VIEWS_ONLY=1]
	@test -n "$(STACK)" -a -n "$(ASSETS_BUCKET)" || { echo "ERROR: usage: make deploy STACK=<stack name> ASSETS_BUCKET=<existing bucket for the code> [PLAYLIST_IDS=id1,id2 ALARM_EMAIL=you@example.com] [DRY_RUN=1]" >&2; exit 2; }
	$(BIN)/python -m infra.scripts.deploy --stack "$(STACK)" --assets-bucket "$(ASSETS_BUCKET)" \
		$(if $(PLAYLIST_IDS),--playlist-ids "$(PLAYLIST_IDS)") $(if $(ALARM_EMAIL),--alarm-email "$(ALARM_EMAIL)") \
		$(if $(REGION),--region "$(REGION)") $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run) \
		$(if $(filter 1 true yes,$(VIEWS_ONLY)),--views-only) $(foreach p,$(PARAMS),--parameter "$(p)")

test-glue: ## Build Dockerfile.glue (FROM aws-glue-libs:5) and run the whole suite in it, incl. tests marked glue
	@command -v docker >/dev/null 2>&1 || { echo "ERROR: make test-glue needs Docker, and the docker CLI is not on PATH. Install Docker (with a running engine) and retry." >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "ERROR: make test-glue needs a running Docker engine, and none is reachable ('docker info' failed). Start the Docker daemon (or point DOCKER_HOST at one) and retry." >&2; exit 1; }
	docker build -f Dockerfile.glue -t $(GLUE_IMAGE) .
	docker run --rm $(GLUE_IMAGE)

TIER ?= S
bench: install ## Benchmark the transform against the DuckDB yardstick: make bench [TIER=S|M|L|S,M] -> bench/results.{json,md}
	$(BIN)/python -m bench.run --tier $(TIER)

clean: ## Remove the venvs, the local lake, build output and generated benchmark data
	rm -rf $(VENV) $(TOOLS_VENV) $(LAKE) build dist .pytest_cache .mypy_cache .ruff_cache spark-warehouse metastore_db bench/data bench/results.json bench/results.md
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
