# The assistant's menu. Newcomers need two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Python 3.10, as pinned in .python-version (pyenv), or whatever python3.10 is on the PATH.
PYTHON_310 := $(firstword $(shell pyenv which python 2>/dev/null | grep -F /3.10.) $(shell command -v python3.10) $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10))
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore::DeprecationWarning
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Rasa's telemetry and error reports would send data to Rasa's servers: never.
export RASA_TELEMETRY_ENABLED := false
# Rasa's own command line, without pages of warnings from the pinned packages (bot/quiet.py).
RASA := $(BIN)/python -m bot.quiet
RASA_PORT ?= 5005
# The action server listens on the port the Rasa server calls: the one in endpoints.yml's
# action_endpoint (change it there). `make serve ACTIONS_PORT=...` sets it for endpoints.prod.yml,
# whose ACTION_SERVER_URL must then name the same port.
ACTIONS_PORT := $(or $(shell sed -nE 's|^ *url: "?https?://[^:/"]+:([0-9]+)/webhook.*|\1|p' endpoints.yml),5055)
# Sites other than the assistant's own that may carry the web chat (docs/webchat.md): for `make run`,
# a test page served locally on port 8080.
WEBCHAT_ALLOWED_ORIGINS ?= http://localhost:8080,http://127.0.0.1:8080

.PHONY: help setup train redis run shell actions services test bench bench-load serve api-token audit check evaluate review report purge clean

