"""
### baidu_ocr_s3_events_to_warehouse: a document uploaded to S3 is in the warehouse seconds later, once

S3 sends an `s3:ObjectCreated:*` notification per created object to an SQS queue; an `AssetWatcher` with the
common-messaging `MessageQueueTrigger` (scheme `sqs`, the Amazon provider's SQS trigger, run by the
triggerer) turns what it receives into events of the asset `baidu_ocr_s3_object_created`, and the scheduler
starts a run of this DAG per batch of events. **Set the Airflow Variable `baidu_ocr_events_queue_url`**
(or the environment variable `AIRFLOW_VAR_BAIDU_OCR_EVENTS_QUEUE_URL`) to the queue's URL; without it the
DAG runs only its timed catch-up. The README says how to wire a bucket and a queue.

1. **collect_objects** reads the S3 keys from the run's triggering events and from the asset's events newer
   than the DAG's watermark (events that reached Airflow while a run was being created are consumed by no
   run until another event comes: Airflow queues one run per asset at a time), (the messages' `Records`, keys
   URL-decoded; the test event, other event types, other buckets, keys outside `params.prefix` or
   `params.suffixes` are left out and counted), records them in the DAG's **inbox**
   (`s3://<bucket>/baidu-ocr-inbox/<dag_id>/<run_id>.json`), adds what runs that failed left in the inbox,
   and cuts them into batches exactly as **baidu_ocr_s3_to_warehouse** does (key lists staged in S3: XCom
   names no key).
2. **ocr_batch**, **normalize_and_load**, **review**, **summarize**: the same operators as
   **baidu_ocr_s3_to_warehouse**. Content the warehouse already holds is not OCRed again (content hash), so
   a duplicate notification or a re-upload of the same bytes costs an S3 GET, not a call.
3. **clear_inbox** deletes the inbox entries the run loaded, once every batch succeeded and the load went
   through.

**Exactly once in effect, at least once in delivery.** The trigger deletes the messages as it receives them
(SQS cannot hold them until a run ends), so the inbox holds them instead: a run that fails (warehouse down,
`max_billable_calls` reached, a lost worker) leaves its entry, and the next run, at the latest the catch-up
run every `baidu_ocr_events_catchup_cron` (Variable; default every 15 minutes), OCRs what is missing and
loads it, without another upload. Nothing is paid twice: with the warehouse down, the OCR task fails at its
dedupe query before any billable call; what a failed run paid for is in the warehouse (the content-hash
dedupe skips it) or in its staging (the run that takes its entry on skips it and loads those records).
`max_active_runs=1`: two runs never OCR the same new content at once, and events that arrive during a run
are taken by the next one (a burst of 1,000 uploads is a few runs).
Open reviews hold the next run, so `params.review_in_ui` is off by default here (gated documents are
loaded as `needs_review` and queued in `ocr_review_queue`; review them from **baidu_ocr_s3_to_warehouse**
or turn it on with a short `review_timeout_minutes`).

**Latency and SQS cost.** The trigger receives up to 10 messages at a time (`max_messages`, SQS's limit)
three times in a row (`num_batches=3`), each a short long poll (`wait_time_seconds=2`: it returns as soon as
a message is there), and polls again one second after an empty round (`waiter_delay=1`). An idle queue
costs about 3 requests every 7 s (about 1.1 million a month, around SQS's free million); an upload is
picked up within 0-5 s of its notification. One event then carries up to 30 messages: after each event the
triggerer restarts the trigger (about 2 s), so one receive per event would drain a burst at 5 messages a
second, slower than the OCR. Longer polls cost less and wait longer (`wait_time_seconds=20`, `num_batches=1`:
about 130,000 requests a month, but a burst drains at 5 a second); the provider's defaults
(`waiter_delay=60`) leave an upload waiting up to a minute.

Connections: `aws_default` (S3 and SQS; `endpoint_url` in extra for moto), `baidu_ocr_default`,
`warehouse_default`. Pool: `baidu_ocr`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    AssetWatcher,
    CronTriggerTimetable,
    Param,
    Variable,
    dag,
    task,
)
from baidu_ocr.inputs.sources import INPUT_SUFFIXES
from baidu_ocr.operators import (
    BaiduOcrBatchOperator,
    BaiduOcrRunSummaryOperator,
    BaiduOcrWarehouseLoadOperator,
)
from baidu_ocr.pipeline.dag_params import budget_params, confidence_gate_param
from baidu_ocr.pipeline.review_tasks import add_review_steps
from baidu_ocr.pipeline.step_errors import publish_error_on_failure

DAG_ID = "baidu_ocr_s3_events_to_warehouse"
WAREHOUSE_CONN_ID = "warehouse_default"
AWS_CONN_ID = "aws_default"
TABLES = ("ocr_documents", "ocr_lines", "ocr_chars", "ocr_fields", "ocr_review_queue")
QUEUE_URL_VARIABLE = "baidu_ocr_events_queue_url"
CATCHUP_CRON_VARIABLE = "baidu_ocr_events_catchup_cron"
DEFAULT_CATCHUP_CRON = "*/15 * * * *"
INBOX_XCOM = "inbox_entries"  # the inbox entries (keys named after run ids) the run takes on
ADOPTED_STAGING_XCOM = "adopted_staging"  # the staging folders of the runs whose entries it took on
ADOPTED_STAGING = f"{{{{ ti.xcom_pull(task_ids='collect_objects', key='{ADOPTED_STAGING_XCOM}') }}}}"
# The SQS trigger's polling (see the doc above): 3 receives of up to 10 messages, each a 2 s long poll, per
# event; 1 s between empty rounds.
POLL = {"wait_time_seconds": 2, "waiter_delay": 1, "max_messages": 10, "num_batches": 3}
log = logging.getLogger(__name__)


def events_asset() -> Asset:
    """The asset S3's notifications update: watched on the queue when ``baidu_ocr_events_queue_url`` is set."""
    queue_url = Variable.get(QUEUE_URL_VARIABLE, default=None)
    watchers = []
    if queue_url:
        # The `events` extra (common-messaging; the Amazon provider's SQS trigger with aiobotocore).
        from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

        trigger = MessageQueueTrigger(scheme="sqs", sqs_queue=queue_url, aws_conn_id=AWS_CONN_ID, **POLL)
        watchers.append(AssetWatcher(name="baidu_ocr_s3_object_created_sqs", trigger=trigger))
    else:
        log.warning(
            "%s: no SQS queue to watch; set the Airflow Variable %s (or AIRFLOW_VAR_%s) to the URL of the queue "
            "that receives the bucket's s3:ObjectCreated:* notifications. Until then only the catch-up runs.",
            DAG_ID,
            QUEUE_URL_VARIABLE,
            QUEUE_URL_VARIABLE.upper(),
        )
    return Asset(name="baidu_ocr_s3_object_created", watchers=watchers)


