"""Peak memory of one OCR batch task over many ~2 MB images: it must not grow with the batch size.

    .venv/bin/python bench/bench_batch_memory.py [--images 500] [--sizes 50,200,500]

Starts a moto S3 server and the local OCR server (fixture engine) in this process, uploads ``--images``
distinct ~2 MB PNGs, then runs ``BaiduOcrBatchOperator.execute`` in a fresh process per batch size and
reads that process's peak RSS (its ``VmHWM``). Prints a table, writes
bench/results/batch_memory.json. Goal (issue 10): under 400 MB whatever the batch size. ``--qps`` is the
connection's QPS (10 by default; the hook's default concurrency follows it). BENCH_TRACE=1 prints the task's
RSS over time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "batch_memory.json"
BUCKET = "bench-memory"

TASK = """
import json, sys, time
from types import SimpleNamespace
from baidu_ocr.operators import BaiduOcrBatchOperator

keys = json.loads(sys.argv[1])
ti = SimpleNamespace(dag_id="bench", run_id=sys.argv[2], task_id="ocr_batch", map_index=0, try_number=1,
                     xcom_push=lambda key, value: None)
import threading, os
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024
samples = []
def sample():
    while True:
        samples.append((round(time.monotonic() - started, 2), round(rss()), threading.active_count()))
        time.sleep(0.25)
started = time.monotonic()
if os.environ.get("BENCH_TRACE"):
    threading.Thread(target=sample, daemon=True).start()
concurrency = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "0" else None
manifest = BaiduOcrBatchOperator(task_id="ocr_batch", bucket=sys.argv[3], keys=keys,
                                 concurrency=concurrency).execute({"ti": ti})
# VmHWM, not ru_maxrss: Linux carries the parent's RSS at fork (this bench holds every image in moto) into
# the child's ru_maxrss across exec; VmHWM belongs to this process's own memory.
hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
if os.environ.get("BENCH_TRACE"):
    print("TRACE", samples[::4], file=sys.stderr)
print("RESULT " + json.dumps({"n_ok": manifest["n_ok"], "seconds": time.monotonic() - started,
      "peak_rss_mb": hwm_kb / 1024}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def noise_png(seed: int, rng: np.random.Generator, base: np.ndarray) -> bytes:
    """~2 MB of PNG that does not compress (noise), distinct per seed."""
    from PIL import Image

    pixels = base.copy()
    pixels[0, :8] = rng.integers(0, 256, 8, dtype=np.uint8)[:, None]
    pixels[1, 0, 0] = seed % 256
    pixels[1, 1, 0] = seed // 256
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--sizes", default="50,200,500", help="batch sizes to measure (comma-separated)")
    parser.add_argument(
        "--qps", type=float, default=10, help="the connection's QPS (sets the default concurrency)"
    )
    parser.add_argument("--concurrency", type=int, default=0, help="calls in flight (0: the hook's default)")
    args = parser.parse_args()
    sizes = [min(int(s), args.images) for s in args.sizes.split(",")]

    import boto3
    from baidu_ocr_server.testing import running_server
    from moto.server import ThreadedMotoServer

    home = tempfile.mkdtemp(prefix="bench-memory-airflow-")
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{moto_port}"
    env = {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        ),
    }
    rows = []
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=BUCKET)
        rng = np.random.default_rng(10)
        base = rng.integers(0, 256, (820, 820, 3), dtype=np.uint8)
        keys = []
        total = 0
        for n in range(args.images):
            data = noise_png(n, rng, base)
            total += len(data)
            key = f"big/img-{n:05d}.png"
            client.put_object(Bucket=BUCKET, Key=key, Body=data)
            keys.append(key)
        print(f"uploaded {args.images} images, {total / args.images / 2**20:.2f} MB each on average")
        with running_server(engine="fixture") as server:
            env["AIRFLOW_CONN_BAIDU_OCR_DEFAULT"] = server.airflow_connection(qps=args.qps, timeout=30)
            for size in sizes:
                done = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        TASK,
                        json.dumps(keys[:size]),
                        f"run-{size}-{time.time()}",
                        BUCKET,
                        str(args.concurrency),
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                    check=True,
                )
                result = json.loads(done.stdout.split("RESULT ", 1)[1])
                rows.append({"batch_size": size, **result})
                print(f"batch of {size}: {result}")
    finally:
        moto.stop()
    print(f"\n{'batch size':>10} {'ok':>5} {'seconds':>8} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['batch_size']:>10} {row['n_ok']:>5} {row['seconds']:>8.1f} {row['peak_rss_mb']:>12.0f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"goal_mb": 400, "rows": rows}, indent=2))
    print(f"written to {RESULTS.relative_to(ROOT)} (goal: < 400 MB at every size)")
    return 0 if all(r["peak_rss_mb"] < 400 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
