"""Every file in dags/ parses into a valid DAG, offline: the DAG processor imports these files constantly."""

from __future__ import annotations

import importlib.util
import socket
import uuid
from pathlib import Path

import pytest

from tests.dags.conftest import DAGS_DIR

DAG_FILES = sorted(DAGS_DIR.glob("*.py"))


class NetworkAtParseTime(AssertionError):
    pass


def _import_offline(path: Path, monkeypatch):
    def refuse(*args, **kwargs):
        raise NetworkAtParseTime(f"{path.name} opened a network connection while being parsed: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    spec = importlib.util.spec_from_file_location(f"integrity_{path.stem}_{uuid.uuid4().hex[:6]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_example_dags():
    assert {p.stem for p in DAG_FILES} >= {
        "baidu_ocr_s3_to_warehouse",
        "baidu_ocr_idcards_to_warehouse",
        "baidu_ocr_tables_to_warehouse",
        "baidu_ocr_parse_documents",
    }


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.stem for p in DAG_FILES])
def test_dag_file_imports_offline_into_a_valid_documented_dag(path, monkeypatch):
    module = _import_offline(path, monkeypatch)
    dag = module.dag
    dag.validate()
    assert dag.dag_id == path.stem  # one DAG per file, named after it
    assert dag.doc_md and "Connections" in dag.doc_md
    # Triggered by hand, except the event-driven DAG: S3 notifications through SQS, and a timed catch-up.
    if path.stem == "baidu_ocr_s3_events_to_warehouse":
        assert type(dag.schedule).__name__ == "AssetOrTimeSchedule"
    else:
        assert dag.schedule is None
    assert "baidu-ocr" in dag.tags
    assert {"bucket", "prefix", "batch_size"} <= set(dag.params)
    ocr_tasks = [
        t
        for t in dag.tasks
        if t.task_type in {"BaiduOcrBatchOperator", "BaiduOcrTableOperator", "BaiduOcrParserOperator"}
    ]
    assert ocr_tasks and all(t.pool == "baidu_ocr" for t in ocr_tasks)
    loads = [t for t in dag.tasks if t.task_id == "normalize_and_load"]
    # One AssetAlias per table written: an event is emitted only for tables that received rows.
    assert loads and all(alias.name.startswith("baidu-ocr-warehouse://") for alias in loads[0].outlets)


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.stem for p in DAG_FILES])
def test_dag_serializes_for_the_scheduler(path, monkeypatch):
    from airflow.serialization.serialized_objects import DagSerialization

    dag = _import_offline(path, monkeypatch).dag
    restored = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    assert set(restored.task_ids) == set(dag.task_ids)


def test_the_network_guard_catches_a_connection(monkeypatch, tmp_path):
    bad = tmp_path / "bad_dag.py"
    bad.write_text("import socket\nsocket.create_connection(('127.0.0.1', 9))\n")
    with pytest.raises(NetworkAtParseTime):
        _import_offline(bad, monkeypatch)


def test_parsing_the_dags_stays_light():
    """Parsing must not pull in pandas/pyarrow/PIL/the SDK: the DAG processor pays for it on every parse."""
    import subprocess
    import sys

    code = (
        "import sys, importlib.util, pathlib\n"
        f"for path in sorted(pathlib.Path({str(DAGS_DIR)!r}).glob('*.py')):\n"
        "    spec = importlib.util.spec_from_file_location(path.stem, path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "heavy = sorted(m for m in ('pandas', 'pyarrow', 'PIL', 'aip', 'cv2', 'rapidocr') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    (heavy,) = [line for line in result.stdout.splitlines() if line.startswith("HEAVY=")]
    assert heavy == "HEAVY=", f"imported while parsing DAG files: {heavy.removeprefix('HEAVY=')}"


@pytest.mark.parametrize("syntax", ["glob", "regexp"])
def test_airflow_executes_none_of_the_providers_modules_as_plugin_files(syntax):
    """A checkout's plugins folder holds the provider package, not plugin files: Airflow's plugin loader would
    run each module under its bare name (``warehouse/__main__.py`` as ``__main__``, writing DDL files into the
    working directory of every scheduler and worker)."""
    from airflow._shared.module_loading import find_path_from_directory

    plugins = DAGS_DIR.parent / "plugins"
    assert (plugins / "baidu_ocr" / "warehouse" / "__main__.py").is_file()
    loaded = [
        p for p in find_path_from_directory(str(plugins), ".airflowignore", syntax) if p.endswith(".py")
    ]
    assert loaded == []
