# Set-up and commands of the therapy-sessions assistant. `make help` lists the targets.
# Two Python 3.10 environments, each synced exactly to its lock file:
#   .venv       backend, action server (rasa-sdk), dev tools   <- requirements/dev.lock
#   .venv-rasa  Rasa server (rasa 3.6 + channels/)              <- requirements/rasa.lock
# They are rebuilt only when their lock (or the set-up script) changes: see the .synced stamps.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export RASA_TELEMETRY_ENABLED ?= false
export TF_CPP_MIN_LOG_LEVEL ?= 2
export UV_PYTHON_DOWNLOADS ?= never
# PostgreSQL database the test suite runs against (besides SQLite). Override on the command line
# or in the environment: make test TEST_POSTGRES_URL=postgresql+psycopg://user@host:5432/db
export TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Optional: the Python 3.10 interpreter to build the environments with (else found automatically).
ifdef PYTHON310
export PYTHON310
endif
# Rasa's commands and the project's modules in the Rasa environment, without the deprecation
# warnings Rasa's dependencies raise about their own code (scripts/without-deprecations.py).
RASA_PYTHON := .venv-rasa/bin/python scripts/without-deprecations.py
RASA := $(RASA_PYTHON) rasa
# Rasa's commands with the Rasa server's own changes (bot/rasa_server.py: the model loads its saved
# weights without a training step), for the steps that test the model as the server runs it.
RASA_SERVED := $(RASA_PYTHON) bot.rasa_server

# Steps of `make test`, run in this order; the first failure stops the run.
TEST_STEPS := test-lint test-types test-bot-validate test-bot-train test-bot-gates test-pytest
# The gates on the trained model (test-bot-gates runs them at once).
BOT_GATES := test-bot-safety test-bot-stories test-bot-nlu
# Type errors mypy still reports outside backend/domain/ (not strict there); test-types fails
# above this number, and says when it can be lowered. None left.
MYPY_KNOWN_ERRORS := 0
# Ratchet of the risk detector on its held-out set (test-bot-safety), like MYPY_KNOWN_ERRORS: the
# figures reached, with room for two more false alarms of 266 and none for a miss (recall 0.991,
# false alarms 0.068 on 2026-12-06, with both encoders pooling their last half of layers; 0.994
# and 0.090 that morning, with all-mpnet-base-v2 as a second stage; 0.994 and
# 0.132 on 2026-12-05 evening, once the request veto could no longer overrule a confident risk
# score; 0.991 and 0.124 before; 0.974 and 0.177 before 2,703 training lines
# written blind; 0.977 and 0.282 with n-grams alone on 2026-12-02). Lower the false-alarm ceiling
# as the detector improves, towards the issue's target 0.02 (the step prints whether the targets,
# recall 0.99 and false alarms 0.02, are met).
SAFETY_MIN_RECALL := 0.991
SAFETY_MAX_FALSE_ALARMS := 0.076
# Risks given the right kind (so the right help), with room for one more wrong of 342: 0.980 on
# 2026-12-06 since the second stage has a say in the kind (0.942 before).
SAFETY_MIN_RIGHT_KIND := 0.976
# test-pytest runs the suite in this many processes (pytest-xdist), each test module whole in one
# (its module fixtures start once); 1 runs it in one process, in collection order. On the 2 cores,
# 3 took 8.5 min against 9.7 with 2: many tests wait on the servers they start (README, "Measured").
PYTEST_WORKERS ?= 3

.PHONY: help setup test lint train run run-scaled run-production chat lock web browser balancer api-fuzz $(TEST_STEPS) $(BOT_GATES)

help: ## List the targets
	@echo "Usage: make <target>   (the usual two: make run, make test)"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "Steps of make test (each also a target): $(TEST_STEPS)"
	@echo "  test-bot-gates runs these at once: $(BOT_GATES)"
	@echo
	@echo "Variables: TEST_POSTGRES_URL=$(TEST_POSTGRES_URL)"
	@echo "           PYTHON310=/path/to/python3.10 (default: found on PATH or under pyenv)"
	@echo "           PYTEST_ARGS=\"-k name -x\" passes arguments to pytest in make test"
	@echo "           PYTEST_WORKERS=$(PYTEST_WORKERS) processes run make test's suite (1: one, in order)"
	@echo "           UPGRADE=1 with 'make lock' moves every pin to the newest allowed version"

setup: .venv/.synced .venv-rasa/.synced data/.keep web ## Create/sync both environments (.venv, .venv-rasa), data/, models/, the web widget and the unpacked MPNet
	@.venv/bin/python -m bot.safety.models
	@echo "==> setup: environments up to date (.venv = requirements/dev.lock, .venv-rasa = requirements/rasa.lock)"

.venv/.synced: requirements/dev.lock scripts/setup-env.sh
	@scripts/setup-env.sh dev

.venv-rasa/.synced: requirements/rasa.lock scripts/setup-env.sh | .venv/.synced
	@scripts/setup-env.sh rasa

