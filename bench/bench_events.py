"""Event-driven ingestion on the local Celery cluster: latency on an idle deployment, and a burst.

Starts the cluster of ``make cluster-demo`` with S3 events wired (``ClusterConfig(events=True)``: the moto
server's bucket notifies an SQS queue that ``baidu_ocr_s3_events_to_warehouse`` watches; the DAG's default
15-minute catch-up), then:

1. **latency**: ``--uploads`` small scans uploaded one at a time, each once the previous one is loaded and
   the deployment is idle again: seconds from the upload's end to the end of the load that wrote its rows;
2. **burst**: ``--burst`` uploads at once (8 threads): the runs they became, the OCR server's billable
   calls and errors 18, and the wall time from the first upload to the last row loaded.

    python bench/bench_events.py                       # 20 sequential uploads, a burst of 1,000
    python bench/bench_events.py --uploads 0 --burst 200

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379. Prints a table and writes JSON under
``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from baidu_ocr_dev.cluster import ClusterConfig, running_cluster, signals_raise
from baidu_ocr_dev.events import (
    last_run_id,
    latencies,
    loaded,
    percentiles,
    server_delta,
    upload,
    wait_settled,
    wait_until,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def idle_latency(cluster, n: int) -> dict:
    """One upload at a time on an idle deployment."""
    values: list[float] = []
    for i in range(n):
        first = last_run_id(cluster)
        uploads = upload(cluster, 1, seed=500_000 + i)
        wait_until(cluster, lambda u=uploads: len(loaded(cluster, u.uris)) == 1, "the upload's rows", 300)
        wait_settled(cluster, first, 300)
        values.extend(latencies(cluster, uploads))
        print(f"  upload {i + 1}/{n}: {values[-1]:.1f} s", flush=True)
    return {"uploads": n, "latency_s": percentiles(values), "values": [round(v, 2) for v in values]}


def burst(cluster, n: int) -> dict:
    before, first = cluster.server("stats"), last_run_id(cluster)
    started = time.time()
    uploads = upload(cluster, n, seed=600_000, threads=8)
    uploaded = time.time()
    wait_until(cluster, lambda: len(loaded(cluster, uploads.uris)) == n, "the burst's rows", 3600, poll_s=2)
    done = time.time()
    runs = wait_settled(cluster, first, 600)
    rows = loaded(cluster, uploads.uris)
    return {
        "uploads": n,
        "upload_s": round(uploaded - started, 1),
        "wall_s": round(done - started, 1),
        "runs": sum(r["run_type"] == "asset_triggered" for r in runs),
        "run_states": sorted({r["state"] for r in runs}),
        "rows": len(rows),
        "rows_per_document": sorted(set(rows.values())),
        "server": server_delta(before, cluster.server("stats")),
        "latency_s": percentiles(latencies(cluster, uploads)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20, help="sequential uploads for the idle latency")
    parser.add_argument("--burst", type=int, default=1000, help="uploads at once")
    parser.add_argument("--qps", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench" / "events")
    args = parser.parse_args(argv)
    config = ClusterConfig(
        workdir=args.workdir,
        workers=args.workers,
        qps=args.qps,
        metadata_db="baidu_ocr_events_bench",
        warehouse_db="baidu_ocr_events_bench_wh",
        broker_db=11,
        limiter_db=12,
        events=True,
    )
    results: dict = {"config": {k: str(v) for k, v in vars(args).items()}}
    try:
        with signals_raise(), running_cluster(config) as cluster:
            if args.uploads:
                print(f"Idle latency: {args.uploads} uploads, one at a time", flush=True)
                results["latency"] = idle_latency(cluster, args.uploads)
            if args.burst:
                print(f"Burst: {args.burst} uploads at once", flush=True)
                results["burst"] = burst(cluster, args.burst)
    finally:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"events-{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.write_text(json.dumps(results, indent=2, default=str))
        print(f"Results: {out}")
    if "latency" in results:
        lat = results["latency"]["latency_s"]
        print(
            f"\n{'idle latency, upload end -> rows':<40}p50 {lat.get('p50')} s   p95 {lat.get('p95')} s   (n={lat['n']})"
        )
    if "burst" in results:
        b = results["burst"]
        print(
            f"{'burst of ' + str(b['uploads']):<40}{b['runs']} runs, {b['server']['billable']} billable calls, "
            f"errors {b['server']['errors'] or 'none'}, {b['rows']} documents loaded "
            f"(rows each {b['rows_per_document']}), wall {b['wall_s']} s (uploads took {b['upload_s']} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
