# The two commands of the README: `make demo` (offline backtest + report) and `make test`.
VENV   ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tribar-installed

.PHONY: demo test lint typecheck system-deps install clean

demo: $(STAMP)
	$(BIN)/tribar demo

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# PostgreSQL (ledger tests) and Chromium (rendered reports) from Debian; Prometheus comes with
# the monitoring work.
system-deps:
	bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	bash scripts/typecheck.sh

clean:
	rm -rf $(VENV) build *.egg-info user_data/backtest_results user_data/plot user_data/models user_data/demo
