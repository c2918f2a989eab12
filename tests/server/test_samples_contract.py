"""The committed samples (include/samples) and the fixture engine agree: every ground-truth file is
answered as written, and every broken sample gets the Baidu code it expects."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from baidu_ocr_server.engines.fixture import DEFAULT_SAMPLES_DIR, IMAGE_SUFFIXES
from baidu_ocr_server.shapes import idcard_number_type
from baidu_ocr_server.testing import running_server

from .conftest import call, get_token


def _samples() -> list[tuple[Path, Path]]:
    pairs = []
    for truth in sorted(DEFAULT_SAMPLES_DIR.rglob("*.json")):
        image = next((truth.with_suffix(s) for s in IMAGE_SUFFIXES if truth.with_suffix(s).is_file()), None)
        if image is not None:
            pairs.append((truth, image))
    return pairs


SAMPLES = _samples()


@pytest.fixture(scope="module")
def samples_server():
    with running_server(table_job_seconds=0) as server:
        yield server, get_token(server)


def assert_invoice_answer(got: dict, truth: dict) -> None:
    """Every truth field answered as written (item fields row by row); every other field empty."""
    assert set(truth) <= set(got)
    for name, value in got.items():
        assert value == truth.get(name, [] if isinstance(value, list) else ""), name


INVOICE_DOCUMENTS = sorted(
    [*DEFAULT_SAMPLES_DIR.rglob("invoices/*.pdf"), *DEFAULT_SAMPLES_DIR.rglob("invoices/*.ofd")]
)


@pytest.mark.parametrize("path", INVOICE_DOCUMENTS, ids=[p.stem for p in INVOICE_DOCUMENTS])
def test_invoice_pdf_and_ofd_pages_are_answered_from_their_ground_truth(samples_server, path):
    server, token = samples_server
    truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    field = path.suffix.lstrip(".") + "_file"  # pdf_file | ofd_file
    document = base64.b64encode(path.read_bytes()).decode()
    for page_no, page in enumerate(truth["pages"], start=1):
        body = call(server, "vat_invoice", token, **{field: document, f"{field}_num": str(page_no)}).json()
        assert body[f"{field}_size"] == str(truth["page_count"])
        assert_invoice_answer(body["words_result"], page["words_result"])


@pytest.mark.parametrize(("truth_path", "image_path"), SAMPLES, ids=[p.stem for p, _ in SAMPLES])
def test_sample_is_answered_from_its_ground_truth(samples_server, truth_path, image_path):
    server, token = samples_server
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    image = image_path.read_bytes()
    kind = truth["kind"]
    if kind == "broken":
        body = call(server, "general_basic", token, image=image).json()
        assert body.get("error_code") == truth["expect_error"]
    elif kind == "idcard":
        card = truth["idcard"]
        body = call(server, "idcard", token, image=image, id_card_side=card["side"]).json()
        assert body["image_status"] == "normal"
        for label, field in card["fields"].items():
            assert body["words_result"][label]["words"] == field["text"]
        if card["side"] == "front":
            number = card["fields"].get("公民身份号码", {}).get("text", "")
            birth = card["fields"].get("出生", {}).get("text", "")
            assert body["idcard_number_type"] == idcard_number_type(number, birth)
    elif kind == "invoice":
        body = call(server, "vat_invoice", token, image=image).json()
        assert_invoice_answer(body["words_result"], truth["words_result"])
    elif kind == "table":
        body = call(server, "table", token, image=image).json()
        assert body["table_num"] == len(truth["tables"])
        got = [cell["words"] for table in body["tables_result"] for cell in table["body"]]
        assert got == [cell["text"] for table in truth["tables"] for cell in table["cells"]]
    else:
        body = call(server, "general", token, image=image).json()
        assert [line["words"] for line in body["words_result"]] == [line["text"] for line in truth["lines"]]
        assert [list(line["location"].values()) for line in body["words_result"]] == [
            [int(round(v)) for v in line["box"]] for line in truth["lines"]
        ]
