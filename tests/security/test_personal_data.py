"""Issue 11, personal data: canonical ID-card endpoints, ID numbers masked in every table and in the image
operator's XCom, staged raw responses written with server-side encryption."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from baidu_ocr.normalize import normalize_records
from baidu_ocr.pipeline.records import OcrOutcome

from tests.unit.normalize.helpers import load_fixture
from tests.unit.operators.conftest import BUCKET, context, png

SAMPLES = Path(__file__).resolve().parents[2] / "include" / "samples" / "idcards"
# A checksum-valid number and a misread one (wrong check digit): both are personal data.
VALID = "11010119900307123X"
MISREAD = "110101199003071235"
CLEAR = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _record(result: dict, *, endpoint: str, sha: str, key: str | None = None, **outcome) -> dict:
    record = OcrOutcome(
        key=key or f"s3://bucket/{sha[:6]}.png", ok=True, result=result, content_sha256=sha, **outcome
    ).to_record(endpoint="general_basic", processed_at=datetime(2024, 5, 1, tzinfo=UTC))
    record["endpoint"] = endpoint  # as staged by an older task or any other writer: not canonical
    return record


def _clear_numbers(frames: dict[str, pd.DataFrame]) -> list[tuple[str, str, str]]:
    found = []
    for table, frame in frames.items():
        for column in frame.columns:
            for value in frame[column].dropna():
                if isinstance(value, str) and column not in ("log_id", "id_number_hmac"):
                    found += [(table, column, m) for m in CLEAR.findall(value)]
    return found


# -- endpoint names ------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["IDCARD", "ocr/v1/idcard", "idcard", " Idcard "])
def test_every_spelling_of_idcard_goes_through_the_idcard_normalizer(spelling):
    frames = normalize_records(
        [_record(load_fixture("idcard_front"), endpoint=spelling, sha="c" * 64)],
    )
    assert list(frames["ocr_documents"]["endpoint"]) == ["idcard"]
    assert len(frames["ocr_idcards"]) == 1 and frames["ocr_fields"].empty
    assert frames["ocr_idcards"].loc[0, "id_number_masked"].count("*") == 8


def test_records_and_the_batch_operator_store_canonical_names():
    from baidu_ocr.operators import BaiduOcrBatchOperator

    outcome = OcrOutcome(key="k", ok=True, result={}, content_sha256="a" * 64)
    assert outcome.to_record(endpoint="IDCARD")["endpoint"] == "idcard"
    op = BaiduOcrBatchOperator(task_id="t", bucket="b", keys=[], endpoint="ocr/v1/idcard")
    assert op.record_endpoint == "idcard"


# -- ID numbers in every table ----------------------------------------------------------------------


def _generic_records() -> list[dict]:
    line = f"公民身份号码{MISREAD}"
    lines = {
        "words_result_num": 2,
        "words_result": [
            {"words": line, "chars": [{"char": c} for c in line]},
            {"words": f"持证人 {VALID} 签名", "chars": [{"char": "持"}, {"char": VALID}]},
        ],
    }
    licence = {
        "words_result": {
            "证号": {"words": MISREAD},
            "档案编号": {"words": "110100123456"},
            "姓名": {"words": "张三"},
        }
    }
    table = load_fixture("table_v2")
    table["tables_result"][0]["body"][0]["words"] = f"身份证 {VALID}"
    failed = OcrOutcome(
        key=f"s3://bucket/scans/{VALID}_front.png",
        ok=False,
        error_code="216201",
        error_class="bad_image",
        error_msg=f"cannot read {MISREAD}",
        content_sha256="f" * 64,
    ).to_record(endpoint="general_basic")
    return [
        _record(lines, endpoint="general_basic", sha="1" * 64, key=f"s3://bucket/{MISREAD}.png"),
        _record(licence, endpoint="driving_license", sha="2" * 64),
        _record(table, endpoint="table", sha="3" * 64),
        failed,
    ]


def test_id_numbers_are_masked_in_every_table_valid_or_not():
    frames = normalize_records(_generic_records())

    assert _clear_numbers(frames) == []
    lines = list(frames["ocr_lines"]["text"])
    assert lines == ["公民身份号码110101********1235", "持证人 110101********123X 签名"]
    chars = "".join(frames["ocr_chars"].query("line_no == 0")["char"])
    assert chars == lines[0]
    assert VALID not in "".join(frames["ocr_chars"].query("line_no == 1")["char"].astype(str))
    assert "身份证 110101********123X" in set(frames["ocr_table_cells"]["text"])
    fields = dict(zip(frames["ocr_fields"]["field"], frames["ocr_fields"]["value"], strict=True))
    assert fields["证号"] == "110101********1235"
    assert fields["档案编号"] == "********3456" and fields["姓名"] == "张三"
    documents = frames["ocr_documents"].set_index("content_sha256")
    assert documents.loc["f" * 64, "source_uri"] == "s3://bucket/scans/110101********123X_front.png"
    assert documents.loc["f" * 64, "error_msg"] == "cannot read 110101********1235"


def test_masking_can_be_turned_off():
    frames = normalize_records(_generic_records(), mask_id_numbers=False)
    assert {number for *_where, number in _clear_numbers(frames)} == {VALID, MISREAD}


def test_numbers_inside_longer_runs_are_not_id_numbers():
    from baidu_ocr.pii.policy import mask_id_numbers_in_text

    text = f"invoice 1{VALID} log 12345678901234567 x{MISREAD} {MISREAD}."
    assert (
        mask_id_numbers_in_text(text)
        == f"invoice 1{VALID} log 12345678901234567 x{MISREAD} 110101********1235."
    )


@pytest.mark.parametrize("mask", [None, False])
def test_the_load_operator_masks_id_numbers_unless_told_not_to(s3, sqlite_warehouse, tmp_path, mask):
    from baidu_ocr.operators import BaiduOcrWarehouseLoadOperator
    from baidu_ocr.pipeline.staging import write_records

    uri = write_records(s3, _generic_records(), BUCKET, "staging/generic.parquet")
    flag = {} if mask is None else {"mask_id_numbers": mask}  # None: the operator's default
    op = BaiduOcrWarehouseLoadOperator(task_id="load", manifests=[{"uri": uri}], **flag)
    op.execute(context(task_id="load"))
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        text = "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))
    assert "ocr_lines" in tables
    assert set(CLEAR.findall(text)) == (set() if mask is None else {VALID, MISREAD})


# -- the image operator never returns a clear number --------------------------------------------


def test_image_operator_masks_id_numbers_in_its_xcom(monkeypatch):
    from baidu_ocr.operators import BaiduOcrImageOperator
    from baidu_ocr_server.testing import running_server

    from tests.integration.conftest import baidu_conn_env

    front = SAMPLES / "idcard_01_front.png"
    number = json.loads(front.with_suffix(".json").read_text())["idcard"]["fields"]["公民身份号码"]["text"]
    with running_server(engine="fixture") as server:
        baidu_conn_env(monkeypatch, server)
        op = BaiduOcrImageOperator(
            task_id="one", image=str(front), endpoint="idcard", options={"id_card_side": "front"}
        )
        result = op.execute({})
    # Baidu's log_id is a random JSON number, sometimes 18 digits long: not text OCR read.
    text = json.dumps({k: v for k, v in result.items() if k != "log_id"}, ensure_ascii=False)
    assert result["words_result"]["公民身份号码"]["words"] == number[:6] + "*" * 8 + number[-4:]
    assert number not in text and _clear_in(text) == []


def _clear_in(text: str) -> list[str]:
    return CLEAR.findall(text)


# -- staged raw responses: server-side encryption ---------------------------------------------------


def test_staged_records_request_sse_s3_by_default(s3):
    from baidu_ocr.pipeline.staging import write_records

    record = OcrOutcome(key="k", ok=True, result={}, content_sha256="a" * 64).to_record(endpoint="idcard")
    write_records(s3, [record], BUCKET, "staging/a.parquet")
    head = s3.get_conn().head_object(Bucket=BUCKET, Key="staging/a.parquet")
    assert head["ServerSideEncryption"] == "AES256"


def test_staged_records_use_the_kms_key_given(s3):
    import boto3
    from baidu_ocr.pipeline.staging import write_records

    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    record = OcrOutcome(key="k", ok=True, result={}, content_sha256="a" * 64).to_record(endpoint="idcard")
    write_records(s3, [record], BUCKET, "staging/b.parquet", kms_key_id=key_id)
    head = s3.get_conn().head_object(Bucket=BUCKET, Key="staging/b.parquet")
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]


def test_batch_operator_stages_with_the_requested_encryption(s3, scripted_hook):
    from baidu_ocr.operators import BaiduOcrBatchOperator
    from baidu_ocr.pipeline.staging import staged_files

    s3.load_bytes(png(1), "in/a.png", BUCKET)
    for sse, expected in ((None, "AES256"), ("kms", "aws:kms")):
        kwargs = {"staging_kms_key_id": "alias/ocr-staging"} if sse == "kms" else {}
        op = BaiduOcrBatchOperator(
            task_id=f"ocr_{sse}", bucket=BUCKET, keys=["in/a.png"], endpoint="idcard", **kwargs
        )
        manifest = op.execute(context(task_id=f"ocr_{sse}"))
        (part,) = staged_files(s3, [manifest["uri"]])  # the batch folder's one part
        _bucket, key = s3.parse_s3_url(part)
        assert s3.get_conn().head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == expected


# -- staged raw responses hold no clear number: sealed for the load, or masked ------------------------


def _pii_conn(monkeypatch, password: str | None) -> None:
    name = "AIRFLOW_CONN_BAIDU_OCR_PII"
    if password is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, json.dumps({"conn_type": "generic", "password": password}))


def test_sealed_records_hold_no_clear_number_and_open_with_the_same_key_only():
    from baidu_ocr.pii.policy import PiiPolicy
    from baidu_ocr.pii.sealing import SealedIdNumbersError, unseal_id_numbers
    from baidu_ocr.pipeline.records import seal_record

    record = _generic_records()[0]
    record["error_msg"] = f"echoed {VALID}"
    log_id = 123456789012345678  # 18 digits, but a JSON number: not text that OCR read
    record["result_json"] = json.dumps({"log_id": log_id, **json.loads(record["result_json"])})
    original = dict(record)
    key = PiiPolicy("hmac-key").sealing_key()
    assert key != b"hmac-key" and len(key) == 32

    sealed = seal_record(dict(record), key)
    assert _clear_in(sealed["result_json"]) == [str(log_id)] and _clear_in(sealed["error_msg"]) == []
    assert json.loads(sealed["result_json"])["log_id"] == log_id
    assert json.loads(unseal_id_numbers(sealed["result_json"], key)) == json.loads(original["result_json"])
    assert unseal_id_numbers(sealed["error_msg"], key) == original["error_msg"]
    with pytest.raises(SealedIdNumbersError, match="not the one"):
        unseal_id_numbers(sealed["result_json"], PiiPolicy("another key").sealing_key())
    with pytest.raises(SealedIdNumbersError, match="no PII key"):
        unseal_id_numbers(sealed["result_json"], None)

    masked = seal_record(dict(record), None)  # no PII connection: masked for good
    assert _clear_in(masked["result_json"]) == [str(log_id)] and "{pii:" not in masked["result_json"]
    assert f"{VALID[:6]}********{VALID[-4:]}" in masked["error_msg"]


def _pii_conn_with(monkeypatch, password: str, retired: list[str]) -> None:
    extra = json.dumps({"retired_hmac_keys": retired})
    conn = {"conn_type": "baidu_ocr_pii", "password": password, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_PII", json.dumps(conn))


def _clean_record() -> dict:
    """A document with no ID number: nothing sealed, it loads whatever the keys."""
    return _record({"words_result": [{"words": "发票 no number"}]}, endpoint="general_basic", sha="9" * 64)


def _load_documents(uri: str, tmp_path: Path) -> tuple[dict[str, tuple], str]:
    """Load ``uri``; return ocr_documents (content hash -> status, error_class, error_msg) and ocr_lines.
    The records the load could not open are what it tells a purge to keep (its XCom)."""
    from baidu_ocr.operators import BaiduOcrWarehouseLoadOperator
    from baidu_ocr.operators.load import UNOPENED_RECORDS_XCOM

    op = BaiduOcrWarehouseLoadOperator(task_id="load", manifests=[{"uri": uri}], mask_id_numbers=False)
    ctx = context(task_id="load")
    op.execute(ctx)
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        rows = db.execute("SELECT content_sha256, status, error_class, error_msg FROM ocr_documents")
        documents = {sha: (status, error_class, msg) for sha, status, error_class, msg in rows}
        lines = "\n".join(repr(row) for row in db.execute("SELECT * FROM ocr_lines"))
    unopened = sum(1 for _, error_class, _ in documents.values() if error_class == "sealed_pii")
    assert ctx["ti"].pushed.get(UNOPENED_RECORDS_XCOM, 0) == unopened
    return documents, lines


def test_the_load_opens_sealed_numbers_with_the_pii_connection_and_fails_only_the_records_it_cannot(
    s3, sqlite_warehouse, tmp_path, monkeypatch
):
    from baidu_ocr.pii.policy import PiiPolicy
    from baidu_ocr.pipeline.records import seal_record
    from baidu_ocr.pipeline.staging import read_records, write_records

    key = PiiPolicy("the pii password").sealing_key()
    records = [seal_record(r, key) for r in [*_generic_records(), _clean_record()]]
    uri = write_records(s3, records, BUCKET, "staging/sealed.parquet")
    staged = read_records(s3, [uri]).astype(str).to_csv()
    assert _clear_in(staged) == [] and "{pii:v2:" in staged

    for password in (None, "a rotated password"):
        _pii_conn(monkeypatch, password)
        documents, lines = _load_documents(uri, tmp_path)
        # Each record with a sealed number is that document's recorded failure, named; the clean one loads.
        assert documents.pop("9" * 64)[:2] == ("ok", None)
        assert {(status, error_class) for status, error_class, _ in documents.values()} == {
            ("failed", "sealed_pii")
        }
        assert all("'baidu_ocr_pii'" in msg for *_, msg in documents.values())
        assert _clear_in(lines) == []
    _pii_conn(monkeypatch, "the pii password")
    documents, lines = _load_documents(uri, tmp_path)
    assert {status for status, *_ in documents.values()} == {"ok", "failed"}  # the staged bad image
    assert set(_clear_in(lines)) == {VALID, MISREAD}  # opened in memory; masking off keeps them


def test_a_changed_pii_password_still_opens_what_its_retired_password_sealed(
    s3, sqlite_warehouse, tmp_path, monkeypatch
):
    from baidu_ocr.pii.policy import PiiPolicy
    from baidu_ocr.pipeline.records import seal_record
    from baidu_ocr.pipeline.staging import write_records

    old = PiiPolicy("the old password").sealing_key()
    uri = write_records(s3, [seal_record(r, old) for r in _generic_records()], BUCKET, "staging/old.parquet")
    _pii_conn_with(monkeypatch, "the new password", retired=["an older one", "the old password"])
    documents, lines = _load_documents(uri, tmp_path)
    assert "sealed_pii" not in {error_class for _, error_class, _ in documents.values()}
    assert set(_clear_in(lines)) == {VALID, MISREAD}


@pytest.mark.parametrize("with_key", [True, False])
def test_text_that_looks_like_a_sealed_number_loads_as_it_was_read(
    s3, sqlite_warehouse, tmp_path, monkeypatch, with_key
):
    from baidu_ocr.pii.policy import PiiPolicy
    from baidu_ocr.pipeline.records import seal_record
    from baidu_ocr.pipeline.staging import write_records

    # A document may print anything, the sealer's own syntax included (and malformed variants of it).
    hostile = ["{pii:v1:AAAA}", "{pii:v2:0123abcd:AAAA}", "{pii:}", "{pii:v1:" + "A" * 40 + "}"]
    result = {"words_result": [{"words": text} for text in [*hostile, f"id {VALID}"]]}
    key = PiiPolicy("the pii password").sealing_key() if with_key else None
    records = [seal_record(_record(result, endpoint="general_basic", sha="4" * 64), key), _clean_record()]
    uri = write_records(s3, records, BUCKET, "staging/hostile.parquet")
    _pii_conn(monkeypatch, "the pii password")

    documents, _ = _load_documents(uri, tmp_path)
    assert documents["4" * 64][:2] == documents["9" * 64][:2] == ("ok", None)
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        texts = [t for (t,) in db.execute("SELECT text FROM ocr_lines WHERE content_sha256 = ?", ("4" * 64,))]
    masked = VALID if with_key else f"{VALID[:6]}********{VALID[-4:]}"
    assert texts == [*hostile, f"id {masked}"]


# -- invoices: a private buyer's ID number protected, company tax ids in clear -----------------------


def test_an_invoice_keeps_company_codes_clear_and_no_id_number_from_staging_to_the_warehouse(
    s3, sqlite_warehouse, tmp_path, monkeypatch
):
    """Issue 22: an 18-digit company code (even one passing the ID checksum) is public and stays clear in the
    staged record and every table; the private buyer's ID number is sealed in staging, then stored masked
    with its HMAC, and a misread number elsewhere is masked as everywhere."""
    from baidu_ocr.operators import BaiduOcrWarehouseLoadOperator
    from baidu_ocr.pii.policy import PiiPolicy, hmac_id_number
    from baidu_ocr.pipeline.records import seal_record
    from baidu_ocr.pipeline.staging import read_records, write_records

    from tests.unit.normalize.invoice_answers import (
        all_digit_credit_code,
        id_number,
        invoice_record,
        vat_invoice_answer,
    )

    buyer, seller = id_number(), all_digit_credit_code(passes_id_checksum=True)
    answer = vat_invoice_answer(buyer_tax_id=buyer, seller_tax_id=seller, Remarks=f"经办人 {MISREAD}")
    password = "the pii password"
    record = seal_record(invoice_record(answer, sha="5" * 64), PiiPolicy(password).sealing_key())
    uri = write_records(s3, [record], BUCKET, "staging/invoice.parquet")
    staged = read_records(s3, [uri]).astype(str).to_csv()
    assert set(_clear_in(staged)) == {seller}

    _pii_conn(monkeypatch, password)
    op = BaiduOcrWarehouseLoadOperator(task_id="load", manifests=[{"uri": uri}], pii_conn_id="baidu_ocr_pii")
    op.execute(context(task_id="load"))
    with sqlite3.connect(tmp_path / "warehouse.db") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        text = "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))
        [(buyer_tax_id, buyer_hmac, seller_tax_id, checks)] = db.execute(
            "SELECT buyer_tax_id, buyer_tax_id_hmac, seller_tax_id, checks_failed FROM ocr_invoices"
        )
        fields = dict(db.execute("SELECT field, value FROM ocr_fields WHERE field LIKE '%RegisterNum'"))
    assert set(_clear_in(text)) == {seller} and buyer not in text
    assert buyer_tax_id == f"{buyer[:6]}********{buyer[-4:]}" and checks == ""
    assert buyer_hmac == hmac_id_number(buyer, password.encode())
    assert seller_tax_id == seller == fields["SellerRegisterNum"]
    assert fields["PurchaserRegisterNum"] == buyer_tax_id
