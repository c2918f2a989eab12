"""The IAM API key is a secret like the Secret Key: masked, redacted from debug output and server text, never in
an exception, XCom, staged file or warehouse column, never shown by ``repr`` of the settings."""

from __future__ import annotations

import http.client
import io
import json
import logging
import pickle
import sqlite3

import pandas as pd
import pytest
from airflow.models import Connection
from baidu_ocr.client import redact
from baidu_ocr.client.auth import qps_key
from baidu_ocr.client.connection import BaiduOcrSettings
from baidu_ocr.exceptions import AuthenticationFailed, ConfigError
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr_server.testing import running_server

from tests.dags.conftest import run_dag
from tests.security.test_credentials import png

KEY_ID = "ALTAK-leakcanary0000000000"
KEY_SECRET = "canarysecret0123456789abcdef0123456789ab"
IAM_KEY = f"bce-v3/{KEY_ID}/{KEY_SECRET}"


@pytest.fixture(autouse=True)
def _fresh():
    reset_process_caches()
    yield
    reset_process_caches()


def _leaks(text: str) -> list[str]:
    return [part for part in (IAM_KEY, KEY_ID, KEY_SECRET) if part in text]


def _iam_conn(monkeypatch, url: str, key: str = IAM_KEY, **extra) -> None:
    conn = {"conn_type": "baidu_ocr", "password": key, "host": url, "extra": {"qps": 500, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))


def test_redact_hides_any_iam_key_even_one_never_registered():
    text = f"401 for Authorization: Bearer {IAM_KEY}\r\nHost: x"
    assert redact.redact(text) == "401 for Authorization: Bearer bce-v3/***\r\nHost: x"
    assert _leaks(redact.redact(repr(text.encode()))) == []


def test_settings_hide_the_key_and_a_malformed_one_is_refused_without_echoing_it():
    conn = Connection(conn_id="c", conn_type="baidu_ocr", password=IAM_KEY)
    settings = BaiduOcrSettings.from_connection(conn)
    assert settings.uses_iam_key and settings.secret_key == "" and _leaks(repr(settings)) == []
    assert qps_key(settings.base_url, settings.account).startswith("baidu_ocr:qps:")
    assert _leaks(qps_key(settings.base_url, settings.account)) == []
    malformed = Connection(conn_id="c", conn_type="baidu_ocr", extra={"iam_api_key": KEY_SECRET})
    with pytest.raises(ConfigError, match="must start with 'bce-v3/'") as raised:
        BaiduOcrSettings.from_connection(malformed)
    assert _leaks(str(raised.value)) == []


def test_the_key_is_registered_with_the_masker_and_absent_from_debug_output(
    monkeypatch,
    masked,
    pristine_redaction,
    capsys,
    caplog,
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    with running_server(engine="fixture", iam_api_keys=(IAM_KEY,)) as server:
        _iam_conn(monkeypatch, server.url)
        assert BaiduOcrHook().ocr(png())["words_result_num"] == 1
    printed = capsys.readouterr().out
    assert "Authorization: Bearer bce-v3/***" in printed  # the header was sent, and printed redacted
    assert IAM_KEY in masked
    assert _leaks(printed) == [] and _leaks(caplog.text) == []


def test_a_refused_key_never_reaches_the_error_its_pickle_or_the_log(monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with running_server(engine="fixture") as server:  # does not know IAM_KEY
        _iam_conn(monkeypatch, server.url, max_retries=2)
        with pytest.raises(AuthenticationFailed) as raised:
            BaiduOcrHook().ocr(png())
        ok, message = BaiduOcrHook().test_connection()
    error = raised.value
    assert "connection 'baidu_ocr_default'" in str(error) and not ok
    texts = [
        str(error),
        repr(error),
        json.dumps(error.to_dict()),
        str(pickle.loads(pickle.dumps(error))),
        message,
    ]
    assert [t for t in texts if _leaks(t)] == []
    assert _leaks(caplog.text) == []


@pytest.mark.integration
@pytest.mark.slow
def test_tables_dag_with_an_iam_key_leaks_it_nowhere(
    airflow_db, s3_env, sqlite_warehouse, tmp_path, monkeypatch, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "DEBUG")
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    s3_env.upload_samples("tables")
    staged: list[bytes] = []
    from baidu_ocr.pipeline import staging

    write_records = staging.write_records

    def write_and_keep(s3, records, bucket, key, **kwargs):
        uri = write_records(s3, records, bucket, key, **kwargs)
        staged.append(s3.get_conn().get_object(Bucket=bucket, Key=key)["Body"].read())
        return uri

    monkeypatch.setattr(staging, "write_records", write_and_keep)
    capfd.readouterr()
    with running_server(engine="fixture", iam_api_keys=(IAM_KEY,)) as server:
        _iam_conn(monkeypatch, server.url)
        run = run_dag("baidu_ocr_tables_to_warehouse", {"bucket": s3_env.bucket, "prefix": "samples/tables/"})
        assert run.state == "success"
        assert server.stats()["tokens_issued"] == 0

    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = session.query(XComModel).filter(XComModel.run_id == run.run_id).all()
        xcom_text = "\n".join(json.dumps(row.value, ensure_ascii=False) for row in xcoms)
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        warehouse = "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))
    printed = capfd.readouterr()
    sources = {
        "logs": caplog.text,
        "stdout/stderr": printed.out + printed.err,
        "xcom": xcom_text,
        "warehouse": warehouse,
        "staged": "\n".join(pd.read_parquet(io.BytesIO(b)).to_csv() for b in staged),
        "excel keys": "\n".join(s3_env.keys("")),
    }
    assert staged and "excel_uri" in warehouse and "n_ok" in xcom_text
    assert "Authorization: Bearer bce-v3/***" in sources["stdout/stderr"]
    assert {where: _leaks(text) for where, text in sources.items() if _leaks(text)} == {}
