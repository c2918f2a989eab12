"""The example DAGs end to end: moto S3 -> local OCR server (fixture engine) -> SQLite / PostgreSQL.

Each test runs a DAG with ``dag.test()`` (tasks and triggers in-process) and checks the warehouse against
the samples' ground truth, then runs it again over the same prefix: no OCR call, no new row.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from baidu_ocr.pii.policy import hmac_id_number, mask_id_number
from PIL import Image

from tests.dags.conftest import PII_HMAC_KEY, run_dag

pytestmark = pytest.mark.integration


def _truth(image: Path) -> dict:
    return json.loads(image.with_suffix(".json").read_text(encoding="utf-8"))


def _sha(image: Path) -> str:
    return hashlib.sha256(image.read_bytes()).hexdigest()


def _billable(server) -> int:
    return int(server.stats()["billable"])


def test_documents_dag_matches_ground_truth_and_a_rerun_is_free(
    airflow_db, s3_env, baidu_ocr_server, warehouse
):
    images = s3_env.upload_samples("documents")
    # The same content under a second key: one document, one billable call.
    s3_env.upload({"samples/documents/copy-of-first.jpg": images[0].read_bytes()})
    conf = {"bucket": s3_env.bucket, "prefix": "samples/documents/", "batch_size": 5}

    assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "success"

    assert _billable(baidu_ocr_server) == len(images)
    lines = defaultdict(list)
    for sha, _line_no, text in warehouse.records(
        "SELECT content_sha256, line_no, text FROM ocr_lines ORDER BY content_sha256, line_no"
    ):
        lines[sha].append(text)
    assert dict(lines) == {_sha(img): [line["text"] for line in _truth(img)["lines"]] for img in images}
    documents = warehouse.records("SELECT content_sha256, endpoint, status, n_lines FROM ocr_documents")
    assert sorted(documents) == sorted(
        (_sha(img), "general_basic", "ok", len(_truth(img)["lines"])) for img in images
    )
    counts = warehouse.row_counts()

    assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "success"
    assert _billable(baidu_ocr_server) == len(images)  # zero OCR calls the second time
    assert warehouse.row_counts() == counts


def test_idcards_dag_stores_masked_and_hashed_numbers_only(airflow_db, s3_env, baidu_ocr_server, warehouse):
    images = s3_env.upload_samples("idcards")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/idcards/", "batch_size": 3}

    assert run_dag("baidu_ocr_idcards_to_warehouse", conf).state == "success"

    rows = warehouse.records(
        "SELECT content_sha256, side, name, sex, ethnicity, birth_date, address, id_number_masked, "
        "id_number_hmac, id_number_encrypted, issuing_authority, valid_from, valid_to FROM ocr_idcards"
    )
    got = {row[0]: row[1:] for row in rows}
    key = PII_HMAC_KEY.encode()
    expected = {}
    for img in images:
        card = _truth(img)["idcard"]
        fields = {label: f["text"] for label, f in card["fields"].items()}
        if card["side"] == "front":
            number = fields["公民身份号码"]
            birth = fields["出生"]
            expected[_sha(img)] = (
                "front",
                fields["姓名"],
                fields["性别"],
                fields["民族"],
                f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
                fields["住址"],
                mask_id_number(number),
                hmac_id_number(number, key),
                None,
                None,
                None,
                None,
            )
        else:
            start, end = fields["签发日期"], fields["失效日期"]
            expected[_sha(img)] = (
                "back",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                fields["签发机关"],
                f"{start[:4]}-{start[4:6]}-{start[6:]}",
                None if end == "长期" else f"{end[:4]}-{end[4:6]}-{end[6:]}",  # 长期: valid for life
            )
    assert {sha: tuple(None if v is None else str(v) for v in row) for sha, row in got.items()} == expected
    clear_numbers = {
        _truth(i)["idcard"]["fields"]["公民身份号码"]["text"] for i in images if "front" in i.name
    }
    stored = {str(v) for row in warehouse.records("SELECT * FROM ocr_idcards") for v in row}
    assert not clear_numbers & stored
    assert s3_env.keys("baidu-ocr-staging/") == []  # raw responses (clear numbers) purged after the load
    calls, counts = _billable(baidu_ocr_server), warehouse.row_counts()

    assert run_dag("baidu_ocr_idcards_to_warehouse", conf).state == "success"
    assert _billable(baidu_ocr_server) == calls
    assert warehouse.row_counts() == counts


def _expected_cells(images: list[Path]) -> dict[str, set]:
    expected = {}
    for img in images:
        expected[_sha(img)] = {
            (
                table_no,
                c["row_start"],
                c["col_start"],
                c["row_end"] - c["row_start"],
                c["col_end"] - c["col_start"],
                c["text"],
            )
            for table_no, table in enumerate(_truth(img)["tables"])
            for c in table["cells"]
        }
    return expected


def _cells(warehouse) -> dict[str, set]:
    cells = defaultdict(set)
    for sha, *cell in warehouse.records(
        "SELECT content_sha256, table_no, row, col, row_span, col_span, text FROM ocr_table_cells"
    ):
        cells[sha].add(tuple(cell))
    return dict(cells)


def _check_tables_run(s3_env, baidu_ocr_server, warehouse, images, deferrable: bool) -> None:
    """The opt-in async ``form_ocr`` path: deferred (or polled in the worker), Excel copied per image, named
    by its content."""
    conf = {
        "bucket": s3_env.bucket,
        "prefix": "samples/tables/",
        "api": "form_ocr",
        "batch_size": 4,
        "poll_interval": 0.05,
        "deferrable": deferrable,
    }
    assert run_dag("baidu_ocr_tables_to_warehouse", conf).state == "success"
    assert _cells(warehouse) == _expected_cells(images)
    excel = s3_env.keys("ocr-output/tables/")
    assert sorted(Path(k).stem.split("-")[0] for k in excel) == sorted(_sha(img) for img in images)
    workbook = s3_env.client.get_object(Bucket=s3_env.bucket, Key=excel[0])["Body"].read()
    assert workbook[:2] in (b"PK", b"\xd0\xcf")  # xlsx (zip) or xls (OLE2)
    calls, counts = _billable(baidu_ocr_server), warehouse.row_counts()

    assert run_dag("baidu_ocr_tables_to_warehouse", conf).state == "success"
    assert _billable(baidu_ocr_server) == calls
    assert warehouse.row_counts() == counts


def test_tables_dag_deferrable_matches_ground_truth(airflow_db, s3_env, baidu_ocr_server, warehouse):
    images = s3_env.upload_samples("tables")
    _check_tables_run(s3_env, baidu_ocr_server, warehouse, images, deferrable=True)


def test_tables_dag_polling_in_the_worker(airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse):
    images = s3_env.upload_samples("tables")
    _check_tables_run(s3_env, baidu_ocr_server, sqlite_warehouse, images, deferrable=False)


def _workbook_texts(data: bytes) -> set[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return {
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None and str(value).strip()
    }


@pytest.mark.parametrize("auth", ["token", "iam"])
def test_tables_dag_defaults_to_table_v2_with_excel_in_s3(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, monkeypatch, auth
):
    from baidu_ocr.pipeline.records import options_hash
    from baidu_ocr.pipeline.staging import excel_key

    if auth == "iam":  # the same run, authenticated by an IAM API key: no access token is ever fetched
        monkeypatch.setenv(
            "AIRFLOW_CONN_BAIDU_OCR_DEFAULT",
            baidu_ocr_server.airflow_connection(iam=True, qps=500, timeout=10, max_retries=2),
        )
    images = s3_env.upload_samples("tables")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/tables/", "batch_size": 4}
    assert run_dag("baidu_ocr_tables_to_warehouse", conf).state == "success"

    stats = baidu_ocr_server.stats()
    assert stats["endpoints"]["table"]["ok"] == len(images)
    assert "form_ocr/request" not in stats["endpoints"]  # the async API was not used
    if auth == "iam":
        assert stats["tokens_issued"] == 0
    assert _cells(sqlite_warehouse) == _expected_cells(images)
    assert {r[0] for r in sqlite_warehouse.records("SELECT endpoint FROM ocr_documents")} == {"table"}

    # One workbook per scan, keyed by content, holding the same texts that reached ocr_table_cells.
    digest = options_hash({"return_excel": "true"})
    expected_keys = {excel_key("ocr-output/tables/", _sha(img), digest): img for img in images}
    assert set(s3_env.keys("ocr-output/tables/")) == set(expected_keys)
    texts_by_doc = defaultdict(set)  # the cells, and the titles/notes above and below the tables
    for sha, text in sqlite_warehouse.records(
        "SELECT content_sha256, text FROM ocr_table_cells UNION ALL "
        "SELECT content_sha256, value FROM ocr_fields WHERE field LIKE 'tables[%'"
    ):
        if text and text.strip():
            texts_by_doc[sha].add(text)
    for key, img in expected_keys.items():
        body = s3_env.client.get_object(Bucket=s3_env.bucket, Key=key)["Body"].read()
        assert _workbook_texts(body) == texts_by_doc[_sha(img)], img.name
    links = dict(
        sqlite_warehouse.records("SELECT content_sha256, value FROM ocr_fields WHERE field = 'excel_uri'")
    )
    assert links == {_sha(img): f"s3://{s3_env.bucket}/{key}" for key, img in expected_keys.items()}
    calls, counts = _billable(baidu_ocr_server), sqlite_warehouse.row_counts()

    # A rerun over the same prefix pays for nothing, adds no row and no second workbook.
    assert run_dag("baidu_ocr_tables_to_warehouse", conf).state == "success"
    assert _billable(baidu_ocr_server) == calls
    assert sqlite_warehouse.row_counts() == counts
    assert set(s3_env.keys("ocr-output/tables/")) == set(expected_keys)


def test_tables_dag_reads_pdf_pages_with_table_v2_and_form_ocr_leaves_them_out(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    from baidu_ocr.inputs.documents import pdf_page_count

    images = s3_env.upload_samples("tables")
    pdfs = [p for p in s3_env.upload_samples("documents_pdf", prefix="samples/tables/") if p.suffix == ".pdf"]
    pages = {_sha(pdf): pdf_page_count(pdf.read_bytes()) for pdf in pdfs}
    conf = {"bucket": s3_env.bucket, "prefix": "samples/tables/", "batch_size": 4, "excel_prefix": ""}

    assert run_dag(
        "baidu_ocr_tables_to_warehouse", {**conf, "api": "form_ocr", "deferrable": False}
    ).state == ("success")
    assert baidu_ocr_server.stats()["endpoints"]["form_ocr/request"]["ok"] == len(images)  # images only
    assert "table" not in baidu_ocr_server.stats()["endpoints"]

    assert run_dag("baidu_ocr_tables_to_warehouse", conf).state == "success"
    # table v2: every page of each PDF is one call and one document row; the images are table documents too.
    assert baidu_ocr_server.stats()["endpoints"]["table"]["ok"] == len(images) + sum(pages.values())
    rows = sqlite_warehouse.records(
        "SELECT content_sha256, page_no, page_count FROM ocr_documents WHERE endpoint = 'table' AND page_no > 0"
    )
    assert sorted(rows) == sorted(
        (sha, n, count) for sha, count in pages.items() for n in range(1, count + 1)
    )


def _tiny_png(n: int) -> bytes:
    img = Image.new("L", (24, 16), color=255)
    for bit in range(12):  # n in binary as dark pixels: 3,000 distinct images
        if n >> bit & 1:
            img.putpixel((bit * 2, 8), 0)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_three_thousand_images_map_to_few_tasks(airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse):
    images = {f"bulk/img-{n:05d}.png": _tiny_png(n) for n in range(3000)}
    s3_env.upload(images)

    run = run_dag(
        "baidu_ocr_s3_to_warehouse", {"bucket": s3_env.bucket, "prefix": "bulk/", "batch_size": 100}
    )

    assert run.state == "success"
    mapped = [ti for ti in run.get_task_instances() if ti.task_id == "ocr_batch"]
    assert len(mapped) == 30 and all(ti.state == "success" for ti in mapped)
    assert _billable(baidu_ocr_server) == 3000
    assert sqlite_warehouse.row_counts()["ocr_documents"] == 3000
    texts = {row[0] for row in sqlite_warehouse.records("SELECT text FROM ocr_lines")}
    assert texts == {f"img-{hashlib.sha256(data).hexdigest()[:12]}" for data in images.values()}


def test_broken_images_become_failed_rows_and_are_never_paid_for_twice(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    broken = s3_env.upload_samples("broken", prefix="mixed/")
    good = sorted((Path(__file__).resolve().parents[2] / "include/samples/documents").glob("doc_0[12].jpg"))
    s3_env.upload({f"mixed/documents/{img.name}": img.read_bytes() for img in good})
    conf = {"bucket": s3_env.bucket, "prefix": "mixed/", "batch_size": 50, "max_failure_ratio": 1.0}

    assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "success"

    rows = {
        sha: (status, code)
        for sha, status, code in sqlite_warehouse.records(
            "SELECT content_sha256, status, error_code FROM ocr_documents"
        )
    }
    for img in broken:
        expected = _truth(img)["expect_error"]
        if img.name.startswith("wide_"):
            # Too wide for Baidu, but fixable: the hook shrinks it to 4096 px instead of failing.
            assert rows[_sha(img)] == ("ok", None)
        else:
            assert rows[_sha(img)] == ("failed", str(expected)), img.name
    assert all(rows[_sha(img)] == ("ok", None) for img in good)
    # Only what could be sent was billed: the two documents and the shrunk wide image.
    assert _billable(baidu_ocr_server) == len(good) + 1
    counts = sqlite_warehouse.row_counts()

    assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "success"
    assert _billable(baidu_ocr_server) == len(good) + 1
    assert sqlite_warehouse.row_counts() == counts


def test_quota_exhausted_fails_the_run_but_keeps_what_was_paid_for(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    images = s3_env.upload_samples("documents")
    baidu_ocr_server.configure(daily_quota=4)
    conf = {"bucket": s3_env.bucket, "prefix": "samples/documents/", "batch_size": 5}

    assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "failed"

    loaded = sqlite_warehouse.records("SELECT content_sha256 FROM ocr_documents WHERE status = 'ok'")
    assert len(loaded) == 4 == _billable(baidu_ocr_server)  # the 4 paid results reached the warehouse

    baidu_ocr_server.configure(daily_quota=None)  # the next day
    assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "success"
    assert _billable(baidu_ocr_server) == len(images)  # 4 + the 8 missing ones: nothing paid twice
    assert len(sqlite_warehouse.records("SELECT 1 FROM ocr_documents WHERE status = 'ok'")) == len(images)


def test_multi_page_pdfs_become_per_page_rows_planned_by_pages(
    airflow_db, s3_env, baidu_ocr_server, warehouse
):
    s3_env.upload_samples("documents_pdf")  # the PDFs and their ground truth (.json: not listed)
    pdfs = sorted((Path(__file__).resolve().parents[2] / "include/samples/documents_pdf").glob("*.pdf"))
    # The blank page has no text: it is queued for review. dag.test() would wait for the answer: no review task.
    conf = {
        "bucket": s3_env.bucket,
        "prefix": "samples/documents_pdf/",
        "batch_size": 3,
        "review_in_ui": False,
    }

    run = run_dag("baidu_ocr_s3_to_warehouse", conf)

    assert run.state == "success"
    # 4 + 3 pages in batches of 3 pages: pdf_01 is cut into pages 1-3 and 4, pdf_02 is one batch.
    assert len([ti for ti in run.get_task_instances() if ti.task_id == "ocr_batch"]) == 3
    pages = sum(_truth(pdf)["page_count"] for pdf in pdfs)
    assert _billable(baidu_ocr_server) == pages
    documents = warehouse.records(
        "SELECT content_sha256, page_no, page_count, status FROM ocr_documents ORDER BY content_sha256, page_no"
    )
    assert documents == sorted(
        (_sha(pdf), n, _truth(pdf)["page_count"], "ok")
        for pdf in pdfs
        for n in range(1, _truth(pdf)["page_count"] + 1)
    )
    lines = defaultdict(list)
    for sha, page_no, text in warehouse.records(
        "SELECT content_sha256, page_no, text FROM ocr_lines ORDER BY content_sha256, page_no, line_no"
    ):
        lines[(sha, page_no)].append(text)
    assert dict(lines) == {
        (_sha(pdf), n): [line["text"] for line in page["lines"]]
        for pdf in pdfs
        for n, page in enumerate(_truth(pdf)["pages"], start=1)
        if page["lines"]  # the blank page has a document row and no line
    }
    assert warehouse.records("SELECT content_sha256, page_no, reason FROM ocr_review_queue") == [
        (_sha(pdfs[0]), 3, "no_text")
    ]
    counts = warehouse.row_counts()

    assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "success"
    assert _billable(baidu_ocr_server) == pages  # the rerun is free
    assert warehouse.row_counts() == counts


def test_a_half_failed_pdf_is_finished_by_the_rerun_for_its_missing_page(
    airflow_db, s3_env, sqlite_warehouse, monkeypatch, tmp_path
):
    import shutil

    from baidu_ocr_server.testing import running_server

    folder = Path(__file__).resolve().parents[2] / "include/samples/documents_pdf"
    failing = tmp_path / "samples" / "documents_pdf"
    failing.mkdir(parents=True)
    shutil.copy(folder / "pdf_01.pdf", failing)
    truth = _truth(folder / "pdf_01.pdf")
    truth["pages"][1]["expect_error"] = 282000  # page 2 fails (internal error, retries exhausted)
    (failing / "pdf_01.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    s3_env.upload({"pdfs/pdf_01.pdf": (folder / "pdf_01.pdf").read_bytes()})
    conf = {"bucket": s3_env.bucket, "prefix": "pdfs/", "max_failure_ratio": 1.0}

    def run_against(samples_dir) -> int:
        with running_server(engine="fixture", samples_dir=samples_dir) as server:
            monkeypatch.setenv(
                "AIRFLOW_CONN_BAIDU_OCR_DEFAULT", server.airflow_connection(qps=500, max_retries=0)
            )
            from baidu_ocr.hooks.ocr import reset_process_caches

            reset_process_caches()
            assert run_dag("baidu_ocr_s3_to_warehouse", conf).state == "success"
            return _billable(server)

    assert run_against(str(tmp_path / "samples")) == 3  # Baidu bills no failed call
    status = "SELECT page_no, status FROM ocr_documents ORDER BY page_no"
    assert sqlite_warehouse.records(status) == [(1, "ok"), (2, "failed"), (3, "ok"), (4, "ok")]

    assert run_against(None) == 1  # only page 2 is paid for again
    assert sqlite_warehouse.records(status) == [(n, "ok") for n in (1, 2, 3, 4)]
    page_2 = sqlite_warehouse.records("SELECT text FROM ocr_lines WHERE page_no = 2 ORDER BY line_no")
    assert [row[0] for row in page_2] == [line["text"] for line in truth["pages"][1]["lines"]]


def test_dag_test_queues_documents_for_review_without_waiting_for_an_answer(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    """dag.test() never applies a review timeout: under it the DAG queues and opens no review task."""
    s3_env.upload_samples("review")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/review/"}  # review_in_ui stays true
    run = run_dag("baidu_ocr_s3_to_warehouse", conf)
    assert run.state == "success"
    assert sqlite_warehouse.records("SELECT reason, status FROM ocr_review_queue") == [
        ("low_confidence", "open")
    ]
    assert sqlite_warehouse.records("SELECT review_status FROM ocr_documents") == [("needs_review",)]
    review = [ti for ti in run.get_task_instances() if ti.task_id == "review"]
    assert [ti.state for ti in review] == ["skipped"]  # mapped over nothing
    (summarize,) = [ti for ti in run.get_task_instances() if ti.task_id == "summarize"]
    assert summarize.xcom_pull(task_ids="summarize")["queued_for_review"] == {"low_confidence": 1}
