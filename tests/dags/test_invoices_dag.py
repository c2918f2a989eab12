"""The invoices DAG end to end: moto S3 -> local OCR server (fixture engine, the invoice samples' ground truth)
-> ``ocr_invoices`` / ``ocr_invoice_items`` / ``ocr_review_queue`` in SQLite and PostgreSQL, then a rerun.

What the samples demonstrate is found from their truth, not from their names: the same invoice as a photo and
as a PDF (a duplicate), a private buyer identified by an ID number, an invoice whose amount in words
disagrees with its figures.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from baidu_ocr.pii.policy import mask_id_number
from baidu_ocr.pii.tax_ids import is_id_number
from baidu_ocr_dev.invoice_truth import INVOICE_SAMPLES, invoice_answers, same_invoice_twice

from tests.dags.conftest import run_dag

pytestmark = pytest.mark.integration

DAG_ID = "baidu_ocr_invoices_to_warehouse"


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
    samples = invoice_answers()
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
    pairs = same_invoice_twice(samples)
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
    totals: dict[str, Decimal] = {}
    for name, answer in samples.items():
        if invoices[name]["validation_status"] == "valid":  # what can be booked: no failed check, no copy
            seller = f"{answer['SellerName']} {answer['SellerRegisterNum']}"
            totals[seller] = totals.get(seller, Decimal(0)) + Decimal(answer["AmountInFiguers"].lstrip("¥￥"))
    assert summary["invoices"]["valid_amount_incl_tax_by_seller"] == {
        k: f"{v:.2f}" for k, v in sorted(totals.items())
    }

    counts = warehouse.row_counts()
    assert run_dag(DAG_ID, conf).state == "success"
    assert _billable(baidu_ocr_server) == pages  # zero calls the second time
    assert warehouse.row_counts() == counts  # and zero new rows


def test_a_duplicate_arriving_in_a_later_run_is_caught(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    (first, _), (second, _) = same_invoice_twice(invoice_answers())[0][:2]
    s3_env.upload({f"january/{first}": (INVOICE_SAMPLES / first).read_bytes()})
    s3_env.upload({f"february/{second}": (INVOICE_SAMPLES / second).read_bytes()})

    for month in ("january", "february"):
        conf = {"bucket": s3_env.bucket, "prefix": f"{month}/", "review_in_ui": False}
        assert run_dag(DAG_ID, conf).state == "success"

    invoices = {name: row for (name, _), row in _invoices(sqlite_warehouse).items()}
    assert invoices[first]["duplicate_of"] is None
    assert invoices[second]["duplicate_of"] == f"s3://{s3_env.bucket}/january/{first}"


def test_with_the_tax_authority_asked_every_issued_invoice_is_consistent_and_a_rerun_asks_nothing(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    """``verify_with_tax_authority``: one ``vat_invoice_verification`` call per invoice read, the verdict in
    ``authority_status``; the samples are invoices the local authority issued, so each is consistent."""
    samples = invoice_answers()
    s3_env.upload_samples("invoices")
    conf = {
        "bucket": s3_env.bucket,
        "prefix": "samples/invoices/",
        "review_in_ui": False,
        "verify_with_tax_authority": True,
    }

    assert run_dag(DAG_ID, conf).state == "success"

    pages = len(samples)
    assert _billable(baidu_ocr_server) == 2 * pages  # a reading and a verification per invoice
    statuses = sqlite_warehouse.records("SELECT authority_status, checks_failed FROM ocr_invoices")
    assert [status for status, _ in statuses] == ["consistent"] * pages
    assert not any("tax_authority" in (checks or "") for _, checks in statuses)

    assert run_dag(DAG_ID, conf).state == "success"
    assert _billable(baidu_ocr_server) == 2 * pages  # nothing read again, nothing asked again
