"""Benchmark: how long and how much memory prepare_image() takes on large photos and scans.

Each case runs in its own process so peak RSS (VmHWM) belongs to that case alone. The "naive" rows do
what a first version would (decode in full, EXIF-transpose, LANCZOS resize, JPEG encode) to show what
``Image.draft`` and Pillow's ``reducing_gap`` save. Prints a table; writes bench/results/images.json.

    python bench/bench_images.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

RESULTS = Path(__file__).resolve().parent / "results" / "images.json"

# name, width, height, format: a 20 MP phone photo, a 108 MP photo, the 20 MP photo saved as PNG
CASES = [
    ("photo_20mp_jpeg", 5472, 3648, "JPEG"),
    ("photo_108mp_jpeg", 12000, 9000, "JPEG"),
    ("photo_20mp_png", 5472, 3648, "PNG"),
]


def synthetic_photo(width: int, height: int, fmt: str) -> bytes:
    """Smooth gradients plus sensor-like noise: compresses like a real photo, unlike flat colour."""
    rng = np.random.default_rng(7)
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    base = np.stack(
        [(x + y) / 2, np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width))], -1
    )
    pixels = (base + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # phones store photos sideways and set the orientation tag
    Image.fromarray(pixels).save(buffer, fmt, exif=exif, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def naive_prepare(raw: bytes) -> bytes:
    img = Image.open(io.BytesIO(raw))
    img.load()
    img = ImageOps.exif_transpose(img)
    scale = 4096 / max(img.size)
    img = img.resize((int(img.width * scale), int(img.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def peak_rss_kb() -> int:
    """This process's RSS high-water mark (VmHWM). Unlike ru_maxrss it is not inherited across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def run_case(path: str, method: str, queue) -> None:
    from baidu_ocr.inputs.images import prepare_image

    raw = Path(path).read_bytes()
    Image.MAX_IMAGE_PIXELS = None  # the 108 MP case is legitimate here
    baseline_kb = peak_rss_kb()
    started = time.perf_counter()
    if method == "prepare_image":
        prepared = prepare_image(raw)
        size, steps = (prepared.sent_width, prepared.sent_height), list(prepared.transformed)
        out_bytes = len(prepared.data)
    else:
        data = naive_prepare(raw)
        size, steps, out_bytes = Image.open(io.BytesIO(data)).size, ["naive"], len(data)
    seconds = time.perf_counter() - started
    peak_kb = peak_rss_kb()
    queue.put(
        {
            "seconds": seconds,
            "peak_rss_mb": peak_kb / 1024,
            "added_rss_mb": (peak_kb - baseline_kb) / 1024,
            "sent": size,
            "steps": steps,
            "out_bytes": out_bytes,
        }
    )


def measure(path: Path, method: str, repeat: int) -> dict:
    ctx = mp.get_context("spawn")
    runs = []
    for _ in range(repeat):
        queue = ctx.Queue()
        proc = ctx.Process(target=run_case, args=(str(path), method, queue))
        proc.start()
        runs.append(queue.get(timeout=300))
        proc.join()
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "seconds_median": statistics.median(r["seconds"] for r in runs), "repeat": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=RESULTS.parent / "tmp_images")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, width, height, fmt in CASES:
        path = args.workdir / f"{name}.{fmt.lower()}"
        if not path.exists():
            path.write_bytes(synthetic_photo(width, height, fmt))
        for method in ("prepare_image", "naive"):
            result = measure(path, method, args.repeat)
            rows.append(
                {
                    "case": name,
                    "source_px": [width, height],
                    "source_bytes": path.stat().st_size,
                    "method": method,
                    **result,
                }
            )
            print(
                f"{name:18} {method:14} {result['seconds_median']:7.2f} s  peak {result['peak_rss_mb']:7.0f} MB "
                f"(+{result['added_rss_mb']:6.0f})  sent {result['sent'][0]}x{result['sent'][1]} "
                f"{result['out_bytes'] / 1e6:5.2f} MB  {','.join(result['steps'])}",
                flush=True,
            )
    for path in args.workdir.iterdir():
        path.unlink()
    args.workdir.rmdir()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "pillow": Image.__version__,
        "machine": platform.machine(),
        "cpus": mp.cpu_count(),
    }
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS.name} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
