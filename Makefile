# Two entry points for a fresh machine: `make run` and `make test`.
# Each creates the virtual environment in .venv if it is missing. torch is
# installed first and pinned (an unpinned torch can pull a multi-GB CUDA build).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RECIPE ?= recipes/gaia_kinematic.yaml

.PHONY: run test env clean

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,pyod,zeropoint]"
	touch $@

run: env
	$(BIN)/toolkit run $(RECIPE)

test: env
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
