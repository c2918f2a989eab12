"""
### baidu_ocr_tables_to_warehouse: table scans in S3 -> Baidu table recognition -> `ocr_table_cells` + Excel

1. **list_batches** lists the images and PDF/OFD documents (`params.suffixes`) under `params.prefix` and cuts
   them into batches of `params.batch_size` pages (`form_ocr` takes images only: documents are left out).
2. **recognize_tables** (mapped, pool `baidu_ocr`) reads and hashes each image and skips content the
   warehouse already holds. With `params.api` = `table` (default, Baidu's current API) it calls the sync
   `table` (v2) endpoint with `return_excel=true` within the connection's QPS, stages each answer's cells
   and writes its Excel workbook to `s3://<bucket>/<params.excel_prefix>/<sha256>-<options>.xlsx`.
   With `params.api` = `form_ocr` (Baidu's old async API, about to go offline) it submits one
   `form_ocr/request` job per new image, then **defers**: the `BaiduOcrTableJobTrigger` polls
   `get_request_result` in the triggerer (every `params.poll_interval` seconds, for at most an hour) while
   no worker slot is held; when every job is done the task resumes, stages each job's JSON result and copies
   its Excel file to `s3://<bucket>/<params.excel_prefix>/<sha256>-<options>.xls[x]` (named by content too);
   a job whose result or workbook cannot be fetched fails that image only (`result_file`).
3. **normalize_and_load** writes one `ocr_table_cells` row per cell (row/col spans, text) plus the documents
   (and an `ocr_fields` row `excel_uri` naming the workbook).
4. **summarize** logs the run summary.

`form_ocr` needs a triggerer (`airflow standalone` starts one); `airflow dags test` runs the trigger in-process.
Connections: `aws_default`, `baidu_ocr_default`, `warehouse_default` (see `baidu_ocr_s3_to_warehouse`).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task
from baidu_ocr.inputs.sources import INPUT_SUFFIXES
from baidu_ocr.operators import (
    BaiduOcrRunSummaryOperator,
    BaiduOcrTableOperator,
    BaiduOcrWarehouseLoadOperator,
)
from baidu_ocr.pipeline.dag_params import budget_params
from baidu_ocr.pipeline.step_errors import publish_error_on_failure

WAREHOUSE_CONN_ID = "warehouse_default"
TABLES = ("ocr_documents", "ocr_table_cells", "ocr_fields")


@dag(
    dag_id="baidu_ocr_tables_to_warehouse",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["baidu-ocr", "example", "tables"],
    render_template_as_native_obj=True,
    params={
        "bucket": Param("baidu-ocr-demo", type="string"),
        "prefix": Param("samples/tables/", type="string"),
        "api": Param(
            "table",
            enum=["table", "form_ocr"],
            description="table: Baidu's sync table v2 with Excel (default); form_ocr: the old async API",
        ),
        "excel_prefix": Param("ocr-output/tables/", type="string", description="where Excel results go"),
        "options": Param(
            {}, type="object", description="options of the table endpoint (or form_ocr/request)"
        ),
        "batch_size": Param(20, type="integer", minimum=1, description="pages per mapped task"),
        "suffixes": Param(
            list(INPUT_SUFFIXES),
            type="array",
            description="key suffixes: images, and .pdf/.ofd documents (table v2 reads them page by page)",
        ),
        "deferrable": Param(
            True, type="boolean", description="form_ocr: wait in the triggerer (else poll in the worker)"
        ),
        "poll_interval": Param(2.0, type="number", minimum=0, description="seconds between status polls"),
        **budget_params("table jobs this run may submit"),
    },
)
def baidu_ocr_tables_to_warehouse():
    @task(show_return_value_in_logs=False)  # the batches of keys: the log gets one line instead
    @publish_error_on_failure  # a listing that fails tells the summary why
    def list_batches(params: dict) -> list[dict]:
        """One mapped task's arguments per batch of keys (per-run settings travel as data, not templates)."""
        from baidu_ocr.inputs.sources import DOCUMENT_SUFFIXES
        from baidu_ocr.pipeline.s3_batches import batch_specs, plan_s3_page_batches, stage_batch_keys

        suffixes = params["suffixes"]
        if params["api"] == "form_ocr":  # the old async API reads images only
            suffixes = [s for s in suffixes if s.lower() not in DOCUMENT_SUFFIXES]
        batches = plan_s3_page_batches(
            params["bucket"], params["prefix"], params["batch_size"], suffixes=suffixes
        )
        specs = batch_specs(
            batches, **{k: params[k] for k in ("api", "deferrable", "poll_interval", "max_failure_ratio")}
        )
        return stage_batch_keys(specs, params["bucket"])  # XCom names no key: each batch's keys_uri

    batches = list_batches()

    tables = BaiduOcrTableOperator.partial(
        task_id="recognize_tables",
        pool="baidu_ocr",
        bucket="{{ params.bucket }}",
        options="{{ params.options }}",
        excel_prefix="{{ params.excel_prefix }}",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        max_billable_calls="{{ params.max_billable_calls }}",
        timeout=3600,
        map_index_template="{{ task.batch_label }}",  # "batch 1/1 · 6 images · table_01…table_06"
    ).expand_kwargs(batches)

    load = BaiduOcrWarehouseLoadOperator(
        task_id="normalize_and_load",
        manifests=tables.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        staging_bucket="{{ params.bucket }}",
        trigger_rule="all_done",
        tables=TABLES,
    )

    BaiduOcrRunSummaryOperator(
        task_id="summarize",
        manifests=tables.output,
        batches=batches,
        rows_loaded=load.output,
        source="s3://{{ params.bucket }}/{{ params.prefix }}",  # named when nothing is listed
        warehouse_conn_id=WAREHOUSE_CONN_ID,  # the cost lines, from ocr_usage
    )


dag = baidu_ocr_tables_to_warehouse()
