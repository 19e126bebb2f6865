# Spotify playlist lake: the same commands on a laptop and in CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Glue runtime everything runs on: 5.0 (Python 3.11, Spark 3.5.4, .venv/) or 6.0 (Python 3.13, Spark 4.1.1,
# .venv-glue6/). Both come from the one uv.lock, which forks on the Python version (README "Glue 5.0 and 6.0").
GLUE_VERSION ?= 5.0
ifeq ($(GLUE_VERSION),5.0)
PYTHON_VERSION := 3.11
VENV := .venv
else ifeq ($(GLUE_VERSION),6.0)
PYTHON_VERSION := 3.13
VENV := .venv-glue6
else
$(error GLUE_VERSION must be 5.0 or 6.0, not '$(GLUE_VERSION)')
endif
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
BIN := $(VENV)/bin
LAKE ?= lake
WORLD ?= chart
export PYSPARK_PYTHON := $(CURDIR)/$(BIN)/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(BIN)/python

# Installs come from uv.lock only (`uv sync --frozen` never resolves); `make lock` is the one way to change a
# version. uv itself is installed, hash-checked, from tools/uv-requirements.txt into .venv-uv/.
# --compile-bytecode: every installed module is compiled once, at install, so that no process compiles pyspark,
# boto3 or sqlglot again when it imports them (where PYTHONDONTWRITEBYTECODE is set, every process would:
# about 0.8 s of CPU per CLI start; docs/performance.md).
UV_VENV := .venv-uv
export UV := $(CURDIR)/$(UV_VENV)/bin/uv
UV_VERSION = $(shell sed -n 's/^required-version = "==\(.*\)"/\1/p' pyproject.toml)
SYNC := $(UV) sync --frozen --compile-bytecode
# Each target's groups on top of the runtime (pyproject.toml [dependency-groups]); `make run` needs none.
TEST_GROUPS := --group test --group lint --group bench
TOOLS_VENV := .venv-tools
# The extract Lambda's dependencies, one site per architecture (python3.13 either way, whatever GLUE_VERSION is).
LAMBDA_SITES := .venv-lambda
LAMBDA_ARCHITECTURE ?= x86_64
LAMBDA_SITE_STAMPS := $(LAMBDA_SITES)/x86_64/.stamp $(LAMBDA_SITES)/arm64/.stamp
GLUE_IMAGE ?= spotify-etl-glue5
STACK ?=
ASSETS_BUCKET ?=
PLAYLIST_IDS ?=
ALARM_EMAIL ?=
REGION ?=
DRY_RUN ?=
VIEWS_ONLY ?=
PARAMS ?=

.PHONY: docker-check help install install-test python-check java-check lock lint typecheck test test-fast run bench package deploy destroy smoke test-glue clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

python-check:
	@tools/find-python $(PYTHON_VERSION) >/dev/null

java-check: ## Check that Java 17 (needed by Spark 3.5.4 / Glue 5.0 and Spark 4.1.1 / Glue 6.0) is on PATH
	@command -v java >/dev/null 2>&1 || { echo "ERROR: Java 17 is missing (Spark needs it). Install it, e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME/PATH." >&2; exit 1; }
	@java -version 2>&1 | head -1 | grep -qE '"17[."]' || { echo "ERROR: Java 17 is required (Glue 5.0 and 6.0 run Java 17); found: $$(java -version 2>&1 | head -1). Install openjdk-17 and put it first on PATH." >&2; exit 1; }

$(UV): tools/uv-requirements.txt | python-check
	@test -x $(UV_VENV)/bin/python || $$(tools/find-python $(PYTHON_VERSION)) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r tools/uv-requirements.txt
	@touch $@

# One stamp per set of groups, redone when the lock changes. The runtime sync is --inexact so that `make run`
# after `make test` keeps the test tools; the test sync is exact: the venv then holds the lock and nothing else.
$(VENV)/.synced-run: uv.lock pyproject.toml | $(UV)
	UV_PYTHON=$$(tools/find-python $(PYTHON_VERSION)) $(SYNC) --inexact
	@touch $@
