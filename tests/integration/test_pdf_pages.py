"""PDF documents page by page against the local server: one outcome per page, a failed middle page is
that page's failure, and a rerun given the done pages pays for the missing page only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from baidu_ocr.exceptions import ConfigError
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr.inputs.documents import format_pages
from baidu_ocr_server.engines.fixture import DEFAULT_SAMPLES_DIR

from tests.integration.conftest import baidu_conn_env

PDF_DIR = DEFAULT_SAMPLES_DIR / "documents_pdf"
PDF = (PDF_DIR / "pdf_01.pdf").read_bytes()
TRUTH = json.loads((PDF_DIR / "pdf_01.json").read_text(encoding="utf-8"))


def texts(outcome) -> list[str]:
    return [w["words"] for w in outcome.result["words_result"]]


def calls(server) -> int:
    return server.stats()["endpoints"].get("general_basic", {}).get("calls", 0)


@pytest.fixture
def failing_page_2(tmp_path: Path) -> Path:
    """The samples with page 2 of pdf_01 answering 282000 (an internal error: retried, then failed)."""
    folder = tmp_path / "samples" / "documents_pdf"
    folder.mkdir(parents=True)
    shutil.copy(PDF_DIR / "pdf_01.pdf", folder)
    truth = json.loads(json.dumps(TRUTH))
    truth["pages"][1]["expect_error"] = 282000
    (folder / "pdf_01.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    return tmp_path / "samples"


def test_every_page_is_one_outcome_with_its_truth(monkeypatch, baidu_ocr_server):
    reset_process_caches()
    baidu_conn_env(monkeypatch, baidu_ocr_server)
    outcomes = BaiduOcrHook().ocr_pages(PDF, endpoint="general_basic")

    assert [(o.page_no, o.page_count, o.ok) for o in outcomes] == [(n, 4, True) for n in (1, 2, 3, 4)]
    assert [texts(o) for o in outcomes] == [[line["text"] for line in p["lines"]] for p in TRUTH["pages"]]
    assert texts(outcomes[2]) == []  # the blank page
    assert all(o.result["pdf_file_size"] == "4" for o in outcomes)
    assert len({o.content_sha256 for o in outcomes}) == 1
    assert calls(baidu_ocr_server) == 4


def test_pages_limit_what_is_paid_for(monkeypatch, baidu_ocr_server):
    reset_process_caches()
    baidu_conn_env(monkeypatch, baidu_ocr_server)
    outcomes = BaiduOcrHook().ocr_pages(PDF, pages="2,4-")
    assert [o.page_no for o in outcomes] == [2, 4]
    assert calls(baidu_ocr_server) == 2
    with pytest.raises(ConfigError):
        BaiduOcrHook().ocr_pages(PDF, pages="2-1")
    assert calls(baidu_ocr_server) == 2


def test_a_failed_middle_page_is_paid_again_alone(monkeypatch, ocr_server_factory, failing_page_2):
    first = ocr_server_factory(engine="fixture", samples_dir=str(failing_page_2))
    reset_process_caches()
    baidu_conn_env(monkeypatch, first, max_retries=0)
    outcomes = BaiduOcrHook().ocr_pages(PDF)
    assert [(o.page_no, o.ok, o.error_class) for o in outcomes] == [
        (1, True, None),
        (2, False, "transient"),
        (3, True, None),
        (4, True, None),
    ]
    done = {outcomes[0].content_sha256: [o.page_no for o in outcomes if o.ok]}

    second = ocr_server_factory(engine="fixture")
    reset_process_caches()
    baidu_conn_env(monkeypatch, second)
    rerun = list(BaiduOcrHook().ocr_many([("a.pdf", PDF)], done_pages=done))
    assert [(o.page_no, o.ok) for o in rerun] == [(2, True)]
    assert texts(rerun[0]) == [line["text"] for line in TRUTH["pages"][1]["lines"]]
    assert calls(second) == 1
    assert format_pages(done[outcomes[0].content_sha256]) == "1,3-4"


def test_a_broken_pdf_fails_before_any_call(monkeypatch, baidu_ocr_server):
    reset_process_caches()
    baidu_conn_env(monkeypatch, baidu_ocr_server)
    (outcome,) = BaiduOcrHook().ocr_pages(b"%PDF-1.7\n1 0 obj broken")
    assert (outcome.ok, outcome.error_code, outcome.error_class, outcome.page_no) == (
        False,
        "216201",
        "bad_image",
        None,
    )
    assert calls(baidu_ocr_server) == 0


def test_images_and_pdfs_mix_in_one_batch(monkeypatch, baidu_ocr_server):
    reset_process_caches()
    baidu_conn_env(monkeypatch, baidu_ocr_server)
    image = (DEFAULT_SAMPLES_DIR / "documents" / "doc_05.jpg").read_bytes()
    outcomes = list(BaiduOcrHook().ocr_many([("doc.jpg", image), ("a.pdf", PDF)], pages={"a.pdf": "1"}))
    assert sorted((o.key, o.page_no, o.page_count) for o in outcomes) == [
        ("a.pdf", 1, 4),
        ("doc.jpg", None, None),
    ]


def test_a_pdf_sent_to_an_endpoint_without_pdf_input_fails_alone(monkeypatch, baidu_ocr_server):
    reset_process_caches()
    baidu_conn_env(monkeypatch, baidu_ocr_server)
    (outcome,) = BaiduOcrHook().ocr_pages(PDF, endpoint="idcard", id_card_side="front")
    assert (outcome.ok, outcome.error_code, outcome.page_no) == (False, "216201", None)
    assert "takes no pdf_file" in outcome.error_msg
    assert baidu_ocr_server.stats()["endpoints"].get("idcard", {}).get("calls", 0) == 0
