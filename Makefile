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
	$(BIN)/python -m pip install --quiet -e ".[test,pyod,zeropoint,docs,dask]"
	touch $@

run: env
	$(BIN)/toolkit run $(RECIPE)

# two test processes (one per core, at most two), each test file kept on one of them (its fixtures made once)
PARALLEL := -n auto --maxprocesses 2 --dist loadfile

test: env
	$(BIN)/python -m pytest -q $(PARALLEL)

clean:
	rm -rf $(VENV) runs .pytest_cache

# -- added: the quick subset, README figures, mutation testing -----------------------------------
.PHONY: test-quick readme-figures mutants

# everything but the tests marked slow (end-to-end recipe runs, fresh README figures)
test-quick: env
	$(BIN)/python -m pytest -q -m "not slow" $(PARALLEL)

# recompute every figure README.md states; prints a diff, exit 1 when README disagrees
# (add ARGS=--write-readme to update README.md and benchmarks/readme_figures.json)
readme-figures: env
	$(BIN)/python benchmarks/readme_figures.py $(ARGS)

# mutation testing on demand (cosmic-ray; edits sources in place while it runs, restores them);
# MUTANTS=core for all of core/, see tests/mutants.py --list and docs/developer.md
MUTANTS ?=
mutants: env
	$(BIN)/python -m pip install --quiet -e ".[mutants]"
	$(BIN)/python tests/mutants.py $(MUTANTS)

# -- added: the documentation site (Sphinx, MyST Markdown, furo); warnings are errors --------------
.PHONY: docs
docs: env
	$(BIN)/python -m sphinx -W --keep-going -b html docs build/docs
	@echo "open build/docs/index.html"
