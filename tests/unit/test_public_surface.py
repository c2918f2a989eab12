"""The import paths and commands users write keep working across releases: this file pins them.

0.2.0 moved the modules into role folders. The public paths (``baidu_ocr.hooks``, ``baidu_ocr.operators``,
``baidu_ocr.triggers``, ``baidu_ocr.warehouse``, ``baidu_ocr.exceptions``, the connection type, the commands)
stay; every other 0.1.0 module path still imports, warns once, and is the very module at its new home.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from baidu_ocr.moved_modules import MOVED

OPERATORS = {
    "BaiduOcrApplyReviewsOperator",
    "BaiduOcrBatchOperator",
    "BaiduOcrImageOperator",
    "BaiduOcrInvoiceReviewOperator",
    "BaiduOcrParserOperator",
    "BaiduOcrReviewOperator",
    "BaiduOcrRunSummaryOperator",
    "BaiduOcrTableOperator",
    "BaiduOcrWarehouseLoadOperator",
}
EXCEPTIONS = {
    "AuthenticationFailed",
    "BadImage",
    "BaiduOcrError",
    "BatchFailureRatioExceeded",
    "BudgetExhausted",
    "ConfigError",
    "ParserTasksTimedOut",
    "QuotaExhausted",
    "RateLimited",
    "ReviewsNotStored",
    "ResultFileError",
    "RunFailed",
    "RunHadFailedBatches",
    "RunStoppedEarly",
    "S3SourceUnavailable",
    "SealedIdNumbersError",
    "SubmitStopped",
    "TableJobsTimedOut",
    "TokenError",
    "TransientError",
    "WarehouseLoadFailed",
}


def _python(code: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter: imports and their warnings start from nothing."""
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=120, **kwargs
    )


def test_the_hook_operators_and_triggers_import_from_their_public_packages():
    from baidu_ocr import hooks, operators, triggers
    from baidu_ocr.hooks.ocr import BaiduOcrHook
    from baidu_ocr.triggers.jobs import BaiduOcrParserTaskTrigger, BaiduOcrTableJobTrigger

    assert hooks.BaiduOcrHook is BaiduOcrHook
    assert set(operators.__all__) >= OPERATORS
    for name in OPERATORS:
        assert getattr(operators, name).__module__.startswith("baidu_ocr.operators.")
    assert (triggers.BaiduOcrTableJobTrigger, triggers.BaiduOcrParserTaskTrigger) == (
        BaiduOcrTableJobTrigger,
        BaiduOcrParserTaskTrigger,
    )


def test_trigger_rows_stored_with_the_old_class_path_still_load():
    from airflow._shared.module_loading import import_string  # what the triggerer loads trigger rows with
    from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger

    assert import_string("baidu_ocr.triggers.BaiduOcrTableJobTrigger") is BaiduOcrTableJobTrigger
    classpath, _ = BaiduOcrTableJobTrigger(jobs=[], deadline=0.0).serialize()
    assert import_string(classpath) is BaiduOcrTableJobTrigger


def test_every_exception_a_user_may_catch_is_in_one_module():
    from baidu_ocr import exceptions

    assert set(exceptions.__all__) == EXCEPTIONS
    for name in EXCEPTIONS:
        assert issubclass(getattr(exceptions, name), Exception)
    from baidu_ocr.operators import RunHadFailedBatches, SubmitStopped

    assert (RunHadFailedBatches, SubmitStopped) == (exceptions.RunHadFailedBatches, exceptions.SubmitStopped)


def test_the_connection_type_names_an_importable_hook():
    from airflow._shared.module_loading import import_string
    from baidu_ocr.provider import get_provider_info

    info = get_provider_info()
    (conn_type,) = [c for c in info["connection-types"] if c["connection-type"] == "baidu_ocr"]
    assert import_string(conn_type["hook-class-name"]).conn_type == "baidu_ocr"
    for kind in ("hooks", "operators", "triggers"):
        for module in info[kind][0]["python-modules"]:
            assert _python(f"import {module}").returncode == 0, module


def test_old_module_paths_import_the_new_modules_and_warn_once():
    code = f"""
import importlib, json, warnings
import airflow.exceptions  # as in a DAG file: Airflow is imported (and has set up warnings) first
warnings.simplefilter("always")
out = {{}}
for old, new in {json.dumps(MOVED)}.items():
    with warnings.catch_warnings(record=True) as first:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        importlib.import_module(old)
    out[old] = [module is importlib.import_module(new), [type(w.message).__name__ for w in first],
                [str(w.message) for w in first], len(again)]
print("RESULT " + json.dumps(out))
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.rsplit("RESULT ", 1)[1])
    assert set(seen) == set(MOVED)
    for old, (same, categories, messages, warned_again) in seen.items():
        assert same, f"{old} is not the module at {MOVED[old]}"
        assert categories == ["AirflowProviderDeprecationWarning"], (old, categories)
        assert MOVED[old] in messages[0]
        assert warned_again == 0, f"{old} warned twice"


def test_a_0_1_0_planning_import_from_assets_still_works_with_a_warning():
    from baidu_ocr.pipeline import s3_batches

    with pytest.warns(Warning, match="moved to baidu_ocr.pipeline.s3_batches.batch_specs"):
        from baidu_ocr.pipeline.assets import batch_specs
    assert batch_specs is s3_batches.batch_specs


def test_the_warehouse_command_migrates_a_warehouse(tmp_path):
    database = tmp_path / "warehouse.db"
    env = {
        "PATH": str(Path(sys.executable).parent),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW_CONN_WAREHOUSE_X": json.dumps({"conn_type": "sqlite", "host": str(database)}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "baidu_ocr.warehouse", "--migrate", "warehouse_x"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "warehouse_x: tables up to date" in result.stdout
    import sqlite3

    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"ocr_documents", "ocr_lines", "ocr_usage"} <= tables


def test_the_server_command_is_installed():
    script = Path(sys.executable).parent / "baidu-ocr-server"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--engine" in result.stdout
