"""The document parser DAG end to end: moto S3 -> local server's async parser -> ocr_parsed_documents.

``dag.test()`` runs the deferred tasks' triggers in-process. The PDF samples' Markdown must hold their
ground-truth lines in order; a broken document is a recorded failure; a rerun submits nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dags.conftest import run_dag
from tests.security.test_no_leaks_e2e import _xcom_values

pytestmark = pytest.mark.integration


def _submitted(server) -> int:
    return int(server.stats()["parser_tasks"])


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "in-the-worker"])
def test_parser_dag_stores_markdown_per_document_and_a_rerun_is_free(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, deferrable, caplog, capfd
):
    baidu_ocr_server.configure(parser_task_seconds=0.2)
    pdfs = [p for p in s3_env.upload_samples("documents_pdf") if p.suffix == ".pdf"]
    s3_env.upload({"samples/documents_pdf/zz-broken.pdf": b"%PDF-1.4 truncated"})
    conf = {
        "bucket": s3_env.bucket,
        "prefix": "samples/documents_pdf/",
        "batch_size": 5,  # one batch: the broken document is 1 of 3, under max_failure_ratio
        "poll_interval": 0.05,
        "deferrable": deferrable,
        "max_failure_ratio": 0.5,
    }
    run = run_dag("baidu_ocr_parse_documents", conf)
    assert run.state == "success"

    rows = {
        Path(uri).name: (status, pages, markdown, task_id)
        for uri, status, pages, markdown, task_id in sqlite_warehouse.records(
            "SELECT source_uri, status, page_count, markdown, task_id FROM ocr_parsed_documents"
        )
    }
    assert set(rows) == {p.name for p in pdfs} | {"zz-broken.pdf"}
    for pdf in pdfs:
        truth = json.loads(pdf.with_suffix(".json").read_text(encoding="utf-8"))
        status, pages, markdown, task_id = rows[pdf.name]
        expected = [line["text"] for page in truth["pages"] for line in page["lines"]]
        assert (status, pages) == ("ok", len(truth["pages"]))
        assert [b.strip() for b in markdown.split("\n\n") if b.strip()] == expected
        assert task_id.startswith("task-")
    assert rows["zz-broken.pdf"][0] == "failed"
    submitted, counts = _submitted(baidu_ocr_server), sqlite_warehouse.row_counts()
    assert submitted == len(pdfs) + 1 and counts["ocr_documents"] == len(pdfs) + 1

    # No credential or access token in the logs, XCom or the warehouse.
    secrets = {baidu_ocr_server.api_key, baidu_ocr_server.secret_key, *baidu_ocr_server.backend._tokens}
    printed = capfd.readouterr()
    texts = "\n".join(
        [
            caplog.text,
            printed.out + printed.err,
            *_xcom_values(run.dag_id, run.run_id),
            repr(sqlite_warehouse.records("SELECT * FROM ocr_parsed_documents")),
        ]
    )
    assert baidu_ocr_server.backend._tokens and [s[:6] for s in secrets if s in texts] == []

    assert run_dag("baidu_ocr_parse_documents", conf).state == "success"
    assert _submitted(baidu_ocr_server) == submitted
    assert sqlite_warehouse.row_counts() == counts
