"""One triggerer process holding 500 deferred table jobs: CPU seconds, peak RSS, time to the last event.

Starts the local OCR server (fixture engine, ``--latency-ms`` on every call, table jobs that take
``--job-seconds``), submits N table jobs with the sync hook, then runs N ``BaiduOcrTableJobTrigger``
instances (one job each, as N deferred task instances would be) in ONE event loop in a child process, as
the triggerer does, and measures that process: CPU seconds (user + system), peak RSS, wall time until the
last trigger fired, and the events. ``--mode threads`` runs the previous design for comparison: each poll
through the sync hook in ``asyncio.to_thread``.

    python bench/bench_triggerer.py                 # 500 triggers, async polling
    python bench/bench_triggerer.py --mode threads  # the same through threads

Prints a table and writes JSON under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RESULTS = REPO / "bench" / "results"
TABLE = REPO / "include" / "samples" / "tables" / "table_01.png"


def _usage() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": ru.ru_utime + ru.ru_stime, "max_rss_mb": ru.ru_maxrss / 1024}


def child(args: argparse.Namespace) -> None:
    """The 'triggerer': N triggers in one loop. Prints one JSON line."""
    from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger

    request_ids = json.loads(Path(args.jobs_file).read_text())
    if args.mode == "threads":
        from baidu_ocr.client.table_jobs import check_table_jobs
        from baidu_ocr.hooks.ocr import BaiduOcrHook

        class SyncThreadClient:
            """The previous design: the sync hook, one thread per poll."""

            def __init__(self, conn_id: str) -> None:
                self.hook = BaiduOcrHook(conn_id)

            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return None

            async def get_table_job_result(self, request_id, *, result_type="json"):
                progress = await asyncio.to_thread(check_table_jobs, self.hook, [request_id])
                if progress.done:
                    return {"ret_code": 3}
                return {"ret_code": 2}

        BaiduOcrTableJobTrigger._client = lambda self: SyncThreadClient(self.baidu_ocr_conn_id)

    at_start = _usage()

    async def run_all():
        deadline = time.time() + args.timeout
        triggers = [
            BaiduOcrTableJobTrigger(
                jobs=[{"request_id": rid}], poll_interval=args.poll_interval, deadline=deadline
            )
            for rid in request_ids
        ]

        async def first_event(trigger):
            async for event in trigger.run():
                return event.payload["status"]

        return await asyncio.gather(*(first_event(t) for t in triggers))

    started = time.monotonic()
    statuses = asyncio.run(run_all())
    wall = time.monotonic() - started
    end = _usage()
    print(
        json.dumps(
            {
                "wall_s": round(wall, 2),
                "cpu_s": round(end["cpu_s"] - at_start["cpu_s"], 2),
                "max_rss_mb": round(end["max_rss_mb"], 1),
                "rss_before_triggers_mb": round(at_start["max_rss_mb"], 1),
                "events": {s: statuses.count(s) for s in set(statuses)},
            }
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=500)
    parser.add_argument("--mode", choices=("async", "threads"), default="async")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--job-seconds", type=float, default=20.0)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--qps", type=float, default=100.0, help="the connection's QPS (server: no limit)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--jobs-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    from baidu_ocr_dev.local_services import start_ocr_server

    workdir = REPO / ".bench" / "triggerer"
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        url = start_ocr_server(
            stack,
            workdir,
            "bench-key",
            "bench-secret",
            *("--latency-ms", f"{args.latency_ms:g}", "--table-job-seconds", f"{args.job_seconds:g}"),
            *("--max-connections", "1024"),
            engine="fixture",
        )
        conn = {
            "conn_type": "baidu_ocr",
            "login": "bench-key",
            "password": "bench-secret",
            "host": url,
            "extra": {"qps": args.qps, "timeout": 30},
        }
        os.environ["AIRFLOW_CONN_BAIDU_OCR_DEFAULT"] = json.dumps(conn)
        from concurrent.futures import ThreadPoolExecutor

        from baidu_ocr.hooks.ocr import BaiduOcrHook

        hook = BaiduOcrHook(concurrency=32)
        image = TABLE.read_bytes()
        t0 = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            request_ids = list(pool.map(lambda _: hook.submit_table_job(image), range(args.triggers)))
        submit_s = time.monotonic() - t0
        jobs_file = workdir / "jobs.json"
        jobs_file.write_text(json.dumps(request_ids))
        cmd = [sys.executable, __file__, "--child", "--jobs-file", str(jobs_file)]
        cmd += [
            "--mode",
            args.mode,
            "--poll-interval",
            str(args.poll_interval),
            "--timeout",
            str(args.timeout),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=False)
        if result.returncode != 0:
            print(result.stderr[-3000:], file=sys.stderr)
            return 1
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        stats = json.loads(
            __import__("urllib.request").request.urlopen(f"{url}/_admin/stats", timeout=10).read()
        )
    report = {
        "mode": args.mode,
        "triggers": args.triggers,
        "latency_ms": args.latency_ms,
        "job_seconds": args.job_seconds,
        "poll_interval_s": args.poll_interval,
        "connection_qps": args.qps,
        "submit_s": round(submit_s, 1),
        **measured,
        "polls": stats["endpoints"].get("form_ocr/get_request_result", {}).get("calls"),
        "server_max_in_flight": stats["max_in_flight"],
        "tokens_issued": stats["tokens_issued"],
    }
    print(f"\nOne triggerer process, {args.triggers} deferred table jobs ({args.mode} polling)")
    for key, value in report.items():
        print(f"  {key:<24}{value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"triggerer-{args.mode}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"  -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
