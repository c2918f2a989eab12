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
   `ocr_fields`, ... and upserts them (emits an Asset per table).
4. **summarize** logs the run: images seen / skipped / ok / failed by error class, billable calls (failed
   calls apart: Baidu does not bill them), retries, p50/p95 latency, achieved QPS, and per endpoint the
   month's calls so far, the share of the free allowance used and the estimated cost (`ocr_usage`, prices
   from the connection's extra `pricing`); it fails the run if a batch failed.

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
from baidu_ocr.operators import (
    BaiduOcrBatchOperator,
    BaiduOcrRunSummaryOperator,
    BaiduOcrWarehouseLoadOperator,
)
from baidu_ocr.sources import INPUT_SUFFIXES

WAREHOUSE_CONN_ID = "warehouse_default"
TABLES = ("ocr_documents", "ocr_lines", "ocr_chars", "ocr_fields")


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
        "prefix": Param("samples/documents/", type="string", description="key prefix to OCR"),
        "endpoint": Param("general_basic", type="string", description="Baidu OCR endpoint"),
        "options": Param({}, type="object", description='endpoint options, e.g. {"probability": "true"}'),
        "batch_size": Param(100, type="integer", minimum=1, description="pages per mapped OCR task"),
        "suffixes": Param(
            list(INPUT_SUFFIXES),
            type="array",
            description="key suffixes to OCR: images, and .pdf/.ofd documents (OCRed page by page)",
        ),
        "max_failure_ratio": Param(0.2, type="number", minimum=0, maximum=1),
        "max_billable_calls": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            description="billable calls this run may spend (empty: no cap); the rest waits for the next run",
        ),
    },
)
def baidu_ocr_s3_to_warehouse():
    @task(show_return_value_in_logs=False)  # up to 512 batches of keys: the log gets one line instead
    def list_batches(params: dict) -> list[dict]:
        """One mapped task's arguments per batch of keys (per-run settings travel as data, not templates)."""
        from baidu_ocr.assets import batch_specs, plan_s3_page_batches

        batches = plan_s3_page_batches(
            params["bucket"], params["prefix"], params["batch_size"], suffixes=params["suffixes"]
        )
        # A batch spec is {"keys": [...]}, plus {"pages": {key: "1-100"}} for a slice of a long document.
        return batch_specs(batches, max_failure_ratio=params["max_failure_ratio"])

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
    )

    BaiduOcrRunSummaryOperator(
        task_id="summarize",
        manifests=ocr.output,
        batches=batches,
        rows_loaded=load.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,  # the cost lines, from ocr_usage
    )


dag = baidu_ocr_s3_to_warehouse()
