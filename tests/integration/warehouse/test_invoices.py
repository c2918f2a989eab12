"""Invoices in both warehouses: exact decimals and dates read back, duplicates (one run, two runs, parallel
loads), and the invoice review (queue items with the invoice's fields, accepted or rejected)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from baidu_ocr.normalize import PiiPolicy, normalize_records

from tests.integration.warehouse.test_concurrency import run_together
from tests.unit.normalize.invoice_answers import invoice_record, vat_invoice_answer, words

pytestmark = pytest.mark.integration

PII = PiiPolicy(b"test hmac key")
DAG_ID = "baidu_ocr_invoices_to_warehouse"


def frames_of(*records: dict) -> dict[str, pd.DataFrame]:
    return normalize_records(list(records), pii=PII)


def odd_cents_answer(**overrides) -> dict:
    """One item; amounts no binary float holds exactly: 1092.53 + 142.03 = 1234.56."""
    return vat_invoice_answer(
        TotalAmount="1,092.53",
        TotalTax="142.03",
        AmountInFiguers="¥1234.56",
        AmountInWords="壹仟贰佰叁拾肆元伍角陆分",
        CommodityName=words(["*服务*咨询"]),
        CommodityType=words([""]),
        CommodityUnit=words(["次"]),
        CommodityNum=words(["3"]),
        CommodityPrice=words(["364.17666667"]),
        CommodityAmount=words(["1092.53"]),
        CommodityTaxRate=words(["13%"]),
        CommodityTax=words(["142.03"]),
        **overrides,
    )


def invoices(loader) -> pd.DataFrame:
    return loader.read_rows("ocr_invoices").set_index("source_uri")


def test_amounts_and_dates_read_back_exactly(loader):
    record = invoice_record(odd_cents_answer(), sha="1" * 64, run_id="r1")
    loader.load(frames_of(record))
    [row] = loader.read_rows("ocr_invoices", dag_id=DAG_ID, run_id="r1").to_dict("records")
    assert row["amount_incl_tax"] == Decimal("1234.56") and type(row["amount_incl_tax"]) is Decimal
    assert (row["amount_excl_tax"], row["tax_amount"]) == (Decimal("1092.53"), Decimal("142.03"))
    assert row["invoice_date"] == date(2025, 5, 15) and row["checks_failed"] == ""
    [item] = loader.read_rows("ocr_invoice_items").to_dict("records")
    assert item["unit_price"] == Decimal("364.17666667") and type(item["unit_price"]) is Decimal
    assert item["tax_rate"] == Decimal("0.13") and item["quantity"] == Decimal(3)
    # Stored as exact types, not floats: NUMERIC on PostgreSQL, canonical text on SQLite.
    if loader.dialect == "sqlite":
        sql = f"SELECT typeof(amount_incl_tax), amount_incl_tax FROM {loader.table('ocr_invoices')}"
        assert loader.query(sql, []) == [("text", "1234.56")]
    else:
        sql = f"SELECT pg_typeof(amount_incl_tax)::text, amount_incl_tax FROM {loader.table('ocr_invoices')}"
        assert loader.query(sql, []) == [("numeric", Decimal("1234.56"))]
    assert loader.read_rows("ocr_invoices", dag_id=DAG_ID, run_id="another run").empty


def test_a_rerun_writes_the_same_rows_and_is_no_duplicate_of_itself(loader):
    records = [invoice_record(vat_invoice_answer(), sha="1" * 64)]
    loader.load(frames_of(*records))
    loader.load(frames_of(*records))
    [row] = loader.read_rows("ocr_invoices").to_dict("records")
    assert pd.isna(row["duplicate_of"]) and row["validation_status"] == "valid"
    assert loader.read_rows("ocr_review_queue").empty


def test_duplicates_within_one_run_and_across_runs(loader):
    photo = invoice_record(vat_invoice_answer(), sha="1" * 64, uri="s3://b/photo.jpg", run_id="r1")
    pdf = invoice_record(
        vat_invoice_answer(), sha="2" * 64, uri="s3://b/scan.pdf", page_no=1, run_id="r1",
        processed_at=datetime(2025, 6, 1, 0, 1, tzinfo=UTC),
    )  # fmt: skip
    other = invoice_record(vat_invoice_answer(number="87654321"), sha="3" * 64, uri="s3://b/other.jpg")
    loader.load(frames_of(photo, pdf, other))
    rows = invoices(loader)
    assert pd.isna(rows.loc["s3://b/photo.jpg", "duplicate_of"])
    assert rows.loc["s3://b/scan.pdf", "duplicate_of"] == "s3://b/photo.jpg"
    assert rows.loc["s3://b/scan.pdf", "validation_status"] == "invalid"
    assert rows.loc["s3://b/scan.pdf", "checks_failed"] == ""  # its checks passed: invalid as a duplicate
    assert pd.isna(rows.loc["s3://b/other.jpg", "duplicate_of"])
    [queued] = loader.review_queue(DAG_ID, "r1")
    assert (queued["source_uri"], queued["reason"], queued["page_no"]) == (
        "s3://b/scan.pdf",
        "duplicate_invoice",
        1,
    )
    assert queued["invoice"]["duplicate_of"] == "s3://b/photo.jpg"

    # A month later, another employee's copy, which also fails a check.
    again = invoice_record(
        vat_invoice_answer(AmountInWords="壹仟圆整"), sha="4" * 64, uri="s3://b/again.jpg", run_id="r2"
    )
    loader.load(frames_of(again))
    assert invoices(loader).loc["s3://b/again.jpg", "duplicate_of"] == "s3://b/photo.jpg"
    [queued] = loader.review_queue(DAG_ID, "r2")
    assert queued["reason"] == "duplicate_invoice,amount_in_words"
    assert queued["invoice"]["checks_failed"] == ["amount_in_words"]

    # Reloading the original (or a duplicate) changes nothing about who came first.
    loader.load(frames_of(photo))
    loader.load(frames_of(pdf))
    rows = invoices(loader)
    assert pd.isna(rows.loc["s3://b/photo.jpg", "duplicate_of"])
    assert rows.loc["s3://b/scan.pdf", "duplicate_of"] == "s3://b/photo.jpg"


def test_digital_invoices_are_identified_by_their_number_alone(loader):
    first = invoice_record(vat_invoice_answer(digital=True), sha="1" * 64, uri="s3://b/a.pdf")
    second = invoice_record(vat_invoice_answer(digital=True), sha="2" * 64, uri="s3://b/b.ofd", run_id="r2")
    classic_same_digits = invoice_record(
        vat_invoice_answer(number="25312000000012345678"), sha="3" * 64, uri="s3://b/c.jpg", run_id="r3"
    )
    loader.load(frames_of(first))
    loader.load(frames_of(second))
    loader.load(frames_of(classic_same_digits))  # code + number: another identity
    rows = invoices(loader)
    assert rows.loc["s3://b/b.ofd", "duplicate_of"] == "s3://b/a.pdf"
    assert pd.isna(rows.loc["s3://b/c.jpg", "duplicate_of"])


def test_a_reloaded_document_that_reads_another_number_gives_its_identity_up(loader):
    first = invoice_record(vat_invoice_answer(number="11111111"), sha="1" * 64, uri="s3://b/a.jpg")
    loader.load(frames_of(first))
    reread = invoice_record(vat_invoice_answer(number="22222222"), sha="1" * 64, uri="s3://b/a.jpg")
    loader.load(frames_of(reread))
    later = invoice_record(vat_invoice_answer(number="11111111"), sha="2" * 64, uri="s3://b/b.jpg")
    loader.load(frames_of(later))
    assert pd.isna(invoices(loader).loc["s3://b/b.jpg", "duplicate_of"])


def test_parallel_loads_of_one_invoice_make_exactly_one_original(make_loader):
    """Eight loads at once, each with two documents: one of invoice X and one of the 数电票 Y, in opposite
    orders in every other batch (no deadlock either way)."""
    make_loader().ensure_schema()
    batches = []
    for i in range(8):
        pair = [
            invoice_record(vat_invoice_answer(), sha=f"{i}a".ljust(64, "0"), uri=f"s3://b/x{i}.jpg"),
            invoice_record(
                vat_invoice_answer(digital=True), sha=f"{i}b".ljust(64, "0"), uri=f"s3://b/y{i}.pdf"
            ),
        ]
        batches.append(frames_of(*(pair if i % 2 else pair[::-1])))
    run_together(make_loader, batches)
    rows = make_loader().read_rows("ocr_invoices")
    assert len(rows) == 16
    for prefix in ("s3://b/x", "s3://b/y"):
        copies = rows[rows["source_uri"].str.startswith(prefix)]
        originals = copies[copies["duplicate_of"].isna()]
        assert len(originals) == 1, copies[["source_uri", "duplicate_of"]]
        assert set(copies["duplicate_of"].dropna()) == set(originals["source_uri"])
        assert Counter(copies["validation_status"]) == {"valid": 1, "invalid": 7}
    queue = make_loader().read_rows("ocr_review_queue")
    assert len(queue) == 14 and set(queue["reason"]) == {"duplicate_invoice"}


def test_invoice_reviews_accept_or_reject(loader):
    bad = invoice_record(vat_invoice_answer(AmountInWords="壹仟圆整"), sha="1" * 64, uri="s3://b/bad.jpg")
    dup = invoice_record(vat_invoice_answer(number="87654321"), sha="2" * 64, uri="s3://b/dup.jpg")
    orig = invoice_record(vat_invoice_answer(number="87654321"), sha="3" * 64, uri="s3://b/orig.jpg",
                          processed_at=datetime(2025, 5, 1, tzinfo=UTC))  # fmt: skip
    loader.load(frames_of(bad, dup, orig))
    queue = {item["source_uri"]: item for item in loader.review_queue(DAG_ID, "run-1")}
    assert set(queue) == {"s3://b/bad.jpg", "s3://b/dup.jpg"}
    fields = queue["s3://b/bad.jpg"]["invoice"]
    assert fields["invoice_num"] == "12345678" and fields["amount_incl_tax"] == "1130.00"
    assert fields["invoice_date"] == "2025-05-15" and fields["checks_failed"] == ["amount_in_words"]
    assert fields["duplicate_of"] is None

    when = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
    loader.apply_invoice_review(
        queue["s3://b/bad.jpg"], accepted=True, reviewed_by="Li Na", reviewed_by_id="7", reviewed_at=when
    )
    loader.apply_invoice_review(
        queue["s3://b/dup.jpg"], accepted=False, reviewed_by="Li Na", reviewed_at=when
    )
    assert loader.review_queue(DAG_ID, "run-1") == []
    rows = invoices(loader)
    assert rows.loc["s3://b/bad.jpg", "review_status"] == "reviewed"
    assert rows.loc["s3://b/bad.jpg", "reviewed_by"] == "Li Na"
    assert rows.loc["s3://b/bad.jpg", "reviewed_at"] == pd.Timestamp(when)
    assert rows.loc["s3://b/dup.jpg", "review_status"] == "rejected"
    statuses = loader.read_rows("ocr_review_queue").set_index("source_uri")["status"]
    assert statuses.to_dict() == {"s3://b/bad.jpg": "accepted", "s3://b/dup.jpg": "rejected"}
    # A reviewed invoice is never overwritten by a later load of its document.
    loader.load(frames_of(bad))
    assert invoices(loader).loc["s3://b/bad.jpg", "review_status"] == "reviewed"