help:  ## this menu
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# The virtual environment: every package pinned in requirements.txt, and this folder on the path.
$(BIN)/.installed: requirements.txt
	@test -n "$(PYTHON_310)" || { echo "Python 3.10 is needed (pyenv install 3.10)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON_310) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==24.2
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
	echo "$(CURDIR)" > $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/online_safety_project.pth
	$(RASA) telemetry disable >/dev/null
	touch $@

# Our own spaCy pipeline, and all-MiniLM-L6-v2 converted to TensorFlow and exported to ONNX
# (nothing downloaded).
.build/spacy_en/meta.json: $(BIN)/.installed bot/spacy_model.py
	$(BIN)/python -m bot build-spacy
.build/minilm_onnx/model.onnx: $(BIN)/.installed bot/nlu/sentence_embeddings.py
	$(BIN)/python -m bot convert-minilm

var:
	mkdir -p var

setup: $(BIN)/.installed .build/spacy_en/meta.json .build/minilm_onnx/model.onnx var  ## create .venv and build what the model needs

train: setup  ## train the model if the data, content or config changed
	$(RASA) train --quiet --fixed-model-name assistant

# Both cores: Rasa answers with two Sanic workers, which share each conversation's lock through the
# lock store in endpoints.yml, a Redis of its own on a socket in var/redis (bot/locks.py); the
# Messenger channel keeps what the workers must share there too (REDIS_SOCKET). Each worker holds
# the model (about 450 MB of its own). SANIC_WORKERS=1 runs one.
SANIC_WORKERS ?= 2
LOCK_SOCKET := var/redis/locks.sock
LOCK_REDIS := bash scripts/lock-redis.sh $(LOCK_SOCKET)

redis:
	@command -v redis-server >/dev/null || bash scripts/install-test-deps.sh redis

run: train redis  ## start the assistant (Rasa on 5005, actions on 5055); Ctrl-C stops both
	@trap 'kill 0' EXIT; \
	$(LOCK_REDIS) & \
	SANIC_HOST=127.0.0.1 $(RASA) run actions --port $(ACTIONS_PORT) --actions actions & \
	SANIC_WORKERS=$(SANIC_WORKERS) REDIS_SOCKET=$(LOCK_SOCKET) \
	  WEBCHAT_ALLOWED_ORIGINS="$(WEBCHAT_ALLOWED_ORIGINS)" $(BIN)/python -m bot.serve --port $(RASA_PORT) & \
	until curl -sf localhost:$(RASA_PORT)/webhooks/rest/ >/dev/null; do sleep 1; done; \
	echo; echo "The assistant is ready. Chat with it in a browser: http://localhost:$(RASA_PORT)/webchat/"; \
	echo "or from the command line:"; \
	echo "  curl -s localhost:$(RASA_PORT)/webhooks/rest/webhook -d '{\"sender\":\"me\",\"message\":\"is fortnite ok?\"}'"; \
	echo "Press Ctrl-C to stop."; wait

# The assistant as `make run` starts it (one worker), and Rasa's terminal chat on its REST channel,
# which sends each answer's messages one by one (`rasa shell` prints an answer's further messages
# as JSON: bot/content.py, as_response).
shell: train redis  ## chat in the terminal
	@trap 'kill 0' EXIT; \
	$(LOCK_REDIS) & \
	SANIC_HOST=127.0.0.1 $(RASA) run actions --port $(ACTIONS_PORT) --actions actions >/dev/null 2>&1 & \
	SANIC_WORKERS=1 REDIS_SOCKET=$(LOCK_SOCKET) $(BIN)/python -m bot.serve --port $(RASA_PORT) >/dev/null 2>&1 & \
	until curl -sf localhost:$(RASA_PORT)/webhooks/rest/ >/dev/null; do sleep 1; done; \
	$(BIN)/python -m bot shell --url http://localhost:$(RASA_PORT)

services:  ## install PostgreSQL, Redis and Chromium (Debian packages) if missing, for the tests
	bash scripts/install-test-deps.sh

# axe-core, the accessibility checker the browser tests run on the web chat (npm registry).
AXE := .build/axe/node_modules/axe-core/axe.min.js
$(AXE):
	mkdir -p .build/axe
	cd .build/axe && npm install --no-audit --no-fund --silent axe-core@4.14.1

test: train services $(AXE)  ## check the data and run every test
	$(BIN)/python -m pytest

bench: train  ## measure training, start-up, accuracy on every set and latency (EVAL_SETS="file ...")
	$(BIN)/python -m bench $(foreach f,$(EVAL_SETS),--set $(f))

bench-load: train services  ## parents at once: one server, two, turn 200, memory (PROFILE=1: flame graph)
	$(BIN)/python -m bench.load $(if $(PROFILE),--profile) $(ARGS)

# Where production listens: this machine only, unless set (the reverse proxy, or the Rasa servers
# for the action server, must reach it; never a public address).
RASA_INTERFACE ?= 127.0.0.1
ACTIONS_INTERFACE ?= 127.0.0.1

ENDPOINTS ?= endpoints.yml

serve: train redis  ## production: needs RASA_JWT_SECRET; ENDPOINTS=endpoints.prod.yml for PostgreSQL + Redis
	@test -n "$$RASA_JWT_SECRET" || { echo "Set RASA_JWT_SECRET: the HTTP API is never served without it (docs/deploy.md)."; exit 1; }
	@trap 'kill 0' EXIT; \
	$(if $(filter endpoints.yml,$(ENDPOINTS)),$(LOCK_REDIS) &) \
	SANIC_HOST=$(ACTIONS_INTERFACE) $(RASA) run actions --port $(ACTIONS_PORT) --actions actions & \
	SANIC_WORKERS=$(SANIC_WORKERS) $(if $(filter endpoints.yml,$(ENDPOINTS)),REDIS_SOCKET=$(LOCK_SOCKET)) \
	  $(BIN)/python -m bot.serve --interface $(RASA_INTERFACE) \
	  --port $(RASA_PORT) --endpoints $(ENDPOINTS) --credentials credentials.yml & \
	wait

api-token: setup  ## a token for Rasa's HTTP API: curl -H "Authorization: Bearer $$(make -s api-token)" ...
	@$(BIN)/python -m bot api-token $(ARGS)

# pip-audit in a virtual environment of its own (its dependencies clash with Rasa's).
AUDIT := .build/audit/bin/pip-audit
$(AUDIT): requirements-audit.txt
	test -x .build/audit/bin/python || $(PYTHON_310) -m venv .build/audit
	.build/audit/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-audit.txt
	touch $@

audit: $(AUDIT)  ## known vulnerabilities in every pinned package (needs PyPI's or OSV's advisory service)
	$(AUDIT) --requirement requirements.txt --no-deps --disable-pip --strict --progress-spinner off \
	  $(ARGS) || { echo; echo "Not audited, or advisories found: see docs/security.md."; exit 1; }

check: setup  ## check the content and training data (seconds, no training)
	$(BIN)/python -m bot check $(ARGS)

evaluate: setup  ## score the model on the held-out messages; report in reports/
	$(BIN)/python -m bot evaluate $(ARGS)

review: setup  ## messages the assistant did not understand (ARGS="--since 2026-11-01 --yaml x.yml")
	$(BIN)/python -m bot review $(ARGS)

report: setup  ## what parents ask and how it is going: reports/usage/index.html (ARGS="--since 2026-11-01")
	$(BIN)/python -m bot report $(ARGS)

purge: setup  ## delete stored conversations older than 30 days (ARGS="--days 14")
	$(BIN)/python -m bot purge $(ARGS)

clean:  ## remove the virtual environment, builds and models
	rm -rf $(VENV) .build models .pytest_cache
