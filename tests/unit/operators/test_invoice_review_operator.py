"""The invoice review task: what the reviewer reads (fields, failed checks, the earlier copy), the choices it
offers (book or reject) and the answer it hands to apply_reviews, which stores it as an invoice review."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import pytest
from baidu_ocr.operators.review import (
    BOOK,
    REJECT,
    TIMED_OUT,
    BaiduOcrApplyReviewsOperator,
    BaiduOcrInvoiceReviewOperator,
)

from tests.unit.conftest import BUCKET
from tests.unit.operators.test_review_operator import ask, context, references, shown_text, stored  # noqa: F401

INVOICE = {
    "content_sha256": "b" * 64,
    "endpoint": "vat_invoice",
    "options_hash": "h",
    "page_no": 1,
    "source_uri": f"s3://{BUCKET}/invoices/scan.pdf",
    "reason": "duplicate_invoice,amount_in_words",
    "min_confidence": None,
    "conf_mean": None,
    "conf_min": None,
    "low_lines": [],
    "invoice": {
        "invoice_type": "专用发票",
        "invoice_code": "3100231130",
        "invoice_num": "12345678",
        "invoice_date": "2025-05-15",
        "buyer_name": "[click](https://evil.example/a)",
        "buyer_tax_id": "110105********0016",
        "seller_name": "北京某某软件有限公司",
        "seller_tax_id": "91110108551385082Q",
        "amount_excl_tax": "1000.00",
        "tax_amount": "130.00",
        "amount_incl_tax": "1130.00",
        "amount_in_words": "壹仟圆整",
        "checks_failed": ["amount_in_words"],
        "duplicate_of": f"s3://{BUCKET}/invoices/photo.jpg",
    },
}
WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def operator(document=INVOICE) -> BaiduOcrInvoiceReviewOperator:
    return BaiduOcrInvoiceReviewOperator(
        task_id="review_invoice", document=document, aws_conn_id=None, baidu_ocr_conn_id=None
    )


def test_the_reviewer_sees_the_fields_the_failed_checks_and_the_earlier_copy(stored):  # noqa: F811
    asked = ask(operator(), stored)
    body = asked["body"]
    text = " ".join(shown_text(body).split())
    assert asked["options"] == [BOOK, REJECT] and asked["params"] == {}
    assert "12345678" in asked["subject"]
    assert f"s3://{BUCKET}/invoices/photo.jpg" in text and "Duplicate" in text
    assert (
        "amount_in_words" in text
        and "The amount in words (大写) says the amount including tax (小写)." in text
    )
    assert "| amount_incl_tax | 1130\\.00 |" in body and "110105\\*\\*\\*\\*\\*\\*\\*\\*0016" in body
    assert references(body) == []  # what the OCR read links nowhere


@pytest.mark.parametrize(("chosen", "decision"), [(BOOK, "accepted"), (REJECT, "rejected")])
def test_the_answer_is_book_or_reject_with_who_and_when(chosen, decision):
    answer = operator().execute_complete(
        context(),
        {
            "chosen_options": [chosen],
            "params_input": {},
            "responded_by_user": {"id": "7", "name": "alice"},
            "responded_at": WHEN,
        },
    )
    assert answer["kind"] == "invoice" and answer["decision"] == decision
    assert (answer["reviewed_by"], answer["reviewed_by_id"], answer["reviewed_at"]) == (
        "alice",
        "7",
        WHEN.isoformat(),
    )
    assert answer["document"]["page_no"] == 1 and answer["document"]["source_uri"] == INVOICE["source_uri"]


def test_a_timed_out_invoice_review_changes_nothing():
    answer = operator().execute_complete(context(), {"error": "timeout", "error_type": "timeout"})
    assert answer["decision"] == TIMED_OUT and answer["kind"] == "invoice"


def test_apply_reviews_stores_an_invoice_answer_as_an_invoice_review():
    answers = [
        {"document": {"content_sha256": "b"}, "kind": "invoice", "decision": d, "reviewed_by": "alice",
         "reviewed_by_id": "7", "reviewed_at": WHEN.isoformat()}
        for d in ("accepted", "rejected")
    ]  # fmt: skip
    op = BaiduOcrApplyReviewsOperator(task_id="apply", responses=[*answers, {"decision": TIMED_OUT}])
    with mock.patch.object(BaiduOcrApplyReviewsOperator, "warehouse") as warehouse:
        assert op.execute({}) == {"accepted": 1, "corrected": 0, "rejected": 1, TIMED_OUT: 1}
    calls = warehouse.apply_invoice_review.call_args_list
    assert [c.kwargs["accepted"] for c in calls] == [True, False]
    assert calls[0].kwargs["reviewed_at"] == WHEN and not warehouse.apply_review.called
