"""
### baidu_ocr_tables_to_warehouse: table scans in S3 -> Baidu async table recognition -> `ocr_table_cells`

1. **list_batches** lists the images under `params.prefix` and cuts them into batches of `params.batch_size`.
2. **recognize_tables** (mapped, pool `baidu_ocr`, **deferrable**) reads and hashes each image, skips content
   the warehouse already holds, submits one `form_ocr/request` job per new image, then defers: the
   `BaiduOcrTableJobTrigger` polls `get_request_result` in the triggerer (every `params.poll_interval`
   seconds, for at most an hour) while no worker slot is held. When every job is done the task resumes,
   stages each job's JSON result and copies its Excel file to `s3://<bucket>/<params.excel_prefix>`.
3. **normalize_and_load** writes one `ocr_table_cells` row per cell (row/col spans, text) plus the documents.
4. **summarize** logs the run summary.

Run it with a triggerer (`airflow standalone` starts one); `airflow dags test` runs the trigger in-process.
Connections: `aws_default`, `baidu_ocr_default`, `warehouse_default` (see `baidu_ocr_s3_to_warehouse`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from airflow.sdk import Asset, Param, dag, task
from baidu_ocr.operators import (
    BaiduOcrRunSummaryOperator,
    BaiduOcrTableOperator,
    BaiduOcrWarehouseLoadOperator,
)

WAREHOUSE_CONN_ID = "warehouse_default"
TABLES = ("ocr_documents", "ocr_table_cells")
log = logging.getLogger("airflow.task")


def warehouse_asset(table: str) -> Asset:
    return Asset(name=table, uri=f"baidu-ocr-warehouse://{WAREHOUSE_CONN_ID}/{table}", group="baidu_ocr")


@dag(
    dag_id="baidu_ocr_tables_to_warehouse",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["baidu-ocr", "example", "deferrable"],
    render_template_as_native_obj=True,
    params={
        "bucket": Param("baidu-ocr-demo", type="string"),
        "prefix": Param("samples/tables/", type="string"),
        "excel_prefix": Param("ocr-output/tables/", type="string", description="where Excel results go"),
        "options": Param({}, type="object", description="form_ocr/request options"),
        "batch_size": Param(20, type="integer", minimum=1, description="table jobs per deferred task"),
        "deferrable": Param(
            True, type="boolean", description="wait in the triggerer (else poll in the worker)"
        ),
        "poll_interval": Param(2.0, type="number", minimum=0, description="seconds between status polls"),
        "max_failure_ratio": Param(0.2, type="number", minimum=0, maximum=1),
    },
)
def baidu_ocr_tables_to_warehouse():
    @task
    def list_batches(params: dict) -> list[list[str]]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from baidu_ocr.staging import list_image_objects, plan_batches

        objects = list_image_objects(S3Hook(aws_conn_id="aws_default"), params["bucket"], params["prefix"])
        batches = plan_batches(objects, int(params["batch_size"]))
        log.info("%d table image(s) -> %d batch(es)", len(objects), len(batches))
        return batches

    batches = list_batches()

    tables = BaiduOcrTableOperator.partial(
        task_id="recognize_tables",
        pool="baidu_ocr",
        bucket="{{ params.bucket }}",
        options="{{ params.options }}",
        excel_prefix="{{ params.excel_prefix }}",
        poll_interval="{{ params.poll_interval }}",
        max_failure_ratio="{{ params.max_failure_ratio }}",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        deferrable="{{ params.deferrable }}",
        timeout=3600,
    ).expand(keys=batches)

    load = BaiduOcrWarehouseLoadOperator(
        task_id="normalize_and_load",
        manifests=tables.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        trigger_rule="all_done",
        outlets=[warehouse_asset(t) for t in TABLES],
    )

    BaiduOcrRunSummaryOperator(
        task_id="summarize", manifests=tables.output, batches=batches, rows_loaded=load.output
    )


dag = baidu_ocr_tables_to_warehouse()
