"""Benchmark: normalizer rows/s, and line rows into PostgreSQL via the loader's COPY fast path vs to_sql.

    .venv/bin/python bench/bench_warehouse.py [--rows 1000000] [--lines-per-doc 50] [--to-sql-rows N]

Needs PostgreSQL (``BAIDU_OCR_TEST_POSTGRES``, default postgresql://postgres@127.0.0.1:5432/test). Works in
a throw-away schema that it drops at the end. Prints a table and writes bench/results/warehouse.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "plugins"))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
POSTGRES_URI = os.environ.get("BAIDU_OCR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
os.environ["AIRFLOW_CONN_WAREHOUSE_BENCH"] = POSTGRES_URI


def raw_records(n_rows: int, lines_per_doc: int) -> list[dict]:
    """Staged records of a general/accurate endpoint with positions and probabilities."""
    from baidu_ocr.records import OcrOutcome

    records = []
    for doc in range((n_rows + lines_per_doc - 1) // lines_per_doc):
        count = min(lines_per_doc, n_rows - doc * lines_per_doc)
        result = {
            "log_id": 10**18 + doc,
            "words_result_num": count,
            "words_result": [
                {
                    "words": f"第{doc}页 第{i}行 Total {i * 1.5:.2f}",
                    "location": {"left": 10, "top": 20 * i, "width": 300, "height": 18},
                    "probability": {"average": 0.98, "min": 0.9, "variance": 0.001},
                }
                for i in range(count)
            ],
        }
        outcome = OcrOutcome(key=f"k{doc}", ok=True, result=result, content_sha256=f"{doc:064x}", attempts=1)
        records.append(outcome.to_record(endpoint="accurate", processed_at=datetime.now(UTC)))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lines-per-doc", type=int, default=50)
    parser.add_argument("--to-sql-rows", type=int, default=None, help="rows for to_sql (default: --rows)")
    args = parser.parse_args()

    from baidu_ocr.normalize import normalize_records
    from baidu_ocr.warehouse import WarehouseLoader

    records = raw_records(args.rows, args.lines_per_doc)
    started = time.perf_counter()
    frames = normalize_records(records)
    normalize_s = time.perf_counter() - started
    lines = frames["ocr_lines"]

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    loader = WarehouseLoader("warehouse_bench", schema=schema)
    loader.ensure_schema()
    try:
        started = time.perf_counter()
        loader.load(frames)
        copy_s = time.perf_counter() - started
        started = time.perf_counter()
        loader.load(frames)  # the same batch again: deletes the children, upserts documents
        reload_s = time.perf_counter() - started

        to_sql_frame = lines.head(args.to_sql_rows or len(lines))
        engine = loader.hook.get_sqlalchemy_engine()
        started = time.perf_counter()
        to_sql_frame.to_sql("lines_to_sql", engine, schema=schema, if_exists="append", index=False)
        to_sql_s = time.perf_counter() - started
    finally:
        with loader._transaction() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    results = {
        "line_rows": len(lines),
        "documents": len(frames["ocr_documents"]),
        "normalize_rows_per_s": round(len(lines) / normalize_s),
        "copy_upsert_rows_per_s": round(len(lines) / copy_s),
        "copy_reload_rows_per_s": round(len(lines) / reload_s),
        "to_sql_rows": len(to_sql_frame),
        "to_sql_rows_per_s": round(len(to_sql_frame) / to_sql_s),
        "seconds": {
            "normalize": round(normalize_s, 2),
            "copy_upsert": round(copy_s, 2),
            "copy_reload": round(reload_s, 2),
            "to_sql": round(to_sql_s, 2),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{'step':<34}{'rows':>10}{'seconds':>10}{'rows/s':>12}")
    for label, rows, seconds in (
        ("normalize_records (lines)", len(lines), normalize_s),
        ("load: COPY + ON CONFLICT (new)", len(lines), copy_s),
        ("load: COPY + ON CONFLICT (reload)", len(lines), reload_s),
        ("DataFrame.to_sql (default)", len(to_sql_frame), to_sql_s),
    ):
        print(f"{label:<34}{rows:>10}{seconds:>10.2f}{rows / seconds:>12,.0f}")
    out = HERE / "results" / "warehouse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
