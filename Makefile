# Two commands do all set-up on a fresh machine: `make demo` and `make test`; `make ui` opens the Airflow UI.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint demo ui bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install lint
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install
	$(PY) include/demo.py

# The Airflow UI on http://127.0.0.1:8080 (UI_ARGS="--port 0" picks a free port); Ctrl-C stops everything.
ui: install
	$(PY) include/ui.py $(UI_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info .demo
