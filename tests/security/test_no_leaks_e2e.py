"""Issues 11 and 21, end to end: the DAGs with DEBUG logging everywhere leak no key, secret, token or clear
ID number into task logs, debug prints, XCom, staged objects, stored workbooks, batch key lists or the
warehouse, even when a scan is named after an ID number, its text spells one character by character or in
spaced groups, a table cell prints one, or its text carries the sealer's own ``{pii:`` syntax.

Staged raw responses hold the numbers sealed (the load opens them in memory to hash and encrypt them): they
are scanned like everything else, decoded column by column; every object left in the bucket is opened (a
workbook unzipped, or read with xlrd) and scanned, and so are the keys of the objects the product wrote.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import re
import sqlite3
import zipfile
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
    # A scan named after its holder's number (the same bytes as a sample: one OCR call, staged under this key).
    front = SAMPLES_DIR / "idcards" / "idcard_01_front.png"
    named = json.loads(front.with_suffix(".json").read_text(encoding="utf-8"))["idcard"]["fields"]
    s3_env.upload({f"samples/idcards/{named['公民身份号码']['text']}_front.png": front.read_bytes()})
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
        "captured logs": _product_logs(debug_everywhere),
        "stdout/stderr (task logs, http.client debug)": _product_lines(printed.out + printed.err),
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
    assert sum("{pii:v2:" in r for r in responses) == len(fronts)
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        hashed = db.execute("SELECT COUNT(id_number_hmac) FROM ocr_idcards WHERE side = 'front'").fetchone()[
            0
        ]
    assert hashed == len(fronts)
    sources.update(_bucket_objects(s3_env, exclude_prefix="samples/"))
    leaks = [
        f"{value[:12]}... in {where}: {_around(text, value)}"
        for where, text in sources.items()
        for value in secrets | numbers
        if value in text
    ]
    assert leaks == []
    assert s3_env.keys("baidu-ocr-staging/") == []  # purged after the load, the batches' key lists too


# -- hostile documents: a number per character, in spaced groups, in a table cell, in a key -------------

NUMBER = "110101199003071234"  # no sample card's: only this test's scan holds it
SPACED = "1101 0119 9003 0712 34"
HOSTILE_LINES = [f"公民身份号码{NUMBER}", f"号码 {SPACED}", "{pii:v1:AAAA} 原文照录"]


# The local S3 server (moto on werkzeug) logs every request it serves, as S3's own access logs would: that is
# the storage service's log, not one the product writes.
_SERVICE_LOGGERS = ("werkzeug",)


def _product_logs(caplog) -> str:
    return "\n".join(
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if not r.name.startswith(_SERVICE_LOGGERS)
    )


def _product_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "[werkzeug]" not in line)


def _around(text: str, value: str) -> str:
    """Where ``value`` first occurs in ``text``, with some context (to say which line leaked)."""
    at = text.index(value)
    return repr(text[max(at - 120, 0) : at + len(value) + 40])


def _object_text(key: str, body: bytes) -> str:
    """What an object holds, readably: a workbook's XML parts (unzipped) or cells (xlrd), else its text."""
    if body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    if body.startswith(b"\xd0\xcf\x11\xe0"):
        import xlrd

        book = xlrd.open_workbook(file_contents=body)
        return "\n".join(
            str(cell.value) for sheet in book.sheets() for r in range(sheet.nrows) for cell in sheet.row(r)
        )
    if key.endswith(".parquet"):
        frame = pd.read_parquet(io.BytesIO(body))
        return frame.astype(str).to_csv(index=False) + body.decode("latin-1")
    return body.decode("utf-8", "replace")


def _bucket_objects(s3_env, exclude_prefix: str) -> dict[str, str]:
    """Every object the runs left in the bucket (the inputs under ``exclude_prefix`` aside), opened, and
    the list of their keys."""
    keys = [k for k in s3_env.keys("") if not k.startswith(exclude_prefix)]
    found = {"object keys": "\n".join(keys)}
    for key in keys:
        body = s3_env.client.get_object(Bucket=s3_env.bucket, Key=key)["Body"].read()
        found[f"s3 object {key}"] = _object_text(key, body)
    return found


@pytest.fixture
def hostile_server(monkeypatch, tmp_path):
    """The fixture engine over one scan whose lines and table cells hold an ID number, three ways."""
    from baidu_ocr_server.testing import running_server
    from PIL import Image

    from tests.dags.conftest import PII_HMAC_KEY

    samples = tmp_path / "samples"
    samples.mkdir()
    buffer = io.BytesIO()
    Image.new("L", (320, 160), color=231).save(buffer, format="PNG")
    (samples / "hostile.png").write_bytes(buffer.getvalue())
    lines = [{"text": text, "box": [10, 10 + 40 * i, 300, 30]} for i, text in enumerate(HOSTILE_LINES)]
    cell = {"row_start": 0, "row_end": 1, "box": [10, 10, 150, 30]}
    cells = [{**cell, "col_start": 0, "col_end": 1, "text": f"身份证 {NUMBER}"}]
    cells.append({**cell, "col_start": 1, "col_end": 2, "box": [160, 10, 150, 30], "text": SPACED})
    truth = {"kind": "table", "lines": lines, "tables": [{"box": [0, 0, 320, 160], "cells": cells}]}
    (samples / "hostile.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    with running_server(engine="fixture", samples_dir=samples, table_job_seconds=0) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_BAIDU_OCR_DEFAULT", server.airflow_connection(qps=500, timeout=10, max_retries=2)
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_BAIDU_OCR_PII", json.dumps({"conn_type": "generic", "password": PII_HMAC_KEY})
        )
        yield server, buffer.getvalue()


