"""Issue 11, end to end: the ID-card DAG with DEBUG logging everywhere leaks no key, secret, token or clear
ID number into task logs, debug prints, XCom, staged objects or the warehouse.

Staged raw responses are the one place that holds clear numbers by design (the load step needs them to
compute the HMAC and ciphertext): their ``result_json`` is checked to be encrypted at rest (SSE) and purged,
every other column of them is scanned like everything else.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.dags.conftest import SAMPLES_DIR, run_dag

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _clear_numbers() -> set[str]:
    numbers = set()
    for truth in (SAMPLES_DIR / "idcards").glob("*.json"):
        fields = json.loads(truth.read_text(encoding="utf-8")).get("idcard", {}).get("fields", {})
        if "公民身份号码" in fields:
            number = fields["公民身份号码"]["text"]
            numbers |= {number, number.lower()}
    assert numbers, "the samples hold front sides with ID numbers"
    return numbers


@pytest.fixture
def staged(monkeypatch) -> list[dict]:
    """Every object ``write_records`` wrote, read back from S3 before the purge step deletes it."""
    from baidu_ocr.pipeline import staging

    captured: list[dict] = []
    write_records = staging.write_records

    def write_and_capture(s3, records, bucket, key, **kwargs):
        uri = write_records(s3, records, bucket, key, **kwargs)
        obj = s3.get_conn().get_object(Bucket=bucket, Key=key)
        captured.append({"key": key, "body": obj["Body"].read(), "sse": obj.get("ServerSideEncryption")})
        return uri

    monkeypatch.setattr(staging, "write_records", write_and_capture)
    return captured


@pytest.fixture
def debug_everywhere(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "airflow", "airflow.task", "botocore", "baidu_ocr"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    return caplog


def _xcom_values(dag_id: str, run_id: str) -> list[str]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id).all()
        return [f"{row.task_id}/{row.key}: {json.dumps(row.value, ensure_ascii=False)}" for row in rows]


def _warehouse_text(path: Path) -> str:
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"')]
    assert any("ocr_idcards" in t for t in tables)
    return "\n".join(rows)


def test_idcard_dag_with_debug_logging_leaks_nothing(
    airflow_db,
    s3_env,
    baidu_ocr_server,
    sqlite_warehouse,
    tmp_path,
    staged,
    debug_everywhere,
    capfd,
    monkeypatch,
):
    s3_env.upload_samples("idcards")  # the test's own set-up (ground truth included): not scanned
    capfd.readouterr()
    debug_everywhere.clear()
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    conf = {"bucket": s3_env.bucket, "prefix": "samples/idcards/", "batch_size": 3}

    run = run_dag("baidu_ocr_idcards_to_warehouse", conf)

    assert run.state == "success"
    tokens = set(baidu_ocr_server.backend._tokens)
    assert tokens, "the server issued the run's access token(s)"
    secrets = {baidu_ocr_server.api_key, baidu_ocr_server.secret_key, *tokens}
    numbers = _clear_numbers()
    printed = capfd.readouterr()
    sources = {
        "captured logs": debug_everywhere.text,
        "stdout/stderr (task logs, http.client debug)": printed.out + printed.err,
        "xcom": "\n".join(_xcom_values(run.dag_id, run.run_id)),
        "warehouse": _warehouse_text(tmp_path / "warehouse.db"),
    }
    assert (
        "send: b'POST /rest/2.0/ocr/v1/idcard?access_token=***"
        in sources["stdout/stderr (task logs, http.client debug)"]
    )
    assert "ocr_idcards" in sources["xcom"] or "n_ok" in sources["xcom"]
    assert staged and all(obj["sse"] == "AES256" for obj in staged)
    responses = []
    for obj in staged:
        frame = pd.read_parquet(io.BytesIO(obj["body"]))
        responses += list(frame["result_json"].dropna())
        sources[f"staged {obj['key']} (raw bytes)"] = obj["body"].decode("latin-1")
        sources[f"staged {obj['key']} (responses)"] = frame["result_json"].str.cat(sep="\n")
        other = frame.drop(columns="result_json").astype(str).to_csv(index=False)
        sources[f"staged {obj['key']} (other columns)"] = other

    # The batch tasks seal every ID number before staging (the load opens them with the PII connection):
    # the responses still hold the cards' fields, never a clear number, and the load still hashed them.
    fronts = {n.upper() for n in numbers}
    assert sum("{pii:v1:" in r for r in responses) == len(fronts)
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        hashed = db.execute("SELECT COUNT(id_number_hmac) FROM ocr_idcards WHERE side = 'front'").fetchone()[
            0
        ]
    assert hashed == len(fronts)
    leaks = [
        f"{value[:12]}... in {where}"
        for where, text in sources.items()
        for value in secrets | numbers
        if value in text
    ]
    assert leaks == []
    assert s3_env.keys("baidu-ocr-staging/") == []  # purged after the load