$(VENV)/.synced-test: uv.lock pyproject.toml | $(UV)
	UV_PYTHON=$$(tools/find-python $(PYTHON_VERSION)) $(SYNC) $(TEST_GROUPS)
	@touch $@ $(VENV)/.synced-run
$(VENV)/.synced-bench: uv.lock pyproject.toml | $(UV)
	UV_PYTHON=$$(tools/find-python $(PYTHON_VERSION)) $(SYNC) --inexact --group bench
	@touch $@ $(VENV)/.synced-run
# checkov: a conflicting workspace member of the same lock (tools/checkov), in its own venv.
$(TOOLS_VENV)/.synced: uv.lock tools/checkov/pyproject.toml | $(UV)
	UV_PYTHON=$$(tools/find-python $(PYTHON_VERSION)) UV_PROJECT_ENVIRONMENT=$(TOOLS_VENV) $(SYNC) --package spotify-etl-checkov
	@touch $@
# The extract Lambda's dependencies, installed for its runtime from the lock once, so that packaging is offline.
$(LAMBDA_SITES)/%/.stamp: uv.lock | $(VENV)/.synced-run
	$(BIN)/python -m infra.scripts.locked lambda-site --architecture $*
	@touch $@

# The driver JVM's class-data archive (spotify_etl/runtime/local/class_archive.py): built once per venv, after its
# packages, by a short training run; a failure to build it is reported and sessions start without it. Its stamp is
# inside the venv, so a venv that uv re-creates (the bench group's sync does) gets its archive again: list `install`
# after any other sync in a target's prerequisites.
$(VENV)/.class-archive: uv.lock pyproject.toml spotify_etl/runtime/local/class_archive.py
	$(BIN)/python -m spotify_etl.runtime.local.class_archive
	@touch $@

install: java-check $(VENV)/.synced-run $(VENV)/.class-archive ## Create .venv/ with what running needs, exactly as uv.lock pins it (idempotent)

# What the test suite needs but the class archive (`make test` builds that while ruff and mypy run).
TEST_TOOLS := java-check $(VENV)/.synced-test $(TOOLS_VENV)/.synced $(LAMBDA_SITE_STAMPS)
install-test: $(TEST_TOOLS) $(VENV)/.class-archive ## + test, lint, bench tools, checkov's venv and the Lambda's dependencies

lock: | $(UV) ## Refresh uv.lock (Glue 5.0 and 6.0 forks) from pyproject.toml (UPGRADE=1: newest versions allowed); the only way a version changes
	$(UV) lock $(if $(filter 1 true yes,$(UPGRADE)),--upgrade)
	echo "uv==$(UV_VERSION)" | $(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 --no-header - -o tools/uv-requirements.txt

lint: $(VENV)/.synced-test ## ruff (lint + format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.synced-test ## mypy on the source
	$(BIN)/mypy

# The suite in TEST_WORKERS processes (pytest-xdist), each with its one SparkSession; a module's tests stay in one
# process (--dist loadfile), so its module-scoped lakes are built once. Modules are handed out in the order
# tests/conftest.py gives (the slow ones first), not by their number of tests (--no-loadscope-reorder). The
# slowest tests are listed at the end.
TEST_WORKERS ?= 2
# The class archive's training run (a JVM, about 25 s) and ruff + mypy (one core, about 10 s) run side by side.
test: $(TEST_TOOLS) ## Install if needed, check the lock, lint, type check and the whole test suite (TEST_WORKERS=2)
	$(MAKE) --no-print-directory -j2 --output-sync=target $(VENV)/.class-archive lint typecheck
	$(UV) lock --check --offline
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

test-fast: install-test ## pytest only, no lint/type check
	$(BIN)/pytest -x -q

run: install ## The whole pipeline locally on the embedded default stack (no credentials, no network)
	$(BIN)/spotify-etl run --lake $(LAKE) --world $(WORLD)

package: install $(LAMBDA_SITES)/$(LAMBDA_ARCHITECTURE)/.stamp ## Build build/ for GLUE_VERSION and LAMBDA_ARCHITECTURE (x86_64|arm64): Lambda zip, Glue script + library zip, template (offline)
	$(BIN)/python -m infra.scripts.package --out build --glue-version $(GLUE_VERSION) --lambda-architecture $(LAMBDA_ARCHITECTURE)

deploy: package ## Deploy: make deploy STACK=name ASSETS_BUCKET=bucket [PLAYLIST_IDS=.. ALARM_EMAIL=.. GLUE_VERSION=6.0 LAMBDA_ARCHITECTURE=arm64 PARAMS="K=V .."] [DRY_RUN=1] [VIEWS_ONLY=1]
	@test -n "$(STACK)" -a -n "$(ASSETS_BUCKET)" || { echo "ERROR: usage: make deploy STACK=<stack name> ASSETS_BUCKET=<existing bucket for the code> [PLAYLIST_IDS=id1,id2 ALARM_EMAIL=you@example.com] [DRY_RUN=1]" >&2; exit 2; }
	$(BIN)/python -m infra.scripts.deploy --stack "$(STACK)" --assets-bucket "$(ASSETS_BUCKET)" \
		$(if $(PLAYLIST_IDS),--playlist-ids "$(PLAYLIST_IDS)") $(if $(ALARM_EMAIL),--alarm-email "$(ALARM_EMAIL)") \
		$(if $(REGION),--region "$(REGION)") $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run) \
		$(if $(filter 1 true yes,$(VIEWS_ONLY)),--views-only) --parameter "GlueVersion=$(GLUE_VERSION)" \
		--parameter "LambdaArchitecture=$(LAMBDA_ARCHITECTURE)" $(foreach p,$(PARAMS),--parameter "$(p)")

