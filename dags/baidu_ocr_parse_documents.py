"""
### baidu_ocr_parse_documents: long documents in S3 -> Baidu's async document parser -> Markdown in the warehouse

1. **list_batches** lists the PDFs and images (`params.suffixes`) under `params.prefix` and cuts them into
   batches of `params.batch_size` documents (one parser task per document, whatever its page count).
2. **parse_documents** (mapped, pool `baidu_ocr`, **deferrable**) reads and hashes each document, skips
   content the warehouse already holds for these options, submits one `parser/task` per new document, then
   defers: `BaiduOcrParserTaskTrigger` polls `parser/task/query` in the triggerer (every
   `params.poll_interval` seconds, for at most an hour) while no worker slot is held. When every task has
   finished the task resumes, fetches each document's Markdown and layout JSON and stages them. A task
   Baidu reports failed is a failed document, counted against `params.max_failure_ratio`.
3. **normalize_and_load** writes one `ocr_parsed_documents` row per document (Markdown, layout JSON, page
   count, task id, status) plus its `ocr_documents` row.
4. **summarize** logs the run summary and fails the run when a batch or the load failed.

A rerun over the same prefix submits nothing: every document is already in the warehouse.
Run it with a triggerer (`airflow standalone` starts one); `airflow dags test` runs the trigger in-process.
Connections: `aws_default`, `baidu_ocr_default`, `warehouse_default` (see `baidu_ocr_s3_to_warehouse`).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task
from baidu_ocr.operators import (
    BaiduOcrParserOperator,
    BaiduOcrRunSummaryOperator,
    BaiduOcrWarehouseLoadOperator,
)
from baidu_ocr.pipeline.dag_params import budget_params
from baidu_ocr.pipeline.step_errors import publish_error_on_failure

WAREHOUSE_CONN_ID = "warehouse_default"
TABLES = ("ocr_documents", "ocr_parsed_documents")


@dag(
    dag_id="baidu_ocr_parse_documents",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["baidu-ocr", "example", "deferrable"],
    render_template_as_native_obj=True,
    params={
        "bucket": Param("baidu-ocr-demo", type="string"),
        "prefix": Param("samples/documents_pdf/", type="string"),
        "suffixes": Param(
            [".pdf", ".png", ".jpg", ".jpeg"], type="array", description="key suffixes to parse"
        ),
        "options": Param({}, type="object", description='parser options, e.g. {"recognize_formula": true}'),
        "batch_size": Param(20, type="integer", minimum=1, description="documents per deferred task"),
        "deferrable": Param(
            True, type="boolean", description="wait in the triggerer (else poll in the worker)"
        ),
        "poll_interval": Param(5.0, type="number", minimum=0, description="seconds between status polls"),
        **budget_params("parser tasks this run may submit"),
    },
)
def baidu_ocr_parse_documents():
    @task(show_return_value_in_logs=False)  # the batches of keys: the log gets one line instead
    @publish_error_on_failure  # a listing that fails tells the summary why
    def list_batches(params: dict) -> list[dict]:
        """One mapped task's arguments per batch of documents (per-run settings travel as data)."""
        from baidu_ocr.pipeline.s3_batches import batch_specs, plan_s3_batches, stage_batch_keys

        batches = plan_s3_batches(
            params["bucket"], params["prefix"], params["batch_size"], suffixes=params["suffixes"]
        )
        specs = batch_specs(
            batches, **{k: params[k] for k in ("deferrable", "poll_interval", "max_failure_ratio")}
        )
        return stage_batch_keys(specs, params["bucket"])  # XCom names no key: each batch's keys_uri

    batches = list_batches()

    parsed = BaiduOcrParserOperator.partial(
        task_id="parse_documents",
        pool="baidu_ocr",
        bucket="{{ params.bucket }}",
        options="{{ params.options }}",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        max_billable_calls="{{ params.max_billable_calls }}",
        timeout=3600,
        map_index_template="{{ task.batch_label }}",
    ).expand_kwargs(batches)

    load = BaiduOcrWarehouseLoadOperator(
        task_id="normalize_and_load",
        manifests=parsed.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        staging_bucket="{{ params.bucket }}",
        trigger_rule="all_done",
        tables=TABLES,
    )

    BaiduOcrRunSummaryOperator(
        task_id="summarize",
        manifests=parsed.output,
        batches=batches,
        rows_loaded=load.output,
        source="s3://{{ params.bucket }}/{{ params.prefix }}",  # named when nothing is listed
    )


dag = baidu_ocr_parse_documents()