data/.keep:
	@mkdir -p data models
	@touch data/.keep

# The portal page's chat widget (web/): node packages exactly as web/package-lock.json says (from
# the npm registry), then an esbuild bundle in web/dist/. Each step reruns only when its inputs change.
WEB_SOURCES := $(wildcard web/src/*) web/build.mjs

web: web/dist/.built ## Build the portal's chat widget (npm ci + esbuild) if web/ changed
	@:

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

web/dist/.built: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build
	@touch $@

browser: ## Install Debian's Chromium for the browser tests if /usr/bin/chromium is missing
	@scripts/ensure-chromium.sh >/dev/null

balancer: ## Install Debian's HAProxy for make run-scaled and its test if haproxy is missing
	@scripts/ensure-haproxy.sh >/dev/null

test: setup browser balancer ## Lint, type-check, validate and test the bot, run the test suite (SQLite + PostgreSQL)
	@for step in $(TEST_STEPS); do \
	  echo "==> test: $$step"; \
	  $(MAKE) $$step || { echo "==> test: FAILED at $$step"; exit 1; }; \
	done
	@echo "==> test: all steps passed ($(TEST_STEPS))"

lint: .venv/.synced ## Run ruff over the repository
	.venv/bin/ruff check .

test-lint: lint

# Strict on backend/domain/ and contracts/, the defaults elsewhere in backend/ (pyproject.toml).
test-types: .venv/.synced
	@scripts/check-types.sh --known-errors $(MYPY_KNOWN_ERRORS)

test-bot-validate:
	$(RASA) data validate --domain bot/domain.yml --data bot/data --config config.yml

# The model is trained (incrementally) before the tests that talk to a running Rasa server, without
# rasa train's own check of the data: test-bot-validate has just run it.
test-bot-train:
	@scripts/train.sh --skip-validation

# The three gates on the trained model at once: each loads the model and then works mostly on one
# core, so side by side on 2 cores they take about the time of the longest. Each one's output is
# printed whole when it ends; any failure fails the step once the others end.
test-bot-gates:
	@$(MAKE) --no-print-directory -j3 --output-sync=target $(BOT_GATES)

# The risk detector on its held-out set (tests/safety_holdout/), and the whole NLU model on the
# same texts: prints recall per kind, false alarms, low-mood accuracy, the cost per message and
# whether the issue's targets are met; fails below SAFETY_MIN_RECALL, above SAFETY_MAX_FALSE_ALARMS,
# below SAFETY_MIN_RIGHT_KIND, or when the model does worse than the detector.
test-bot-safety:
	$(RASA_PYTHON) tests.bot.safety_gate --model models \
	  --min-recall $(SAFETY_MIN_RECALL) --max-false-alarms $(SAFETY_MAX_FALSE_ALARMS) \
	  --min-right-kind $(SAFETY_MIN_RIGHT_KIND)

# Conversation tests for every flow of PRODUCT.md; any wrong prediction fails the step.
test-bot-stories:
	$(RASA_SERVED) test core --stories tests/bot_stories --model models \
	  --fail-on-prediction-errors --out artifacts/rasa-stories

# Held-out NLU data the model never trains on; the gate fails below intent macro-F1 0.95 and
# entity F1 0.90 and prints the scores.
test-bot-nlu:
	$(RASA_SERVED) test nlu --nlu tests/nlu_holdout --domain bot/domain.yml --model models --out artifacts/nlu-holdout
	.venv/bin/python tests/bot/nlu_gate.py --report-dir artifacts/nlu-holdout

test-pytest:
	.venv/bin/python -m pytest $(if $(filter-out 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# Part of test-pytest; alone: schemathesis against a backend started as users start it.
api-fuzz: .venv/.synced ## Fuzz the backend's API against its /openapi.json (schemathesis, ~2 min)
	.venv/bin/python -m pytest tests/backend/api/test_openapi_fuzz.py $(PYTEST_ARGS)

train: setup ## Train the Rasa model into models/ if config.yml, bot/domain.yml or bot/data/ changed
	@scripts/train.sh

run: setup ## Migrate, seed demo data, train if needed, print demo identities, start everything (Ctrl-C stops)
	@scripts/run.sh

run-scaled: setup ## Scale-out on one machine: PostgreSQL, Redis, two of each process behind HAProxy
	@scripts/run.sh --scaled

run-production: setup ## Production mode: check deploy/production.env, migrate, start (scripts/start-production.sh --help)
	@scripts/start-production.sh

chat: .venv/.synced ## Chat in the terminal with the running assistant: make chat AS=ben
	@.venv/bin/python scripts/chat.py --as $(or $(AS),ben)

lock: .venv/.synced ## Regenerate requirements/*.lock from requirements/*.in (UPGRADE=1 to upgrade all)
	@scripts/lock.sh $(if $(UPGRADE),--upgrade,)