def test_characters_spaced_numbers_table_workbooks_and_named_keys_leak_nothing(
    airflow_db,
    s3_env,
    hostile_server,
    sqlite_warehouse,
    tmp_path,
    staged,
    debug_everywhere,
    capfd,
    monkeypatch,
):
    server, image = hostile_server
    s3_env.upload({f"hostile/{NUMBER}_scan.png": image})
    capfd.readouterr()
    debug_everywhere.clear()
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    common = {"bucket": s3_env.bucket, "prefix": "hostile/", "batch_size": 4}
    runs = [
        run_dag(
            "baidu_ocr_s3_to_warehouse",
            {
                **common,
                "endpoint": "accurate",  # per-character results
                "options": {"recognize_granularity": "small", "probability": "true"},
                "review_in_ui": False,
            },
        ),
        run_dag("baidu_ocr_tables_to_warehouse", common),  # table v2: the workbook in the answer
        run_dag(  # form_ocr, deferred: its jobs cross a trigger, its workbook is fetched
            "baidu_ocr_tables_to_warehouse",
            {**common, "api": "form_ocr", "deferrable": True, "poll_interval": 0.05},
        ),
    ]

    assert [run.state for run in runs] == ["success"] * 3
    printed = capfd.readouterr()
    sources = {
        "captured logs": _product_logs(debug_everywhere),
        "stdout/stderr (task logs, http.client debug)": _product_lines(printed.out + printed.err),
        "xcom": "\n".join(v for run in runs for v in _xcom_values(run.dag_id, run.run_id)),
        "warehouse": _warehouse_text(tmp_path / "warehouse.db"),
        **{f"staged {obj['key']}": _object_text(obj["key"], obj["body"]) for obj in staged},
        **_bucket_objects(s3_env, exclude_prefix="hostile/"),
    }
    assert staged and any(k.startswith("s3 object ocr-output/tables/") for k in sources)  # workbooks kept
    # The chars were staged one per character (sealed each), and the load opened them: the warehouse has
    # the characters of every line, the number's middle digits masked.
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        lines = [t for (t,) in db.execute("SELECT text FROM ocr_lines ORDER BY line_no")]
        n_chars = db.execute("SELECT COUNT(*) FROM ocr_chars").fetchone()[0]
    assert lines == ["公民身份号码110101********1234", "号码 110101********1234", HOSTILE_LINES[2]]
    assert n_chars == sum(len(line) for line in HOSTILE_LINES)
    middle = NUMBER[6:14]  # the birth date: hidden by every masked form, whatever the spacing
    leaks = [
        f"{value[:12]}... in {where}: {_around(text, value)}"
        for where, text in sources.items()
        for value in (NUMBER, SPACED, "1101 0119 9003 0712")
        if value in text
    ]
    leaks += [where for where, text in sources.items() if middle in re.sub(r"\s", "", text)]
    assert leaks == []


# -- invoices: a private buyer's ID number is protected, companies' codes stay public --------------------


def test_invoices_dag_with_debug_logging_leaks_no_private_buyers_id_number(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, tmp_path, debug_everywhere, capfd, monkeypatch
):
    from baidu_ocr.pii.tax_ids import is_id_number
    from baidu_ocr_dev.invoice_truth import invoice_answers

    answers = invoice_answers()
    numbers = {
        a["PurchaserRegisterNum"] for a in answers.values() if is_id_number(a.get("PurchaserRegisterNum"))
    }
    assert numbers, "the samples hold a private buyer"
    s3_env.upload_samples("invoices")  # the test's own set-up (ground truth included): not scanned
    capfd.readouterr()
    debug_everywhere.clear()
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    # The tax authority asked too: its answers carry its own copy of each invoice, the buyer's id included.
    conf = {
        "bucket": s3_env.bucket,
        "prefix": "samples/invoices/",
        "review_in_ui": False,
        "verify_with_tax_authority": True,
    }

    run = run_dag("baidu_ocr_invoices_to_warehouse", conf)

    assert run.state == "success"
    secrets = {baidu_ocr_server.api_key, baidu_ocr_server.secret_key, *baidu_ocr_server.backend._tokens}
    printed = capfd.readouterr()
    sources = {
        "captured logs": _product_logs(debug_everywhere),
        "stdout/stderr (task logs, http.client debug)": _product_lines(printed.out + printed.err),
        "xcom": "\n".join(_xcom_values(run.dag_id, run.run_id)),
        "warehouse": _warehouse_text(tmp_path / "warehouse.db"),
        **_bucket_objects(s3_env, exclude_prefix="samples/"),  # the staged responses among them, opened
    }
    assert any(key.endswith(".parquet") for key in sources["object keys"].splitlines())
    leaks = [
        f"{value[:12]}... in {where}: {_around(text, value)}"
        for where, text in sources.items()
        for value in secrets | numbers
        if value in text
    ]
    assert leaks == []
    # Public registration numbers are not personal data: the sellers' codes are stored as printed.
    sellers = {a["SellerRegisterNum"] for a in answers.values()}
    assert all(code in sources["warehouse"] for code in sellers)
