"""BaiduOcrHook.ocr_many versus the usual recipe (official SDK + ThreadPoolExecutor(10)), same images, same server.

Runs the local Baidu-compatible server (fixture engine, so OCR time is not what is measured) under a few
fault profiles and reports images/s, errors seen by the caller, lost images (no result) and the client's
CPU seconds per 1,000 server calls. The server runs in a child process, so this process's CPU time
(``time.process_time``: every thread of it) is the client's alone: the unthrottled profile is bound by the
server, so its throughput says little about what the client costs, its CPU time does.

    .venv/bin/python bench/bench_hook_vs_sdk.py [--images 200] [--qps 10] [--repeat 5] [--profiles unthrottled]

Prints a table (medians over ``--repeat`` runs) and writes bench/results/hook_vs_sdk.json (or ``--out``),
with ``cpu_s_per_1000_calls`` per profile for hook and SDK. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


class ServerProcess:
    """``running_server(**faults)`` in a child process; its handle's methods are called through a pipe."""

    def __init__(self, **faults: Any) -> None:
        self.faults = faults

    def __enter__(self) -> ServerProcess:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end, self.faults), daemon=True)
        self._process.start()
        self.url, self.api_key, self.secret_key = self._pipe.recv()
        return self

    def _call(self, method: str, **kwargs: Any) -> Any:
        self._pipe.send((method, kwargs))
        return self._pipe.recv()

    def airflow_connection(self, **extra: Any) -> str:
        return self._call("airflow_connection", **extra)

    def stats(self) -> dict[str, Any]:
        return self._call("stats")

    def __exit__(self, *exc_info: Any) -> None:
        self._pipe.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _serve(pipe, faults: dict[str, Any]) -> None:
    logging.disable(logging.WARNING)
    with running_server(**faults) as server:
        pipe.send((server.url, server.api_key, server.secret_key))
        while (request := pipe.recv()) is not None:
            method, kwargs = request
            pipe.send(getattr(server, method)(**kwargs))


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

    started, cpu_started = time.monotonic(), time.process_time()
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, items))
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    errors = sum("error_code" in r for r in results)
    return {
        "elapsed_s": elapsed,
        "cpu_s": cpu,
        "ok": len(results) - errors,
        "errors_seen": errors,
        "lost": errors,
    }


def run_hook(server, items, qps: float) -> dict:
    reset_process_caches()
    os.environ["AIRFLOW_CONN_BAIDU_OCR_BENCH"] = server.airflow_connection(qps=qps, max_retries=8)
    hook = BaiduOcrHook("baidu_ocr_bench")
    started, cpu_started = time.monotonic(), time.process_time()
    outcomes = list(hook.ocr_many(items))
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    ok = sum(o.ok for o in outcomes)
    snapshot = hook.stats.snapshot()
    return {
        "elapsed_s": elapsed,
        "cpu_s": cpu,
        "ok": ok,
        "errors_seen": len(outcomes) - ok,
        "lost": len(items) - ok,
        "retries": snapshot["retries"],
    }


def run_once(profile: str, client_name: str, items, qps: float) -> dict:
    faults = {"qps": qps, "seed": 11, **PROFILES[profile]}
    hook_qps = faults["qps"] or 1000  # unthrottled server: give the hook a budget it never reaches
    with ServerProcess(**faults) as server:
        if client_name.startswith("sdk"):
            result = run_sdk(server, items)
        else:
            result = run_hook(server, items, hook_qps)
        stats = server.stats()
    calls = sum(e["calls"] for e in stats["endpoints"].values())
    return {
        "ok_images_per_s": result["ok"] / result["elapsed_s"],
        "server_calls": calls,
        "errors_18_sent": stats["errors"].get("18", 0),
        "errors_seen": result["errors_seen"],
        "lost": result["lost"],
        "elapsed_s": result["elapsed_s"],
        "cpu_s_per_1000_calls": result["cpu_s"] / max(calls, 1) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--qps", type=float, default=10)
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES))
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per profile and client; medians are reported"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "hook_vs_sdk.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    items = images(args.images)
    rows = []
    for profile in args.profiles:
        for client_name in ("sdk+threadpool(10)", "hook.ocr_many"):
            runs = [run_once(profile, client_name, items, args.qps) for _ in range(args.repeat)]
            row = {"profile": profile, "client": client_name, "images": len(items)}
            for metric in runs[0]:
                row[metric] = round(statistics.median(run[metric] for run in runs), 3)
            row["cpu_s_per_1000_calls_runs"] = [round(run["cpu_s_per_1000_calls"], 3) for run in runs]
            rows.append(row)
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
        "cpu_s_per_1000_calls",
    ]
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(header, widths, strict=True)))
    cpu = {
        profile: {
            ("sdk" if row["client"].startswith("sdk") else "hook"): row["cpu_s_per_1000_calls"]
            for row in rows
            if row["profile"] == profile
        }
        for profile in args.profiles
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"qps_limit": args.qps, "repeat": args.repeat, "cpu_s_per_1000_calls": cpu, "rows": rows}
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
