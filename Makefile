# The README's two commands, plus the developer targets. Every target creates .venv when
# it is missing and installs what it needs, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench bench-e2e bench-proxy install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m crossorigin.tools.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m benchmarks
	$(MAKE) bench-proxy

bench-e2e: $(STAMP)
	$(BIN)/python -m benchmarks.e2e

# crossorigin proxy vs the upstream directly, cors-anywhere and local-cors-proxy (needs wrk,
# curl, node and npm; the Node proxies are installed into benchmarks/.proxy-cache).
bench-proxy: $(STAMP)
	$(BIN)/python -m benchmarks.proxy_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
