"""Benchmark: normalizer rows/s, and line rows into PostgreSQL: the loader's fast path vs DataFrame.to_sql.

First load, reload of the same batch (a rerun) and reload with every line changed (a reprocessing), each
in the loader's one transaction; to_sql first load and its naive rerun (delete the documents' rows, append).

    .venv/bin/python bench/bench_warehouse.py [--rows 1000000] [--lines-per-doc 50] [--to-sql-rows N]

Needs PostgreSQL (``BAIDU_OCR_TEST_POSTGRES``, default postgresql://postgres@127.0.0.1:5432/test). Works in
a throw-away schema that it drops at the end. Prints a table and writes bench/results/warehouse.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
POSTGRES_URI = os.environ.get("BAIDU_OCR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
os.environ["AIRFLOW_CONN_WAREHOUSE_BENCH"] = POSTGRES_URI


def raw_records(n_rows: int, lines_per_doc: int) -> list[dict]:
    """Staged records of a general/accurate endpoint with positions and probabilities."""
    from baidu_ocr.pipeline.records import OcrOutcome

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


def changed(frames: dict, suffix: str) -> dict:
    """The same documents reprocessed: every line's text differs, so every line row is replaced."""
    out = {name: frame.copy() for name, frame in frames.items()}
    out["ocr_lines"]["text"] = out["ocr_lines"]["text"] + suffix
    return out


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


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
    reprocessed = changed(frames, " v2")

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    loader = WarehouseLoader("warehouse_bench", schema=schema)
    loader.ensure_schema()
    try:
        fast_s = timed(lambda: loader.load(frames))
        reload_s = timed(lambda: loader.load(frames))  # the same batch again (a rerun)
        changed_s = timed(lambda: loader.load(reprocessed))  # every line row differs

        to_sql_frame = lines.head(args.to_sql_rows or len(lines))
        engine = loader.hook.get_sqlalchemy_engine()
        table = f'"{schema}".lines_to_sql'
        key_list = ", ".join(f"'{sha}'" for sha in to_sql_frame["content_sha256"].unique())

        def to_sql() -> None:
            to_sql_frame.to_sql("lines_to_sql", engine, schema=schema, if_exists="append", index=False)

        def to_sql_reload() -> None:
            # The naive idempotent rerun with to_sql: delete the batch's documents' rows, append them again.
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DELETE FROM {table} WHERE content_sha256 IN ({key_list})")
            to_sql()

        to_sql_s = timed(to_sql)
        to_sql_reload_s = timed(to_sql_reload)
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()
        assert stored == len(to_sql_frame), (stored, len(to_sql_frame))
        assert loader.row_counts()["ocr_lines"] == len(lines)
    finally:
        with loader.transaction() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    n, m = len(lines), len(to_sql_frame)
    rate = {
        "fast_first": n / fast_s,
        "fast_reload": n / reload_s,
        "fast_reload_all_changed": n / changed_s,
        "to_sql_first": m / to_sql_s,
        "to_sql_reload": m / to_sql_reload_s,
    }
    results = {
        "line_rows": n,
        "documents": len(frames["ocr_documents"]),
        "to_sql_rows": m,
        "normalize_rows_per_s": round(n / normalize_s),
        "rows_per_s": {name: round(value) for name, value in rate.items()},
        "ratio_vs_to_sql": {
            "first_load": round(rate["fast_first"] / rate["to_sql_first"], 2),
            "reload": round(rate["fast_reload"] / rate["to_sql_reload"], 2),
            "reload_all_changed": round(rate["fast_reload_all_changed"] / rate["to_sql_reload"], 2),
        },
        "seconds": {
            "normalize": round(normalize_s, 2),
            "fast_first": round(fast_s, 2),
            "fast_reload": round(reload_s, 2),
            "fast_reload_all_changed": round(changed_s, 2),
            "to_sql_first": round(to_sql_s, 2),
            "to_sql_reload": round(to_sql_reload_s, 2),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{'step':<44}{'rows':>10}{'seconds':>10}{'rows/s':>12}{'vs to_sql':>11}")
    for label, rows, seconds, ratio in (
        ("normalize_records (lines)", n, normalize_s, None),
        ("loader, first load (COPY)", n, fast_s, results["ratio_vs_to_sql"]["first_load"]),
        ("loader, reload of the same batch", n, reload_s, results["ratio_vs_to_sql"]["reload"]),
        (
            "loader, reload with every line changed",
            n,
            changed_s,
            results["ratio_vs_to_sql"]["reload_all_changed"],
        ),
        ("DataFrame.to_sql (default), first load", m, to_sql_s, None),
        ("DataFrame.to_sql, delete + append again", m, to_sql_reload_s, None),
    ):
        shown = f"{ratio:>10.1f}x" if ratio is not None else ""
        print(f"{label:<44}{rows:>10}{seconds:>10.2f}{rows / seconds:>12,.0f}{shown}")
    out = HERE / "results" / "warehouse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
