"""Pages an outcome stands for: what the cost figures and ocr_usage count (Baidu bills pages)."""

from __future__ import annotations

from baidu_ocr.pipeline.records import OcrOutcome


def test_an_image_or_one_page_is_one_page_and_a_parsed_document_all_of_its_pages():
    assert OcrOutcome(key="scan.png", ok=True).pages_recognized == 1
    assert OcrOutcome(key="c.pdf", ok=True, page_no=2, page_count=4).pages_recognized == 1
    assert OcrOutcome(key="c.pdf", ok=True, page_count=4).pages_recognized == 4  # the document parser
    assert OcrOutcome(key="c.pdf", ok=False, page_no=2, page_count=4).pages_recognized == 0
