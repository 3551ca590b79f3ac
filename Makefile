# kume: two commands do all the set-up on a fresh machine with Python 3.11+ and make.
#   make run   - create .venv, install the locked packages and kume, run the nightly flow on the shipped data
#   make test  - same set-up, then lint and the test suite
#   make serve - the local Prefect stack for operators (see README: Operating kume)
#   make lock  - refresh requirements.lock from pyproject.toml's ranges (see README: The locked environment)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
OUT ?= out
# The tools that write the lock, pinned so that the same ranges give the same file.
PIP_TOOLS := pip==26.3 pip-tools==7.6.2
# `make lock` takes the newest versions the ranges allow; `make lock LOCK_UPGRADE=` keeps the
# current pins and only adds or drops what a change of pyproject.toml needs.
LOCK_UPGRADE ?= --upgrade

.PHONY: run test serve lint format sample clean browser lock

# Every package at the version of the lock, each file checked against its hashes (--require-hashes),
# nothing resolved here (--no-deps); then kume itself, built with the locked setuptools.
# `pip check` fails when the lock no longer satisfies pyproject.toml: run `make lock`.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -c 'import sys; sys.exit("kume needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Resolved on Python 3.11, the oldest kume supports (so its backports are in), with the hashes of
# every file of each pinned version (wheels of every Python and platform, and the sdist).
lock:
	$(PYTHON) -c 'import sys; sys.exit("make lock resolves on Python 3.11: make lock PYTHON=python3.11") if sys.version_info[:2] != (3, 11) else None'
	tools=$$(mktemp -d) && trap 'rm -rf "$$tools"' EXIT && \
	$(PYTHON) -m venv "$$tools" && \
	"$$tools/bin/python" -m pip install --quiet $(PIP_TOOLS) && \
	CUSTOM_COMPILE_COMMAND="make lock" "$$tools/bin/pip-compile" --quiet $(LOCK_UPGRADE) \
	  --extra dev --all-build-deps --allow-unsafe --strip-extras --generate-hashes \
	  --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

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
