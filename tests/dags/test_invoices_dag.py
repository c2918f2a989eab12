"""The invoices DAG end to end: moto S3 -> local OCR server (fixture engine, the invoice samples' ground truth)
-> ``ocr_invoices`` / ``ocr_invoice_items`` / ``ocr_review_queue`` in SQLite and PostgreSQL, then a rerun.

What the samples demonstrate is found from their truth, not from their names: the same invoice as a photo and
as a PDF (a duplicate), a private buyer identified by an ID number, an invoice whose amount in words
disagrees with its figures.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from baidu_ocr.pii.policy import mask_id_number
from baidu_ocr.pii.tax_ids import is_id_number

from tests.dags.conftest import SAMPLES_DIR, run_dag

pytestmark = pytest.mark.integration

INVOICES = SAMPLES_DIR / "invoices"
DAG_ID = "baidu_ocr_invoices_to_warehouse"


def _pages(path: Path) -> list[dict]:
    """The Baidu answers (``words_result``) a sample's truth gives, one per page."""
    truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return [page["words_result"] for page in truth["pages"]] if "pages" in truth else [truth["words_result"]]


def _identity(answer: dict) -> str:
    return f"{answer.get('InvoiceCode') or ''}/{answer['InvoiceNum']}"


def _samples() -> dict[tuple[str, int], dict]:
    """Each invoice of the samples by (file name, page_no): page 0 for an image, 1..N for a PDF's pages."""
    invoices = {}
    for path in sorted(p for p in INVOICES.iterdir() if p.suffix != ".json"):
        answers = _pages(path)
        first = 0 if path.suffix in (".jpg", ".jpeg", ".png") else 1
        invoices |= {(path.name, first + n): answer for n, answer in enumerate(answers)}
    return invoices


def _same_invoice_twice(samples: dict[tuple[str, int], dict]) -> list[list[tuple[str, int]]]:
    """The groups of samples that are one invoice (a photo and its PDF), each sorted by name."""
    by_identity: dict[str, list[tuple[str, int]]] = {}
    for name, answer in samples.items():
        by_identity.setdefault(_identity(answer), []).append(name)
    return [sorted(names) for names in by_identity.values() if len(names) > 1]


def _billable(server) -> int:
    return int(server.stats()["billable"])


def _invoices(warehouse) -> dict[tuple[str, int], dict]:
    """``ocr_invoices`` by (source file name, page_no)."""
    columns = [
        "source_uri",
        "page_no",
        "invoice_code",
        "invoice_num",
        "invoice_date",
        "buyer_tax_id",
        "buyer_tax_id_hmac",
        "seller_tax_id",
        "amount_excl_tax",
        "tax_amount",
        "amount_incl_tax",
        "checks_failed",
        "validation_status",
        "duplicate_of",
    ]
    rows = warehouse.records(f"SELECT {', '.join(columns)} FROM ocr_invoices")
    return {(row[0].rsplit("/", 1)[-1], int(row[1])): dict(zip(columns, row, strict=True)) for row in rows}


def test_invoices_are_typed_checked_deduplicated_and_a_rerun_is_free(
    airflow_db, s3_env, baidu_ocr_server, warehouse
):
    samples = _samples()
    s3_env.upload_samples("invoices")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/invoices/", "batch_size": 4, "review_in_ui": False}

    run = run_dag(DAG_ID, conf)

    assert run.state == "success"
    pages = len(samples)
    assert _billable(baidu_ocr_server) == pages
    invoices = _invoices(warehouse)
    assert set(invoices) == set(samples)
    for name, answer in samples.items():
        row = invoices[name]
        assert row["invoice_num"] == answer["InvoiceNum"]
        assert (row["invoice_code"] or "") == answer.get("InvoiceCode", "")
        # Exact decimals, whichever warehouse: never a float that merely prints the same.
        assert not isinstance(row["amount_incl_tax"], float)
        assert Decimal(str(row["amount_incl_tax"])) == Decimal(answer["AmountInFiguers"].lstrip("¥￥"))
        assert Decimal(str(row["amount_excl_tax"])) + Decimal(str(row["tax_amount"])) == Decimal(
            str(row["amount_incl_tax"])
        )
        assert row["seller_tax_id"] == answer["SellerRegisterNum"]  # a company's code is public: in clear

    # The same invoice twice (a photo and its PDF): the later copy names the earlier one and is queued.
    pairs = _same_invoice_twice(samples)
    assert pairs, "the samples hold the same invoice twice"
    queue = dict(warehouse.records("SELECT source_uri, reason FROM ocr_review_queue"))
    for names in pairs:
        marked = [n for n in names if invoices[n]["duplicate_of"] is not None]
        assert len(marked) == len(names) - 1
        [original] = [n for n in names if n not in marked]
        for name in marked:
            assert invoices[name]["duplicate_of"].endswith(f"/{original[0]}")
            assert "duplicate_invoice" in queue[invoices[name]["source_uri"]]
    # A private buyer's ID number: masked and hashed, never in clear.
    private = [n for n, a in samples.items() if is_id_number(a.get("PurchaserRegisterNum"))]
    assert private, "the samples hold a private buyer"
    for name in private:
        clear = samples[name]["PurchaserRegisterNum"]
        assert invoices[name]["buyer_tax_id"] == mask_id_number(clear)
        assert invoices[name]["buyer_tax_id_hmac"]
        assert clear not in json.dumps(warehouse.records("SELECT * FROM ocr_invoices"), default=str)
    # The invoice whose amount in words disagrees with its figures fails that check and is queued.
    invalid = {n for n, row in invoices.items() if row["validation_status"] == "invalid"}
    assert any("amount_in_words" in (invoices[n]["checks_failed"] or "") for n in invalid)
    for name in invalid:
        assert invoices[name]["source_uri"] in queue
    valid = set(invoices) - invalid
    assert valid and all(not invoices[n]["checks_failed"] for n in valid)

    summary = run.get_task_instance("summarize").xcom_pull(task_ids="summarize")
    assert summary["invoices"]["read"] == pages
    assert summary["invoices"]["duplicates"] == sum(len(names) - 1 for names in pairs)
    assert summary["invoices"]["valid"] == len(valid)

    counts = warehouse.row_counts()
    assert run_dag(DAG_ID, conf).state == "success"
    assert _billable(baidu_ocr_server) == pages  # zero calls the second time
    assert warehouse.row_counts() == counts  # and zero new rows


def test_a_duplicate_arriving_in_a_later_run_is_caught(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    (first, _), (second, _) = _same_invoice_twice(_samples())[0][:2]
    s3_env.upload({f"january/{first}": (INVOICES / first).read_bytes()})
    s3_env.upload({f"february/{second}": (INVOICES / second).read_bytes()})

    for month in ("january", "february"):
        conf = {"bucket": s3_env.bucket, "prefix": f"{month}/", "review_in_ui": False}
        assert run_dag(DAG_ID, conf).state == "success"

    invoices = {name: row for (name, _), row in _invoices(sqlite_warehouse).items()}
    assert invoices[first]["duplicate_of"] is None
    assert invoices[second]["duplicate_of"] == f"s3://{s3_env.bucket}/january/{first}"
