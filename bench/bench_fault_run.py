"""The fault run at a chosen size: ``baidu_ocr_s3_to_warehouse`` while everything goes wrong at once.

    .venv/bin/python bench/bench_fault_run.py [--images 2000]

Runs ``tests/dags/test_fault_run.py`` (the scenario and its checks live there, once) with more images:
tokens living 5 s, 10 % error 18, 2 % 282000, 1 % HTTP 500, 1 % dropped connections, 5 % corrupt inputs.
Prints a table and writes bench/results/fault_run.json. Exits non-zero when the run lost or doubled a row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "fault_run.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    args = parser.parse_args()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BAIDU_OCR_FAULT_RUN_IMAGES": str(args.images),
        "BAIDU_OCR_FAULT_RUN_RESULTS": str(RESULTS),
    }
    test = "tests/dags/test_fault_run.py"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=ROOT, env=env
    )
    if done.returncode:
        print("the fault run failed its checks (see above)", file=sys.stderr)
        return done.returncode
    figures = json.loads(RESULTS.read_text())
    print(f"\n{'figure':<16} value")
    for key, value in figures.items():
        print(f"{key:<16} {value}")
    print(
        f"\nimages/s {figures['images'] / figures['wall_s']:.1f}; calls per good image "
        f"{figures['calls'] / figures['good']:.3f}; written to {RESULTS.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
