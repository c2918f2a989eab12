"""WarehouseLoader on a SQLite file: one schema check per loader, whatever it is asked."""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

import baidu_ocr.warehouse.loader as loader_module
import pytest
from baidu_ocr.normalize import normalize_records
from baidu_ocr.warehouse import OutdatedSchema, WarehouseLoader


@pytest.fixture
def checks(monkeypatch):
    """The loaders whose schema was checked, one entry per check."""
    checked = []
    check = loader_module.ensure_tables
    monkeypatch.setattr(loader_module, "ensure_tables", lambda wh, **k: checked.append(wh) or check(wh, **k))
    return checked


@pytest.fixture
def warehouse_path(monkeypatch, tmp_path):
    path = tmp_path / "warehouse.db"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_UNIT", f"sqlite://{quote(str(path), safe='')}")
    return path


def test_the_schema_is_checked_once_per_loader(warehouse_path, checks):
    loader = WarehouseLoader("warehouse_unit")
    loader.ensure_schema()
    loader.load(normalize_records([]))
    loader.processed_pages(["a" * 64], "general_basic", "opts")
    loader.usage(dag_id="d", run_id="r")
    loader.review_queue("d", "r")
    assert checks == [loader]

    other = WarehouseLoader("warehouse_unit")
    other.usage(dag_id="d", run_id="r")
    assert checks == [loader, other]  # a loader of its own checks again


def test_an_outdated_schema_is_checked_again_until_migrated(warehouse_path, checks):
    with sqlite3.connect(warehouse_path) as conn:  # as a release before pages created it
        conn.execute("CREATE TABLE ocr_documents (content_sha256 TEXT, endpoint TEXT, options_hash TEXT)")
    loader = WarehouseLoader("warehouse_unit")
    for _ in range(2):
        with pytest.raises(OutdatedSchema, match="--migrate warehouse_unit"):
            loader.usage(dag_id="d", run_id="r")
    loader.ensure_schema(migrate=True)
    assert loader.usage(dag_id="d", run_id="r") == {}
    assert len(checks) == 3


def test_copy_csv_of_a_frame_concatenated_onto_an_empty_one_is_plain_csv():
    """pyarrow's CSV writer wrote NUL bytes for a column whose first chunk is empty; COPY refused them."""
    import pandas as pd
    from baidu_ocr.normalize.schema import TABLES
    from baidu_ocr.warehouse.load import _csv

    queue = TABLES["ocr_review_queue"]
    row = queue.conform(
        [{"content_sha256": "a", "endpoint": "e", "options_hash": "h", "page_no": 0, "reason": "r"}]
    )
    data = _csv(pd.concat([queue.empty(), row], ignore_index=True)).to_pybytes()
    assert b"\x00" not in data and data == _csv(row).to_pybytes()
