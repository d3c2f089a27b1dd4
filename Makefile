# Everyday commands. Run them in the project's virtual environment (. .venv/bin/activate;
# pip install -e ".[dev]"): they call the tools on PATH, as .ci/run does.

PYTHON ?= python
DOCS_OUT ?= docs/_build/html
BENCHMARKS ?= $(wildcard benchmarks/*.py)

.PHONY: help test lint docs docs-check bench demo clean

help:
	@echo "make test        the tests (the README's test command)"
	@echo "make lint        ruff check, ruff format --check, mypy, lint-imports (the layer rule)"
	@echo "make docs        the documentation site into $(DOCS_OUT), warnings as errors"
	@echo "make docs-check  run the Python code of the documentation pages"
	@echo "make bench       every benchmark in benchmarks/ (real data of ../shared/data)"
	@echo "make demo        connectivity demo (isochrones from Helsinki Central)"

test:
	$(PYTHON) -m pytest -q

lint:
	ruff check .
	ruff format --check .
	mypy connectivity
	lint-imports

docs:
	sphinx-build -W --keep-going -b html docs $(DOCS_OUT)

docs-check:
	$(PYTHON) docs/check_guide.py

# Each benchmark runs with its defaults and prints its table; all run even if one fails.
# One of them: make bench BENCHMARKS=benchmarks/demo.py
bench:
	@status=0; for script in $(BENCHMARKS); do \
		echo "== $$script"; $(PYTHON) $$script || status=1; \
	done; exit $$status

demo:
	connectivity demo

clean:
	rm -rf docs/_build connectivity-demo
