"""Multi-page PDFs through the hook and the local server's rapidocr engine: pages per second and CER.

    python bench/bench_pdf_pages.py [--engine rapidocr] [--rounds 1]

Each PDF sample (``include/samples/documents_pdf``) goes through ``BaiduOcrHook.ocr_pages`` over HTTP: the
client checks and counts the pages, the server renders each page (pypdfium2) and OCRs it. Prints pages/s
and the character error rate per page (text normalized as in ``bench_engine_accuracy``; ``detect_direction``
on, as for the rotated image samples there); writes
``bench/results/pdf_pages.json``. Bounded: 7 pages per round.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr_server.evaluation import edit_distance
from baidu_ocr_server.evaluation import normalize_text as normalize
from baidu_ocr_server.testing import running_server

ROOT = Path(__file__).resolve().parent.parent

PDFS = ROOT / "include" / "samples" / "documents_pdf"
RESULTS = ROOT / "bench" / "results" / "pdf_pages.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="rapidocr")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    samples = [
        (p, json.loads(p.with_suffix(".json").read_text(encoding="utf-8")))
        for p in sorted(PDFS.glob("*.pdf"))
    ]
    errors = total = pages = blank_chars = 0
    per_page = []
    with running_server(engine=args.engine) as server:
        os.environ["AIRFLOW_CONN_BAIDU_OCR_DEFAULT"] = server.airflow_connection(
            app_id="1", qps=50, timeout=60
        )
        reset_process_caches()
        hook = BaiduOcrHook(concurrency=2)
        hook.ocr_pages(samples[0][0].read_bytes(), pages="1")  # warm-up: model load, not measured
        started = time.perf_counter()
        for _ in range(args.rounds):
            for pdf, truth in samples:
                for outcome in hook.ocr_pages(pdf.read_bytes(), detect_direction="true"):
                    pages += 1
                    page_truth = truth["pages"][outcome.page_no - 1]
                    want = normalize("".join(line["text"] for line in page_truth["lines"]))
                    got = normalize(
                        "".join(w["words"] for w in (outcome.result or {}).get("words_result", []))
                    )
                    distance = edit_distance(want, got)
                    if want:
                        errors, total = errors + distance, total + len(want)
                    else:
                        blank_chars += len(got)
                    per_page.append(
                        {
                            "pdf": pdf.name,
                            "page": outcome.page_no,
                            "ok": outcome.ok,
                            "cer": distance / max(len(want), 1),
                        }
                    )
        elapsed = time.perf_counter() - started
    result = {
        "engine": args.engine,
        "pages": pages,
        "seconds": round(elapsed, 2),
        "pages_per_second": round(pages / elapsed, 3),
        "cer_text_pages": round(errors / max(total, 1), 4),
        "chars_on_blank_pages": blank_chars,
        "per_page": per_page,
    }
    print(f"{'engine':<10} {'pages':>5} {'seconds':>8} {'pages/s':>8} {'CER':>7} {'blank chars':>11}")
    print(
        f"{args.engine:<10} {pages:>5} {elapsed:>8.2f} {pages / elapsed:>8.3f} "
        f"{result['cer_text_pages']:>7.2%} {blank_chars:>11}"
    )
    for row in per_page:
        print(f"  {row['pdf']} p{row['page']}: ok={row['ok']} CER {row['cer']:.2%}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
