# The README's two commands: `make study` (the main job) and `make test` (the whole test suite);
# `make docs` builds the documentation site into site/ (warnings are errors).
# Each creates the virtual environment in .venv on first use (Python >= 3.11 and pip; only the
# package registries need to be reachable) and reinstalls when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DOCS_STAMP := $(VENV)/.docs-installed-stamp

.PHONY: study test docs lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

study: $(STAMP)
	$(BIN)/mnist-logreg study

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/python -m pytest -q

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
