"""Event-driven ingestion on a running cluster: upload, wait for the runs the uploads cause, measure.

Shared by ``tests/cluster/test_s3_events.py`` and ``bench/bench_events.py``. A cluster started with
``ClusterConfig(events=True)`` has its bucket ``EVENTS_BUCKET`` notify an SQS queue that
``baidu_ocr_s3_events_to_warehouse`` watches; everything here goes through S3, SQS and the metadata and
warehouse databases, never through Airflow's CLI (an upload is the only thing that starts a run).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from baidu_ocr_dev.cluster import EVENTS_BUCKET, EVENTS_DAG, MOTO_CREDENTIALS, Cluster, _admin, distinct_png
from baidu_ocr_dev.local_services import EVENTS_PREFIX

ACTIVE = ("queued", "running")


@dataclass
class Uploads:
    """What was uploaded: key -> the time its upload ended (epoch seconds)."""

    ended: dict[str, float]

    @property
    def uris(self) -> list[str]:
        return [f"s3://{EVENTS_BUCKET}/{key}" for key in self.ended]


def upload(
    cluster: Cluster,
    n: int,
    *,
    seed: int,
    prefix: str = EVENTS_PREFIX,
    spacing_s: float = 0.0,
    threads: int = 8,
    body: bytes | None = None,
) -> Uploads:
    """``n`` distinct small PNGs (``distinct_png(seed + i)``, or the same ``body``) under ``prefix``;
    ``spacing_s`` between uploads (one after another), else ``threads`` at a time (a burst)."""
    s3 = cluster.s3_client()
    ended: dict[str, float] = {}

    def put(i: int) -> None:
        key = f"{prefix}seed-{seed}/img-{i:05d}.png"
        s3.put_object(
            Bucket=EVENTS_BUCKET, Key=key, Body=body if body is not None else distinct_png(seed + i)
        )
        ended[key] = time.time()

    if spacing_s:
        for i in range(n):
            put(i)
            time.sleep(spacing_s)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, range(n)))
    return Uploads(ended)


def send_copies(cluster: Cluster, keys: Iterable[str]) -> int:
    """Send the notification S3 sent for ``keys`` again (SQS delivers at least once): same body shape."""
    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=cluster.s3_url,
        region_name=MOTO_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    s3 = cluster.s3_client()
    sent = 0
    for key in keys:
        head = s3.head_object(Bucket=EVENTS_BUCKET, Key=key)
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "bucket": {"name": EVENTS_BUCKET, "arn": f"arn:aws:s3:::{EVENTS_BUCKET}"},
                "object": {
                    "key": quote_plus(key),
                    "size": head["ContentLength"],
                    "eTag": head["ETag"].strip('"'),
                },
            },
        }
        sqs.send_message(QueueUrl=cluster.events_queue_url, MessageBody=json.dumps({"Records": [record]}))
        sent += 1
    return sent


def last_run_id(cluster: Cluster) -> int:
    """The metadata ``dag_run.id`` of the DAG's latest run (0: none yet): runs after it are "new"."""
    [(latest,)] = cluster.query("SELECT COALESCE(MAX(id), 0) FROM dag_run WHERE dag_id = %s", (EVENTS_DAG,))
    return int(latest)


def runs_since(cluster: Cluster, after_id: int) -> list[dict[str, Any]]:
    rows = cluster.query(
        "SELECT id, run_id, run_type, state FROM dag_run WHERE dag_id = %s AND id > %s ORDER BY id",
        (EVENTS_DAG, after_id),
    )
    return [{"id": i, "run_id": r, "run_type": t, "state": s} for i, r, t, s in rows]


def loaded(cluster: Cluster, uris: Iterable[str]) -> dict[str, int]:
    """Rows in ``ocr_documents`` per source URI (of those asked about)."""
    return dict(
        _warehouse_or_empty(
            cluster,
            "SELECT source_uri, count(*) FROM ocr_documents WHERE source_uri = ANY(%s) GROUP BY source_uri",
            (list(uris),),
        )
    )


def _warehouse_or_empty(cluster: Cluster, sql: str, params: tuple) -> list[tuple]:
    """``sql``'s rows, none before the first load created the tables."""
    import psycopg2

    try:
        return cluster.warehouse(sql, params)
    except psycopg2.errors.UndefinedTable:
        return []


