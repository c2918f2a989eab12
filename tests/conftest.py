"""Test-wide set-up: an isolated Airflow home per test process, service look-ups that skip on a laptop but fail
in CI, and the ``exclusive`` mark on the tests that need the machine to themselves."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = REPO_ROOT / "tests"

# Airflow reads its configuration at import time: isolate it before anything imports airflow. pytest-xdist's
# workers inherit the environment of the controller, which ran this too: in a worker, what the controller set
# is undone first (when still unchanged), so each worker gets an Airflow home and metadata SQLite of its own.
# A process a test starts (a DAG run in a child) keeps its test process's: same worker, nothing undone.
_SET_BY_TESTS = "BAIDU_OCR_TESTS_SET_ENV"
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_inherited = json.loads(os.environ.get(_SET_BY_TESTS, "{}"))
if _inherited.get("worker", _WORKER) != _WORKER:
    for _name, _value in _inherited["env"].items():
        if os.environ.get(_name) == _value:
            del os.environ[_name]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="baidu-ocr-tests-airflow-"))
_DEFAULTS = {
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
}
_set = {name: value for name, value in _DEFAULTS.items() if name not in os.environ}
os.environ.update(_set)
if _set or _SET_BY_TESTS not in os.environ:
    os.environ[_SET_BY_TESTS] = json.dumps({"worker": _WORKER, "env": _set})

# Whole folders whose tests start a deployment of their own (the Celery cluster with its scheduler and
# triggerer, `airflow standalone` under a browser, a wheel installed into a fresh venv): they run alone, after
# the rest (see the Makefile's `test`). Single tests elsewhere carry `@pytest.mark.exclusive` themselves.
EXCLUSIVE_FOLDERS = ("browser", "cluster", "packaging")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    folders = [TESTS_DIR / folder for folder in EXCLUSIVE_FOLDERS]
    for item in items:
        if any(folder in Path(item.path).resolve().parents for folder in folders):
            item.add_marker(pytest.mark.exclusive)
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker sorts alike: xdist checks they collected alike
        items.sort(key=lambda item: not _long(item))


def _long(item: pytest.Item) -> bool:
    """A test that runs a DAG, the real OCR engine or is marked slow. pytest-xdist hands tests out in order:
    these first, so that no worker is left running a long one alone at the end while the others idle."""
    return (
        "airflow_db" in getattr(item, "fixturenames", ())
        or item.get_closest_marker("slow") is not None
        or TESTS_DIR / "engines" in Path(item.path).resolve().parents
    )
