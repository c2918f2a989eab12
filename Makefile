# Two commands do all set-up on a fresh machine: `make demo` and `make test`; `make ui` opens the Airflow UI.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The demo, UI and cluster scripts (include/baidu_ocr_dev) run from the checkout; they are not in the wheel.
export PYTHONPATH := $(CURDIR)/include$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: install test lint docs wheel demo ui cluster-demo bench-triggerer clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The documentation site (mkdocs.yml, docs/) into site/, strictly: a broken link, anchor or reference fails.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# The suite in two phases: first every test not marked `exclusive` on PYTEST_WORKERS processes (pytest-xdist:
# they mostly wait on servers and subprocesses; an idle worker takes tests queued for a busy one), then the
# `exclusive` ones (a deployment of their own, a throughput check) alone. PYTEST_ARGS goes to both; select
# by marker with PYTEST_MARK="slow", not with -m. Both phases run even if the first fails; one that selects
# nothing (exit 5, e.g. PYTEST_ARGS=tests/unit) is no failure unless both select nothing.
PYTEST_WORKERS ?= 3
PYTEST_MARK ?=
PYTEST := $(PY) -m pytest --durations=15
AND_MARK = $(if $(PYTEST_MARK),($(PYTEST_MARK)) and )
PHASE_STATUS = || { rc=$$?; [ $$rc -eq 5 ] && empty=$$((empty + 1)) || status=$$rc; }

test: install lint docs
	status=0; empty=0; \
	$(PYTEST) $(PYTEST_ARGS) -m "$(AND_MARK)not exclusive" -n $(PYTEST_WORKERS) --dist worksteal $(PHASE_STATUS); \
	$(PYTEST) $(PYTEST_ARGS) -m "$(AND_MARK)exclusive" $(PHASE_STATUS); \
	[ $$empty -lt 2 ] || status=5; exit $$status

# Build the sdist and the wheel, install the wheel into a fresh venv (no checkout on sys.path) and run a DAG
# with it: tests/packaging, which `make test` runs too (an editable install hides a module left out of it).
wheel: install
	$(PY) -m pytest tests/packaging $(PYTEST_ARGS)

demo: install
	$(PY) -m baidu_ocr_dev.demo

# The Airflow UI on http://127.0.0.1:8080 (UI_ARGS="--port 0" picks a free port); Ctrl-C stops everything.
ui: install
	$(PY) -m baidu_ocr_dev.ui $(UI_ARGS)

# The same DAGs on a real cluster: CeleryExecutor, Redis broker, PostgreSQL metadata, 2 workers, a triggerer.
# Needs PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379). CLUSTER_ARGS=--images 200
cluster-demo: install
	$(PY) -m baidu_ocr_dev.cluster $(CLUSTER_ARGS)

bench-triggerer: install
	$(PY) bench/bench_triggerer.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info .demo .cluster .bench site