def wait_until(cluster: Cluster, ready, what: str, timeout_s: float, poll_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        cluster.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"timed out after {timeout_s:.0f}s waiting for {what} (logs in {cluster.logs})"
            )
        time.sleep(poll_s)


def queue_depth(cluster: Cluster) -> int:
    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=cluster.s3_url,
        region_name=MOTO_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    attributes = sqs.get_queue_attributes(
        QueueUrl=cluster.events_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def settled(cluster: Cluster, after_id: int, *, min_runs: int = 1) -> bool:
    """At least ``min_runs`` new runs, none of them unfinished, no message left in the queue and no asset
    event waiting for a run: everything the uploads caused is done."""
    runs = runs_since(cluster, after_id)
    if len(runs) < min_runs or any(r["state"] in ACTIVE for r in runs) or queue_depth(cluster):
        return False
    [(waiting,)] = cluster.query(
        "SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = %s", (EVENTS_DAG,)
    )
    return not waiting


def wait_settled(
    cluster: Cluster, after_id: int, timeout_s: float, *, min_runs: int = 1, quiet_s: float = 5.0
) -> list[dict]:
    """Wait until :func:`settled` holds twice ``quiet_s`` apart with no new run in between (a message the
    trigger took off the queue may not be an asset event yet), then return the new runs."""
    deadline = time.monotonic() + timeout_s
    while True:
        wait_until(
            cluster, lambda: settled(cluster, after_id, min_runs=min_runs), "the event runs", timeout_s
        )
        runs = runs_since(cluster, after_id)
        time.sleep(quiet_s)
        if settled(cluster, after_id, min_runs=min_runs) and runs_since(cluster, after_id) == runs:
            return runs
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the event runs did not settle within {timeout_s:.0f}s (logs in {cluster.logs})"
            )


def latencies(cluster: Cluster, uploads: Uploads) -> list[float]:
    """Per uploaded object: seconds from its upload's end to the end of the load that wrote its rows (the
    rows are committed when that task ends)."""
    rows = _warehouse_or_empty(
        cluster, "SELECT source_uri, run_id FROM ocr_documents WHERE source_uri = ANY(%s)", (uploads.uris,)
    )
    run_of = dict(rows)
    ends = dict(
        cluster.query(
            "SELECT run_id, EXTRACT(EPOCH FROM end_date) FROM task_instance "
            "WHERE dag_id = %s AND task_id = 'normalize_and_load' AND end_date IS NOT NULL",
            (EVENTS_DAG,),
        )
    )
    out = []
    for key, ended in uploads.ended.items():
        run_id = run_of.get(f"s3://{EVENTS_BUCKET}/{key}")
        if run_id in ends:
            out.append(float(ends[run_id]) - ended)
    return out


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p95": round(p95, 2),
        "max": round(ordered[-1], 2),
    }


@contextmanager
def warehouse_offline(cluster: Cluster):
    """The warehouse database renamed away (its connections cut first), then back: every connection to it
    fails meanwhile, as with a warehouse that is down."""
    c = cluster.config
    away = f"{c.warehouse_db}_offline"
    _rename_database(c.postgres, c.warehouse_db, away)
    try:
        yield
    finally:
        _rename_database(c.postgres, away, c.warehouse_db)


def _rename_database(postgres: str, name: str, new_name: str, attempts: int = 20) -> None:
    """Rename a database, cutting its sessions first (a task may connect again in between: retried)."""
    import psycopg2

    for attempt in range(attempts):
        _admin(postgres, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            _admin(postgres, f'ALTER DATABASE "{name}" RENAME TO "{new_name}"')
            return
        except psycopg2.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def server_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What the OCR server counted between two ``/_admin/stats`` snapshots."""
    errors = {code: n - before["errors"].get(code, 0) for code, n in after["errors"].items()}
    images = {d: n - before["images"].get(d, 0) for d, n in after["images"].items()}
    return {
        "billable": after["billable"] - before["billable"],
        "errors": {code: n for code, n in errors.items() if n},
        "max_calls_per_content": max((n for n in images.values()), default=0),
    }
