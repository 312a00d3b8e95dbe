# The two commands of the README (`make demo`, `make test`) set everything up
# on a machine with only python3 and make: they create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.carekit-dev
BSTAMP := $(VENV)/.carekit-bench
DSTAMP := $(VENV)/.carekit-docs

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(BSTAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $(BSTAMP)

# The reference demo: a week-end's worth of an Indonesian shop's care desk through the
# real engine on an embedded SQLite file in a temporary folder; prints the KPI report
# and the path of the HTML report.
$(DSTAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,docs]'
	touch $(DSTAMP)

demo: $(STAMP)
	$(PY) -m carekit simulate --days 3 --seed 7

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks
	$(PY) -m ruff format --check src tests examples benchmarks
	$(PY) -m mypy

docs: $(DSTAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

bench: $(BSTAMP)
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
