"""Warehouse loaders on a real PostgreSQL (a fresh schema per test) and on a SQLite file."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from baidu_ocr.warehouse import WarehouseLoader

from tests.services import require_postgres


def sqlite_conn_uri(path: Path) -> str:
    """An Airflow connection URI for a SQLite file: the absolute path, quoted, is the connection's host."""
    return f"sqlite://{quote(str(path), safe='')}"


@pytest.fixture(params=["sqlite", "postgres"])
def make_loader(request, monkeypatch, tmp_path):
    """A factory of loaders on one fresh warehouse: each call is its own loader and connection."""
    if request.param == "postgres":
        uri = require_postgres()
        schema = f"baidu_ocr_test_{uuid.uuid4().hex[:12]}"
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_TEST", uri)
        yield lambda: WarehouseLoader("warehouse_test", schema=schema)
        import psycopg2

        with psycopg2.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()
    else:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_TEST", sqlite_conn_uri(tmp_path / "warehouse.db"))
        yield lambda: WarehouseLoader("warehouse_test")


@pytest.fixture
def loader(make_loader):
    warehouse = make_loader()
    warehouse.ensure_schema()
    return warehouse
