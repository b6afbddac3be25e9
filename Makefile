# The README's two commands, plus the developer targets. Every target creates .venv when
# it is missing and installs what it needs, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench bench-e2e bench-proxy install clean

DEMO_STAMP := $(VENV)/.installed-tools

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing crossorigin with its test, lint and benchmark tools into $(VENV)"
	@echo "(the frameworks, servers and browsers drivers it is tested with: a few minutes the first time)..."
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo needs only the command-line tools, a much smaller install.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing crossorigin and its command-line tools (uvicorn, httpx, rich) into $(VENV)..."
	$(BIN)/python -m pip install --quiet -e '.[tools]'
	touch $(DEMO_STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
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
	$(BIN)/python -m benchmarks.resolver_bench
	$(MAKE) bench-proxy

bench-e2e: $(STAMP)
	$(BIN)/python -m benchmarks.e2e

# crossorigin proxy vs the upstream directly, cors-anywhere and local-cors-proxy (needs wrk,
# curl, node and npm; the Node proxies are installed into benchmarks/.proxy-cache).
bench-proxy: $(STAMP)
	$(BIN)/python -m benchmarks.proxy_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
