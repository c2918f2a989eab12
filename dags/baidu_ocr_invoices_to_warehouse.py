"""
### baidu_ocr_invoices_to_warehouse: VAT invoices in S3 -> Baidu `vat_invoice` -> checked invoice tables

The finance team's invoices (增值税发票: phone photos, scans, PDF and OFD e-invoices / 数电票) become typed
warehouse rows a finance analyst can trust.

1. **list_batches** lists the images, PDFs and OFDs (`params.suffixes`) under `params.prefix` and cuts them
   into batches of about `params.batch_size` pages (a PDF or OFD is read page by page: `pdf_file_num` /
   `ofd_file_num`).
2. **ocr_invoices** (mapped, pool `baidu_ocr`) calls `vat_invoice` for new content only: a page the
   warehouse already holds for these options costs nothing (only pages not yet read are sent).
   With `params.verify_with_tax_authority` (off by default) it also asks the tax authority
   (`vat_invoice_verification`, one billable call per invoice, under `max_billable_calls`) about each
   invoice it read, and stages the verdict with the reading.
3. **normalize_and_load** writes one `ocr_invoices` row per invoice (exact decimals, a real date) and one
   `ocr_invoice_items` row per item line, and **checks every invoice**: the totals add up (before tax + tax =
   including tax), the items add up to both totals, each item's tax matches its rate to the cent, the amount
   in words (大写) says the amount in figures, both tax ids are valid unified social credit codes (or, for a
   private buyer, a valid ID number), the code and number have the layout's shape and the date is a real
   date, not in the future; with the authority asked, that it knows the invoice as read and has not voided
   it (`authority_status`). An invoice with a failed check is loaded `invalid` with the names of its failed
   checks (`checks_failed`) and queued in `ocr_review_queue`. An invoice already in the warehouse under
   another document (a photo and the PDF of the same invoice, sent by two people or in two months) is
   loaded with `duplicate_of` naming the earlier copy and queued with reason `duplicate_invoice`: in one run,
   across runs, and when two loads run at once.
   A private buyer's ID number is stored masked and as an HMAC (PII connection `baidu_ocr_pii`); company
   tax ids, which are public, stay in clear.
4. **review** (mapped over the invoices this run queued, when `params.review_in_ui`): a human-in-the-loop
   task per invoice shows its fields and failed checks in Airflow's UI (Browse -> Required Actions);
   **apply_reviews** writes the answers. Under `airflow dags test` the invoices are queued, no task opens.
5. **summarize** logs the run: invoices read, valid, invalid by check, duplicates and, per seller, the
   total including tax of the run's valid invoices (what can be booked), besides the usual calls and cost;
   it fails the run when a step failed.

A rerun over the same prefix makes no call and writes no row.
Connections: `aws_default`, `baidu_ocr_default`, `warehouse_default` (see `baidu_ocr_s3_to_warehouse`) and
`baidu_ocr_pii` (see `baidu_ocr_idcards_to_warehouse`).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task
from baidu_ocr.operators import (
    BaiduOcrBatchOperator,
    BaiduOcrInvoiceReviewOperator,
    BaiduOcrRunSummaryOperator,
    BaiduOcrWarehouseLoadOperator,
)
from baidu_ocr.pipeline.dag_params import budget_params, review_params
from baidu_ocr.pipeline.review_tasks import add_review_steps
from baidu_ocr.pipeline.step_errors import publish_error_on_failure

WAREHOUSE_CONN_ID = "warehouse_default"
PII_CONN_ID = "baidu_ocr_pii"
TABLES = ("ocr_documents", "ocr_invoices", "ocr_invoice_items", "ocr_review_queue")


@dag(
    dag_id="baidu_ocr_invoices_to_warehouse",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["baidu-ocr", "example", "invoices", "pii"],
    render_template_as_native_obj=True,
    params={
        "bucket": Param("baidu-ocr-demo", type="string"),
        "prefix": Param("samples/invoices/", type="string", description="key prefix of the invoices"),
        "suffixes": Param(
            [".jpg", ".jpeg", ".png", ".pdf", ".ofd"],
            type="array",
            description="key suffixes to read: photos and scans, PDF and OFD e-invoices (page by page)",
        ),
        "options": Param(
            {"type": "normal"},
            type="object",
            description='vat_invoice options: {"type": "normal"} (VAT and e-invoices) or {"type": "roll"} (卷票)',
        ),
        "batch_size": Param(50, type="integer", minimum=1, description="pages per mapped OCR task"),
        "verify_with_tax_authority": Param(
            False,
            type="boolean",
            description="ask vat_invoice_verification about each invoice read (a billable call per invoice)",
        ),
        **budget_params(),
        **review_params(what="invoice"),
    },
)
def baidu_ocr_invoices_to_warehouse():
    @task(show_return_value_in_logs=False)  # the batches of keys: the log gets one line instead
    @publish_error_on_failure  # a listing that fails tells the summary why
    def list_batches(params: dict) -> list[dict]:
        """One mapped task's arguments per batch of pages (per-run settings travel as data)."""
        from baidu_ocr.pipeline.s3_batches import batch_specs, plan_s3_page_batches, stage_batch_keys

        batches = plan_s3_page_batches(
            params["bucket"], params["prefix"], params["batch_size"], suffixes=params["suffixes"]
        )
        specs = batch_specs(batches, max_failure_ratio=params["max_failure_ratio"])
        return stage_batch_keys(specs, params["bucket"])  # XCom names no key: each batch's keys_uri

    batches = list_batches()

    ocr = BaiduOcrBatchOperator.partial(
        task_id="ocr_invoices",
        pool="baidu_ocr",
        bucket="{{ params.bucket }}",
        endpoint="vat_invoice",
        options="{{ params.options }}",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        max_billable_calls="{{ params.max_billable_calls }}",
        verify_invoices="{{ params.verify_with_tax_authority }}",
        map_index_template="{{ task.batch_label }}",
    ).expand_kwargs(batches)

    load = BaiduOcrWarehouseLoadOperator(
        task_id="normalize_and_load",
        manifests=ocr.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        pii_conn_id=PII_CONN_ID,
        staging_bucket="{{ params.bucket }}",
        trigger_rule="all_done",  # load what the successful batches staged even if one batch failed
        tables=TABLES,
    )

    add_review_steps(load, warehouse_conn_id=WAREHOUSE_CONN_ID, review_operator=BaiduOcrInvoiceReviewOperator)

    BaiduOcrRunSummaryOperator(
        task_id="summarize",
        manifests=ocr.output,
        batches=batches,
        rows_loaded=load.output,  # with ocr_invoices among them, the summary adds the invoice lines
        source="s3://{{ params.bucket }}/{{ params.prefix }}",  # named when nothing is listed
        warehouse_conn_id=WAREHOUSE_CONN_ID,
    )


dag = baidu_ocr_invoices_to_warehouse()
