"""Batches sized in pages: a long PDF is cut into page ranges, images weigh one page each."""

from __future__ import annotations

from baidu_ocr.inputs.sources import ImageObject
from baidu_ocr.pipeline.planning import plan_page_batches


def obj(key: str, etag: str | None = None) -> ImageObject:
    return ImageObject(key=key, etag=etag or key, size=1)


def test_a_long_pdf_is_cut_into_page_ranges():
    objects = [obj("a.png"), obj("b.png"), obj("big.pdf"), obj("small.pdf")]
    batches = plan_page_batches(objects, {"big.pdf": 250, "small.pdf": 3}, batch_size=100)
    assert batches == [
        {"keys": ["big.pdf"], "pages": {"big.pdf": "1-100"}},
        {"keys": ["big.pdf"], "pages": {"big.pdf": "101-200"}},
        {"keys": ["big.pdf"], "pages": {"big.pdf": "201-250"}},
        {"keys": ["a.png", "b.png", "small.pdf"]},  # the small ones still share a batch
    ]


def test_documents_are_packed_by_their_page_count():
    objects = [obj(f"d{i}.pdf") for i in range(4)]
    batches = plan_page_batches(objects, dict.fromkeys((o.key for o in objects), 4), batch_size=10)
    assert [b["keys"] for b in batches] == [["d0.pdf", "d1.pdf"], ["d2.pdf", "d3.pdf"]]


def test_copies_stay_together_and_the_mapping_limit_holds():
    objects = [obj("x.pdf", "same"), obj("y.pdf", "same")]
    batches = plan_page_batches(objects, {"x.pdf": 5, "y.pdf": 5}, batch_size=2)
    assert batches[0] == {"keys": ["x.pdf", "y.pdf"], "pages": {"x.pdf": "1-2", "y.pdf": "1-2"}}
    assert len(batches) == 3
    many = [obj(f"p{i}.pdf") for i in range(100)]
    capped = plan_page_batches(many, dict.fromkeys((o.key for o in many), 30), batch_size=1, max_batches=50)
    # 3000 pages under 50 tasks: the batch grows to 60 pages, two documents each.
    assert len(capped) == 50 and all(len(b["keys"]) == 2 and "pages" not in b for b in capped)
