"""
### baidu_ocr_idcards_to_warehouse: ID card scans in S3 -> Baidu `idcard` OCR -> `ocr_idcards`

1. **list_batches** lists the images under `params.prefix`, tells fronts from backs by file name
   (`params.front_pattern` / `params.back_pattern`, shell patterns on the base name; other files are skipped
   with a warning) and cuts each side into batches of `params.batch_size` keys.
2. **ocr_idcards** (mapped over the batches with `expand_kwargs`, pool `baidu_ocr`) calls the `idcard`
   endpoint with `id_card_side` set per batch, skipping content the warehouse already holds.
3. **normalize_and_load** writes one `ocr_idcards` row per card side with **PII handling**: the ID number is
   stored masked (`330106********1234`), as an HMAC-SHA256 for joins, with its GB 11643 checksum validity,
   and, only when the PII connection has an `encryption_key`, encrypted with AES-GCM. The clear number never
   reaches the warehouse, XCom or the logs.
4. **purge_staging** deletes the staged raw responses (names, addresses, sealed ID numbers) once the load has
   succeeded (a failed load keeps them for the rerun; the staging prefix's lifecycle rule expires them);
   **summarize** then logs the run summary and fails the run when a batch or the load failed.

Connections: `aws_default`, `baidu_ocr_default`, `warehouse_default` (see `baidu_ocr_s3_to_warehouse`) and
`baidu_ocr_pii` (password = HMAC key; extra `encryption_key` = base64 of 32 bytes, optional).
"""

from __future__ import annotations

import logging
from datetime import datetime

from airflow.sdk import Param, dag, task
from baidu_ocr.operators import (
    BaiduOcrBatchOperator,
    BaiduOcrRunSummaryOperator,
    BaiduOcrWarehouseLoadOperator,
)
from baidu_ocr.pipeline.dag_params import budget_params
from baidu_ocr.pipeline.step_errors import publish_error_on_failure

WAREHOUSE_CONN_ID = "warehouse_default"
PII_CONN_ID = "baidu_ocr_pii"
TABLES = ("ocr_documents", "ocr_idcards")
log = logging.getLogger("airflow.task")


@dag(
    dag_id="baidu_ocr_idcards_to_warehouse",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["baidu-ocr", "example", "pii"],
    render_template_as_native_obj=True,
    params={
        "bucket": Param("baidu-ocr-demo", type="string"),
        "prefix": Param("samples/idcards/", type="string"),
        "front_pattern": Param("*front*", type="string", description="base names of card fronts"),
        "back_pattern": Param("*back*", type="string", description="base names of card backs"),
        "options": Param({"detect_risk": "true"}, type="object", description="idcard endpoint options"),
        "batch_size": Param(100, type="integer", minimum=1),
        **budget_params(),
    },
)
def baidu_ocr_idcards_to_warehouse():
    @task(show_return_value_in_logs=False)  # the batches of keys: the log gets one line instead
    @publish_error_on_failure  # a listing that fails tells the summary why
    def list_batches(params: dict) -> list[dict]:
        from baidu_ocr.pipeline.s3_batches import plan_s3_idcard_batches, stage_batch_keys

        specs = plan_s3_idcard_batches(
            params["bucket"],
            params["prefix"],
            params["batch_size"],
            front_pattern=params["front_pattern"],
            back_pattern=params["back_pattern"],
            options=params["options"],
            max_failure_ratio=params["max_failure_ratio"],
        )
        # XCom names no key (a scan may be named after its ID number): each batch's keys go to the staging
        # prefix, the spec keeps their keys_uri.
        return stage_batch_keys(specs, params["bucket"])

    specs = list_batches()

    ocr = BaiduOcrBatchOperator.partial(
        task_id="ocr_idcards",
        pool="baidu_ocr",
        bucket="{{ params.bucket }}",
        endpoint="idcard",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        max_billable_calls="{{ params.max_billable_calls }}",
        map_index_template="{{ task.batch_label }}",  # "front · batch 1/2 · 3 images · a_front…c_front"
    ).expand_kwargs(specs)

    load = BaiduOcrWarehouseLoadOperator(
        task_id="normalize_and_load",
        manifests=ocr.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        pii_conn_id=PII_CONN_ID,
        staging_bucket="{{ params.bucket }}",
        trigger_rule="all_done",
        tables=TABLES,
    )

    @task(trigger_rule="all_done")
    def purge_staging(rows_loaded, params: dict, ti=None) -> int:
        """Delete the raw responses (sealed ID numbers, names, addresses) once, and only once, the masked tables are loaded."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.sdk.exceptions import AirflowSkipException
        from baidu_ocr.operators.load import UNOPENED_RECORDS_XCOM
        from baidu_ocr.pipeline.manifests import load_error
        from baidu_ocr.pipeline.staging import DEFAULT_STAGING_PREFIX, delete_run_staging

        failure = load_error(rows_loaded)
        if failure:
            raise AirflowSkipException(
                f"Not purging: the load failed ({failure}). The staged responses are what was paid for; "
                "they stay for a rerun and expire by the staging prefix's lifecycle rule."
            )
        if unopened := ti.xcom_pull(task_ids="normalize_and_load", key=UNOPENED_RECORDS_XCOM):
            raise AirflowSkipException(
                f"Not purging: {unopened} staged record(s) could not be opened with the PII connection "
                "(sealed_pii). Fix its password or retired_hmac_keys and clear normalize_and_load: it loads "
                "them from staging without paying again."
            )
        s3 = S3Hook(aws_conn_id="aws_default")
        deleted = delete_run_staging(s3, params["bucket"], DEFAULT_STAGING_PREFIX, ti.dag_id, ti.run_id)
        log.info("Deleted %d staged file(s) holding raw ID card responses", deleted)
        return deleted

    summary = BaiduOcrRunSummaryOperator(
        task_id="summarize",
        manifests=ocr.output,
        batches=specs,
        rows_loaded=load.output,
        source="s3://{{ params.bucket }}/{{ params.prefix }}",  # named when nothing is listed
        warehouse_conn_id=WAREHOUSE_CONN_ID,  # the cost lines, from ocr_usage
    )
    purge_staging(load.output) >> summary


dag = baidu_ocr_idcards_to_warehouse()
