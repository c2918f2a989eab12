"""
### baidu_ocr_s3_to_warehouse: scanned images in S3 -> Baidu OCR -> warehouse tables

1. **list_batches** lists the images and PDF/OFD documents (`params.suffixes`) under `params.prefix` in
   `params.bucket` (keys only; each document is read once to count its pages) and cuts them into batches of
   about `params.batch_size` pages: an image is one page, a long PDF is cut into page ranges. Keys with the same S3 ETag go in one batch, and the
   batch size grows when needed so the number of mapped tasks stays at most 512, half of Airflow's default
   `max_map_length`, whatever the number of images.
2. **ocr_batch** (mapped over the batches, pool `baidu_ocr`) reads and hashes each image (SHA-256), asks the
   warehouse which hashes it already holds for this endpoint and these options, and OCRs only the new content,
   once per content (the same image under two keys is one billable call). Raw results are staged as Parquet
   in S3; XCom carries only a manifest. A batch fails when more than 20 % of its images failed (after
   staging what succeeded). Skipping happens here rather than in list_batches because a content hash needs
   the bytes: reading an image costs an S3 GET, never an OCR call. So a second run over the same prefix makes
   zero OCR calls and adds zero rows.
3. **normalize_and_load** turns the staged records into `ocr_documents`, `ocr_lines`, `ocr_chars`,
   `ocr_fields`, ... and upserts them (emits an Asset per table). The confidence gate: a document with a
   line under `params.min_confidence` (Baidu's line confidence; the default options ask for it with
   `probability=true`), or with no text at all, is loaded as `needs_review` and queued in `ocr_review_queue`.
4. **review** (mapped over the documents this run queued, when `params.review_in_ui`): a human-in-the-loop
   task per document shows, in Airflow's UI (Browse -> Required Actions), the page and each low-confidence
   line as scanned beside the OCR's text (line crops need an endpoint that returns positions, e.g.
   `general`; `general_basic` shows the page only), through links that die when the review closes; the
   reviewer accepts the lines or saves corrected text. **apply_reviews** writes the answers, each on its
   own (`reviewed_by`, `reviewed_by_id`, `reviewed_at`, the OCR's text kept in `original_text`); a
   reviewed row is never overwritten by a rerun.
   A review unanswered after `params.review_timeout_minutes` leaves the rows `needs_review`; the run
   succeeds. Under `airflow dags test`, which would wait for the answers forever (it never applies a review
   timeout), the documents are queued but no review task is opened.

   **To see a review**: the default prefix `samples/documents/` holds clean scans, none under the gate, so
   **review** has nothing to map over and is skipped. Trigger with `prefix` = `samples/review/` (`make ui`
   uploads `faded_01.jpg` there: one faded line, read with a confidence under the default 0.9), then open
   the run's **review** task (tab Required Actions) or Browse -> Required Actions, and accept the lines or
   correct them.
5. **summarize** logs the run: documents seen / skipped / ok / failed (a PDF cut into page ranges is one
   document) and pages ok / failed by error class, billable calls (failed calls apart: Baidu does not bill
   them), retries, p50/p95 latency per endpoint called, achieved QPS, and per endpoint the run called the
   month's calls so far, the share of the free allowance used and the estimated cost (`ocr_usage`, prices
   from the connection's extra `pricing`). It fails the run if the listing, a batch or the load failed,
   naming the step and its cause (a bucket that does not exist fails the listing at once, without
   retries), and says so plainly when the prefix held nothing to OCR.

`params.max_billable_calls` caps what one run spends: once reached, the batches stop sending, what finished
is loaded, the rest is left for the next run, and the run fails saying so. Baidu's daily quota (error 17)
stops a run the same way.

Connections: `aws_default` (S3; `endpoint_url` in extra for MinIO/moto), `baidu_ocr_default` (type
`baidu_ocr`: API Key / Secret Key, extra `qps`), `warehouse_default` (any common-sql database: SQLite,
PostgreSQL, ...). Pool: `baidu_ocr` (its slots cap the OCR batches running at once).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task
from baidu_ocr.inputs.sources import INPUT_SUFFIXES
from baidu_ocr.operators import (
    BaiduOcrBatchOperator,
    BaiduOcrRunSummaryOperator,
    BaiduOcrWarehouseLoadOperator,
)
from baidu_ocr.pipeline.dag_params import budget_params, confidence_gate_param, review_params
from baidu_ocr.pipeline.review_tasks import add_review_steps
from baidu_ocr.pipeline.step_errors import publish_error_on_failure

WAREHOUSE_CONN_ID = "warehouse_default"
TABLES = ("ocr_documents", "ocr_lines", "ocr_chars", "ocr_fields", "ocr_review_queue")


@dag(
    dag_id="baidu_ocr_s3_to_warehouse",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["baidu-ocr", "example"],
    render_template_as_native_obj=True,  # options render as a dict, batch sizes as ints
    params={
        "bucket": Param("baidu-ocr-demo", type="string", description="S3 bucket of the images"),
        "prefix": Param(
            "samples/documents/",
            type="string",
            description="key prefix to OCR; samples/review/ holds a faded scan that opens a review task",
        ),
        "endpoint": Param("general_basic", type="string", description="Baidu OCR endpoint"),
        "options": Param(
            {"probability": "true"},
            type="object",
            description="endpoint options; probability=true gives the line confidences the gate reads",
        ),
        "batch_size": Param(100, type="integer", minimum=1, description="pages per mapped OCR task"),
        "suffixes": Param(
            list(INPUT_SUFFIXES),
            type="array",
            description="key suffixes to OCR: images, and .pdf/.ofd documents (OCRed page by page)",
        ),
        **budget_params(),
        **confidence_gate_param(),
        **review_params(),
    },
)
def baidu_ocr_s3_to_warehouse():
    @task(show_return_value_in_logs=False)  # up to 512 batches of keys: the log gets one line instead
    @publish_error_on_failure  # a listing that fails tells the summary why
    def list_batches(params: dict) -> list[dict]:
        """One mapped task's arguments per batch of keys (per-run settings travel as data, not templates)."""
        from baidu_ocr.pipeline.s3_batches import batch_specs, plan_s3_page_batches, stage_batch_keys

        batches = plan_s3_page_batches(
            params["bucket"], params["prefix"], params["batch_size"], suffixes=params["suffixes"]
        )
        # A batch spec is {"keys": [...]}, plus {"pages": {key: "1-100"}} for a slice of a long document.
        # Both go to an object under the staging prefix (a key may be named after an ID number, and XCom
        # must name none): the mapped task gets {"keys_uri": ..., "batch_label": ...} and reads them there.
        specs = batch_specs(batches, max_failure_ratio=params["max_failure_ratio"])
        return stage_batch_keys(specs, params["bucket"])

    batches = list_batches()

    ocr = BaiduOcrBatchOperator.partial(
        task_id="ocr_batch",
        pool="baidu_ocr",
        bucket="{{ params.bucket }}",
        endpoint="{{ params.endpoint }}",
        options="{{ params.options }}",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        max_billable_calls="{{ params.max_billable_calls }}",
        map_index_template="{{ task.batch_label }}",  # "batch 2/3 · 4 images · doc_05…doc_08"
    ).expand_kwargs(batches)

    load = BaiduOcrWarehouseLoadOperator(
        task_id="normalize_and_load",
        manifests=ocr.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        staging_bucket="{{ params.bucket }}",
        trigger_rule="all_done",  # load what the successful batches staged even if one batch failed
        tables=TABLES,
        min_confidence="{{ params.min_confidence }}",
    )

    add_review_steps(load, warehouse_conn_id=WAREHOUSE_CONN_ID)

    BaiduOcrRunSummaryOperator(
        task_id="summarize",
        manifests=ocr.output,
        batches=batches,
        rows_loaded=load.output,
        source="s3://{{ params.bucket }}/{{ params.prefix }}",  # named when nothing is listed
        warehouse_conn_id=WAREHOUSE_CONN_ID,  # the cost lines, from ocr_usage
    )


dag = baidu_ocr_s3_to_warehouse()
