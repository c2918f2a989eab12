"""The invoices DAG on the cluster: the same invoice loaded by two runs at once is one original and one
duplicate, whichever worker loads first (the identity registry in the warehouse decides, not the scheduler).

Used by ``tests/cluster`` after the cluster of :mod:`baidu_ocr_dev.cluster` is up.
"""

from __future__ import annotations

import time
from typing import Any

from baidu_ocr_dev.cluster import BUCKET, Cluster
from baidu_ocr_dev.invoice_truth import INVOICE_SAMPLES, invoice_answers, same_invoice_twice

INVOICES_DAG = "baidu_ocr_invoices_to_warehouse"


def run_concurrent_duplicates(cluster: Cluster, run_prefix: str = "invoices-at-once") -> dict[str, Any]:
    """Put the photo and the PDF of one invoice under two prefixes, trigger a run for each at the same time,
    wait for both, and read what the warehouse made of the invoice: its rows and its queue rows."""
    [(photo, _), (pdf, _)] = same_invoice_twice(invoice_answers())[0][:2]
    s3 = cluster.s3_client()
    for side, name in (("a", photo), ("b", pdf)):
        s3.upload_file(str(INVOICE_SAMPLES / name), BUCKET, f"{run_prefix}-{side}/{name}")
    deadline = time.monotonic() + 180
    while not cluster.query("SELECT 1 FROM serialized_dag WHERE dag_id = %s", (INVOICES_DAG,)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{INVOICES_DAG} was not parsed within 180 s")
        time.sleep(1)
    runs = {
        side: cluster.trigger(
            INVOICES_DAG,
            {"bucket": BUCKET, "prefix": f"{run_prefix}-{side}/", "review_in_ui": False},
            f"{run_prefix}-{side}",
        )
        for side in ("a", "b")
    }
    states = {side: cluster.wait(INVOICES_DAG, run_id) for side, run_id in runs.items()}
    uris = [f"s3://{BUCKET}/{run_prefix}-{side}/%" for side in ("a", "b")]
    rows = cluster.warehouse(
        "SELECT source_uri, duplicate_of FROM ocr_invoices WHERE source_uri LIKE %s OR source_uri LIKE %s",
        tuple(uris),
    )
    queued = cluster.warehouse(
        "SELECT source_uri, reason FROM ocr_review_queue WHERE source_uri LIKE %s OR source_uri LIKE %s",
        tuple(uris),
    )
    loads = {
        side: cluster.query(
            "SELECT start_date, end_date, hostname FROM task_instance WHERE dag_id = %s AND run_id = %s "
            "AND task_id = 'normalize_and_load'",
            (INVOICES_DAG, run_id),
        )[0]
        for side, run_id in runs.items()
    }
    return {
        "states": states,
        "invoices": {uri: duplicate_of for uri, duplicate_of in rows},
        "queued": {uri: reason for uri, reason in queued},
        "loads_overlapped": loads["a"][0] < loads["b"][1] and loads["b"][0] < loads["a"][1],
        "load_workers": sorted(load[2] for load in loads.values()),
    }
