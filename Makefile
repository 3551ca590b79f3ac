# kume: two commands do all the set-up on a fresh machine with Python 3.11+ and make.
#   make run   - create .venv, install kume, run the nightly flow on the shipped data
#   make test  - same set-up, then lint and the test suite
#   make serve - the local Prefect stack for operators (see README: Operating kume)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= out

.PHONY: run test serve lint format sample clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("kume needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kume run --out $(OUT)

# The operator's stack: Prefect server on 127.0.0.1:4200, work pool, deployments, worker.
serve: $(STAMP)
	$(BIN)/kume serve

test: $(STAMP) lint browser
	$(BIN)/python -m pytest

# The report tests drive Debian's headless Chromium; install it when missing (as root, as in CI).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-dejavu-core; \
	  else echo "the report tests need Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

sample: $(STAMP)
	$(BIN)/kume generate-sample

clean:
	rm -rf $(VENV) $(OUT) .prefect .pytest_cache .ruff_cache