destroy: install ## Delete a stack: make destroy STACK=name [REGION=..] (empties its versioned results bucket first; keeps the lake)
	@test -n "$(STACK)" || { echo "ERROR: usage: make destroy STACK=<stack name> [REGION=<region>]" >&2; exit 2; }
	$(BIN)/python -m infra.scripts.destroy --stack "$(STACK)" $(if $(REGION),--region "$(REGION)")

smoke: install ## Prove the Glue path on a deployed stack with crafted raw objects: make smoke STACK=name [REGION=..] [DRY_RUN=1] (exit 0: all checks PASS)
	@test -n "$(STACK)" || { echo "ERROR: usage: make smoke STACK=<deployed stack name> [REGION=<region>] [DRY_RUN=1]" >&2; exit 2; }
	$(BIN)/python -m infra.scripts.smoke --stack "$(STACK)" $(if $(REGION),--region "$(REGION)") $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

test-glue: docker-check install ## Build Dockerfile.glue (FROM aws-glue-libs:5) and run the whole suite in it, incl. tests marked glue
	$(BIN)/python -m infra.scripts.locked glue-image-requirements --out build/glue-image-requirements.txt
	docker build -f Dockerfile.glue -t $(GLUE_IMAGE) .
	docker run --rm $(GLUE_IMAGE)

docker-check:
	@command -v docker >/dev/null 2>&1 || { echo "ERROR: make test-glue needs Docker, and the docker CLI is not on PATH. Install Docker (with a running engine) and retry." >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "ERROR: make test-glue needs a running Docker engine, and none is reachable ('docker info' failed). Start the Docker daemon (or point DOCKER_HOST at one) and retry." >&2; exit 1; }

TIER ?= S
UPDATE_BASELINE ?=
bench: $(VENV)/.synced-bench install ## Benchmark against DuckDB and bench/baseline.json (fails on a >20% regression): make bench [TIER=S|M|L|S,M] [UPDATE_BASELINE=1]
	$(BIN)/python -m bench.run --tier $(TIER) $(if $(filter 1 true yes,$(UPDATE_BASELINE)),--update-baseline)

clean: ## Remove the venvs, the local lake, build output and generated benchmark data
	rm -rf .venv .venv-glue6 $(TOOLS_VENV) $(UV_VENV) $(LAMBDA_SITES) $(LAKE) build dist .pytest_cache .mypy_cache .ruff_cache spark-warehouse metastore_db bench/data bench/results.json bench/results.md bench/results-glue6.json bench/results-glue6.md
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
