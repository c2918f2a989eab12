"""BaiduOcrHook.ocr_many versus the usual recipe (official SDK + ThreadPoolExecutor(10)), same images, same server.

Runs the local Baidu-compatible server in-process (fixture engine, so OCR time is not what is measured)
under a few fault profiles and reports images/s, errors seen by the caller, and lost images (no result).

    .venv/bin/python bench/bench_hook_vs_sdk.py [--images 200] [--qps 10]

Prints a table and writes bench/results/hook_vs_sdk.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from baidu_ocr.client.sdk import make_sdk_client
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr_server.testing import running_server
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

# Server fault options per profile; every profile but "unthrottled" enforces the account's QPS (--qps).
PROFILES = {
    "unthrottled": {"qps": None, "latency_ms": 50},
    "clean": {},
    "qps-errors": {"error_rates": {"18": 0.10}},
    "transient": {"error_rates": {"282000": 0.05, "500": 0.02, "drop": 0.01}},
    "expiring-tokens": {"token_ttl": 5},
}


def images(n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        image = Image.new("L", (320, 120), 255)
        for k in range(6):
            image.putpixel(((i * 13 + k * 7) % 320, (i // 320 + k) % 120), 0)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        out.append((f"img-{i:05d}.png", buffer.getvalue()))
    return out


def run_sdk(server, items) -> dict:
    client = make_sdk_client("bench", server.api_key, server.secret_key, host=server.url)

    def one(item):
        try:
            return client.basicGeneral(item[1])
        except Exception as exc:  # what the recipe sees: an exception from the SDK
            return {"error_code": type(exc).__name__}

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, items))
    elapsed = time.monotonic() - started
    errors = sum("error_code" in r for r in results)
    return {"elapsed_s": elapsed, "ok": len(results) - errors, "errors_seen": errors, "lost": errors}


def run_hook(server, items, qps: float) -> dict:
    reset_process_caches()
    os.environ["AIRFLOW_CONN_BAIDU_OCR_BENCH"] = server.airflow_connection(qps=qps, max_retries=8)
    hook = BaiduOcrHook("baidu_ocr_bench")
    started = time.monotonic()
    outcomes = list(hook.ocr_many(items))
    elapsed = time.monotonic() - started
    ok = sum(o.ok for o in outcomes)
    snapshot = hook.stats.snapshot()
    return {
        "elapsed_s": elapsed,
        "ok": ok,
        "errors_seen": len(outcomes) - ok,
        "lost": len(items) - ok,
        "retries": snapshot["retries"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--qps", type=float, default=10)
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    items = images(args.images)
    rows = []
    for profile in args.profiles:
        faults = {"qps": args.qps, "seed": 11, **PROFILES[profile]}
        hook_qps = faults["qps"] or 1000  # unthrottled server: give the hook a budget it never reaches
        for client_name in ("sdk+threadpool(10)", "hook.ocr_many"):
            with running_server(**faults) as server:
                if client_name.startswith("sdk"):
                    result = run_sdk(server, items)
                else:
                    result = run_hook(server, items, hook_qps)
                stats = server.stats()
            calls = sum(e["calls"] for e in stats["endpoints"].values())
            rows.append(
                {
                    "profile": profile,
                    "client": client_name,
                    "images": len(items),
                    "ok_images_per_s": round(result["ok"] / result["elapsed_s"], 2),
                    "server_calls": calls,
                    "errors_18_sent": stats["errors"].get("18", 0),
                    "errors_seen": result["errors_seen"],
                    "lost": result["lost"],
                    "elapsed_s": round(result["elapsed_s"], 2),
                }
            )
            print(rows[-1], file=sys.stderr, flush=True)
    header = [
        "profile",
        "client",
        "images",
        "ok_images_per_s",
        "server_calls",
        "errors_18_sent",
        "errors_seen",
        "lost",
    ]
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(header, widths, strict=True)))
    out = ROOT / "bench" / "results" / "hook_vs_sdk.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"qps_limit": args.qps, "rows": rows}, indent=2))
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
