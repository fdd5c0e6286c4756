# Two commands do all set-up on a fresh clone: `make run` and `make test`.
PY      := .venv/bin/python
BIN     := .venv/bin
STAMP   := .venv/.installed
HOST    ?= 127.0.0.1
PORT    ?= 7860
export HF_HUB_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False
export ANONYMIZED_TELEMETRY=False
# Bytecode is kept even where the environment says not to: install compiles none (below), so without it every
# process would compile torch and the rest again on import.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: install ingest run serve test eval lint chromium bench clean

install: $(STAMP)

# A first install took 40 s on a fresh clone here (pip's cache warm); each step says what it is doing. It compiles no
# bytecode: Python compiles a module when it is first imported and keeps the result, about 14 s over everything the
# suite and the app import (5,268 modules), against about 60 s for all 22,407 files of the venv up front (pip file by
# file, or compileall on every core: the install took 87 s with it).
$(STAMP): pyproject.toml
	@set -e; start=$$(date +%s); \
	echo "install [1/4] creating .venv (a few seconds)"; \
	test -x $(PY) || python3.11 -m venv .venv || python3 -m venv .venv; \
	echo "install [2/4] upgrading pip (about 10 s)"; \
	$(PY) -m pip install --quiet --upgrade pip; \
	echo "install [3/4] torch==2.13.0, the CPU build (about 15 s)"; \
	$(PY) -m pip install --quiet --no-compile torch==2.13.0; \
	echo "install [4/4] Ray Advisor and its libraries: chromadb, gradio, sentence-transformers, ... (about 1 min)"; \
	$(PY) -m pip install --quiet --no-compile -e '.[dev]'; \
	touch $(STAMP); \
	echo "install done in $$(( $$(date +%s) - start )) s"

ingest: install
	$(BIN)/ray-advisor ingest

# The port is checked first: a busy one fails in a second, before ingest loads the embedding model.
run: install
	@$(PY) -m ui.ports $(HOST) $(PORT)
	$(BIN)/ray-advisor ingest
	@echo "Ray Advisor: open http://$(HOST):$(PORT)/ (API docs at http://$(HOST):$(PORT)/docs)"
	$(BIN)/ray-advisor serve --host $(HOST) --port $(PORT)

# Debian's chromium for the browser test (Playwright's own browser download cannot work offline).
chromium:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: chromium is not installed; the browser test will be skipped"; }

test: install chromium
	$(BIN)/ruff check assistant ingest ui evals tests
	$(BIN)/mypy
	$(PY) -m pytest -q

eval: ingest
	$(BIN)/ray-advisor eval --report eval-report

lint: install
	$(BIN)/ruff check assistant ingest ui evals tests
	$(BIN)/mypy

# One table: Ray Advisor (fp32 and int8 question encoders) beside a plain LangChain RAG, same run.
bench: ingest
	$(PY) scripts/bench.py

clean:
	rm -rf .ray-advisor eval-report .pytest_cache .mypy_cache .ruff_cache