EVENTS_ASSET = events_asset()


@dag(
    dag_id=DAG_ID,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(
            Variable.get(CATCHUP_CRON_VARIABLE, default=DEFAULT_CATCHUP_CRON), timezone="UTC"
        ),
        assets=EVENTS_ASSET,
    ),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,  # one run at a time: no two runs OCR the same new content; bursts become few runs
    doc_md=__doc__,
    tags=["baidu-ocr", "example", "events"],
    render_template_as_native_obj=True,
    params={
        "bucket": Param("baidu-ocr-demo", type="string", description="the bucket whose notifications count"),
        "prefix": Param("incoming/", type="string", description="only keys under this prefix are OCRed"),
        "suffixes": Param(list(INPUT_SUFFIXES), type="array", description="key suffixes to OCR"),
        "endpoint": Param("general_basic", type="string", description="Baidu OCR endpoint"),
        "options": Param({"probability": "true"}, type="object", description="endpoint options"),
        "batch_size": Param(100, type="integer", minimum=1, description="pages per mapped OCR task"),
        **budget_params("billable calls one run may spend", "the rest waits in the inbox"),
        **confidence_gate_param(),
        "review_in_ui": Param(
            False, type="boolean", description="open review tasks (an open review holds the next run)"
        ),
        "review_timeout_minutes": Param(60, type="number", exclusiveMinimum=0),
    },
)
def baidu_ocr_s3_events_to_warehouse():
    @task(show_return_value_in_logs=False, inlets=[EVENTS_ASSET])
    @publish_error_on_failure  # the summary says why the run failed
    def collect_objects(
        params: dict, triggering_asset_events=None, inlet_events=None, ti=None, dag_run=None
    ) -> list[dict]:
        """The batches of this run's new objects and of what failed runs left in the inbox."""

        from baidu_ocr.pipeline.event_inbox import (
            DEFAULT_INBOX_PREFIX,
            MAX_EVENTS_PER_RUN,
            adopt_leftovers,
            entry_key,
            list_entries,
            merge_objects,
            next_watermark,
            read_watermark,
            record_objects,
            watermark_key,
            write_watermark,
        )
        from baidu_ocr.pipeline.s3_batches import s3_hook, stage_batch_keys
        from baidu_ocr.pipeline.s3_events import messages_of_asset_events, select_created_objects
        from baidu_ocr.pipeline.staging import DEFAULT_STAGING_PREFIX, run_folder, s3_uri

        bucket = params["bucket"]
        s3 = s3_hook(AWS_CONN_ID)
        mark = watermark_key(DEFAULT_INBOX_PREFIX, ti.dag_id)
        floor = read_watermark(s3, bucket, mark) or dag_run.run_after
        # This run's events, and the asset's events since the watermark (those no run was queued for).
        recent = list(inlet_events[EVENTS_ASSET].after(floor.isoformat()).limit(MAX_EVENTS_PER_RUN))
        triggering = [e for asset_events in (triggering_asset_events or {}).values() for e in asset_events]
        selection = select_created_objects(
            messages_of_asset_events([*triggering, *recent]), bucket, params["prefix"], params["suffixes"]
        )
        log.info(
            "%d triggering and %d recent asset event(s): %s",
            len(triggering),
            len(recent),
            selection.describe() or "no message",
        )
        own = entry_key(DEFAULT_INBOX_PREFIX, ti.dag_id, ti.run_id)
        # Recorded first of all: from here on a failure loses nothing (a retry adds to what it recorded).
        objects = record_objects(s3, bucket, own, ti.run_id, selection.objects)
        inbox = [own] if objects else []
        complete = len(recent) < MAX_EVENTS_PER_RUN
        write_watermark(
            s3, bucket, mark, next_watermark(floor, [e.timestamp for e in recent], complete=complete)
        )
        adoption = adopt_leftovers(
            s3, bucket, list_entries(s3, bucket, DEFAULT_INBOX_PREFIX, ti.dag_id), own, _run_state(ti.dag_id)
        )
        if adoption.entries:
            log.info(
                "Taking on %d inbox entr(ies) of earlier runs: %s", len(adoption.entries), adoption.entries
            )
            # Ours now too: should this run fail as well, the next one reads what it staged (and theirs).
            objects = record_objects(s3, bucket, own, ti.run_id, merge_objects(adoption.objects, objects))
            inbox = [own, *adoption.entries]
        ti.xcom_push(key=INBOX_XCOM, value=inbox)
        # What those runs staged before they failed is loaded with this run's results, not paid for again.
        ti.xcom_push(
            key=ADOPTED_STAGING_XCOM,
            value=[
                s3_uri(bucket, run_folder(DEFAULT_STAGING_PREFIX, ti.dag_id, r)) for r in adoption.run_ids
            ],
        )
        return stage_batch_keys(_batch_specs(s3, objects, params), bucket)

    batches = collect_objects()

    ocr = BaiduOcrBatchOperator.partial(
        task_id="ocr_batch",
        pool="baidu_ocr",
        bucket="{{ params.bucket }}",
        endpoint="{{ params.endpoint }}",
        options="{{ params.options }}",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        max_billable_calls="{{ params.max_billable_calls }}",
        adopted_staging=ADOPTED_STAGING,
        map_index_template="{{ task.batch_label }}",
    ).expand_kwargs(batches)

    load = BaiduOcrWarehouseLoadOperator(
        task_id="normalize_and_load",
        manifests=ocr.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        staging_bucket="{{ params.bucket }}",
        trigger_rule="all_done",  # load what the successful batches staged even if one batch failed
        tables=TABLES,
        min_confidence="{{ params.min_confidence }}",
        adopted_staging=ADOPTED_STAGING,
    )

    @task
    def clear_inbox(rows_loaded, manifests, params: dict, ti=None) -> int:
        """Delete the inbox entries this run loaded (upstream all succeeded: every batch and the load).

        ``manifests`` comes in as the mapped OCR task's output, a sequence however many batches ran; a
        ``ti.xcom_pull`` of a mapped task returns one bare manifest when only one batch ran."""
        from airflow.sdk.exceptions import AirflowSkipException
        from baidu_ocr.operators.load import UNOPENED_RECORDS_XCOM
        from baidu_ocr.pipeline.event_inbox import delete_entries, unfinished_documents
        from baidu_ocr.pipeline.s3_batches import s3_hook
        from baidu_ocr.pipeline.step_errors import load_error

        if failure := load_error(rows_loaded):
            raise AirflowSkipException(f"Inbox kept: the load failed ({failure}); the next run retries it")
        if ti.xcom_pull(task_ids="normalize_and_load", key=UNOPENED_RECORDS_XCOM):
            raise AirflowSkipException("Inbox kept: staged records could not be opened (sealed_pii)")
        if unfinished := unfinished_documents(manifests):
            raise AirflowSkipException(
                f"Inbox kept: {unfinished} failed or unsent; the next run retries them"
            )
        entries = ti.xcom_pull(task_ids="collect_objects", key=INBOX_XCOM) or []
        return delete_entries(s3_hook(AWS_CONN_ID), params["bucket"], entries)

    clear_inbox(load.output, ocr.output)

    add_review_steps(load, warehouse_conn_id=WAREHOUSE_CONN_ID)

    BaiduOcrRunSummaryOperator(
        task_id="summarize",
        manifests=ocr.output,
        batches=batches,
        rows_loaded=load.output,
        source="s3://{{ params.bucket }}/{{ params.prefix }} (events)",
        warehouse_conn_id=WAREHOUSE_CONN_ID,
    )


def _run_state(dag_id: str):
    """The state of one of this DAG's runs (``None``: no such run any more), through the task SDK."""

    def state(run_id: str) -> str | None:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        try:
            found = RuntimeTaskInstance.get_dagrun_state(dag_id, run_id)
        except Exception:  # a run deleted from the metadata database: its entry is a leftover
            return None
        return str(getattr(found, "value", found))  # an enum: its str() is "DagRunState.FAILED"

    return state


def _batch_specs(s3, objects, params: dict) -> list[dict]:
    """Batches weighed in pages (a PDF is read once to count its pages), as the listing DAG cuts them."""
    from baidu_ocr.inputs.sources import count_document_pages, is_document_key
    from baidu_ocr.pipeline.planning import plan_page_batches
    from baidu_ocr.pipeline.s3_batches import batch_specs

    pages = count_document_pages(s3, params["bucket"], [o.key for o in objects if is_document_key(o.key)])
    batches = plan_page_batches(objects, pages, params["batch_size"])
    return batch_specs(batches, max_failure_ratio=params["max_failure_ratio"])


dag = baidu_ocr_s3_events_to_warehouse()
