"""End-to-end fixtures: moto S3 server, the local OCR server (fixture engine), SQLite/PostgreSQL warehouses,
and a helper that runs a DAG from ``dags/`` with ``dag.test()`` against them."""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.services import require_postgres

DAGS_DIR = REPO_ROOT / "dags"
SAMPLES_DIR = REPO_ROOT / "include" / "samples"
PII_HMAC_KEY = "e2e-hmac-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_dag(dag_id: str):
    """Import ``dags/<dag_id>.py`` as the DAG processor would, and return its DAG."""
    path = DAGS_DIR / f"{dag_id}.py"
    spec = importlib.util.spec_from_file_location(f"e2e_{dag_id}_{uuid.uuid4().hex[:6]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory, worker_id) -> None:
    """A migrated Airflow metadata DB (SQLite in the test AIRFLOW_HOME) for ``dag.test()``.

    Migrating takes half a minute: under pytest-xdist the first worker that needs it migrates its own and
    keeps a copy beside the workers' temporary directories; the others copy that instead of migrating."""
    from airflow import settings
    from airflow.utils import db

    own = Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    if worker_id == "master" or f"sqlite:///{own}" != settings.SQL_ALCHEMY_CONN:
        db.initdb()
        return
    shared = tmp_path_factory.getbasetemp().parent  # the run's, above each worker's own
    template = shared / "airflow-metadata-template.db"
    with open(shared / "airflow-metadata-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not template.exists():
            db.initdb()
            _sqlite_copy(own, template)
            return
    settings.engine.dispose()  # no pooled connection to the file being replaced
    _sqlite_copy(template, own)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database through SQLite's backup API (a consistent copy), then move it into place."""
    partial = target.with_name(f"{target.name}.partial")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)
    os.replace(partial, target)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class S3Env:
    url: str
    bucket: str
    client: Any

    def upload(self, files: dict[str, bytes]) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda kv: self.client.put_object(Bucket=self.bucket, Key=kv[0], Body=kv[1]),
                    files.items(),
                )
            )

    def upload_samples(self, kind: str, prefix: str = "samples/") -> list[Path]:
        images = sorted(p for p in (SAMPLES_DIR / kind).iterdir() if p.suffix != ".json" and p.is_file())
        files = {
            f"{prefix}{kind}/{p.name}": p.read_bytes() for p in (SAMPLES_DIR / kind).iterdir() if p.is_file()
        }
        self.upload(files)
        return images

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@pytest.fixture
def s3_env(monkeypatch, moto_url) -> S3Env:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": moto_url, "region_name": "us-east-1"}}),
    )
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"e2e-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Env(url=moto_url, bucket=bucket, client=client)


@pytest.fixture
def baidu_ocr_server(monkeypatch):
    """The local Baidu-compatible server, fixture engine (answers from the samples' ground truth)."""
    from baidu_ocr_server.testing import running_server

    with running_server(engine="fixture", table_job_seconds=0) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_BAIDU_OCR_DEFAULT", server.airflow_connection(qps=500, timeout=10, max_retries=2)
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_BAIDU_OCR_PII", json.dumps({"conn_type": "generic", "password": PII_HMAC_KEY})
        )
        yield server


@dataclass
class Warehouse:
    kind: str

    @property
    def hook(self):
        from airflow.sdk import BaseHook

        return BaseHook.get_connection("warehouse_default").get_hook()

    def records(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.hook.get_records(sql)]

    def row_counts(self) -> dict[str, int]:
        from baidu_ocr.warehouse import WarehouseLoader

        return WarehouseLoader("warehouse_default").row_counts()


def _sqlite_warehouse(monkeypatch, tmp_path) -> Warehouse:
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
        json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}),
    )
    return Warehouse("sqlite")


@pytest.fixture
def sqlite_warehouse(monkeypatch, tmp_path) -> Warehouse:
    return _sqlite_warehouse(monkeypatch, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, monkeypatch, tmp_path) -> Iterator[Warehouse]:
    """The warehouse each end-to-end test runs against: a SQLite file, then a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield _sqlite_warehouse(monkeypatch, tmp_path)
        return
    require_postgres()
    import psycopg2

    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": "postgres",
                "schema": "test",
                "extra": {"options": f"-c search_path={schema}"},
            }
        ),
    )
    try:
        yield Warehouse("postgres")
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def run_dag(dag_id: str, conf: dict[str, Any], **test_kwargs: Any):
    """Run one DAG run in-process (tasks and triggers inline) and return the finished DagRun.

    ``logical_date=`` and ``run_after=`` of an earlier run clear and rerun that run, as "Clear" does in the UI.
    """
    return load_dag(dag_id).test(run_conf=conf, **test_kwargs)
