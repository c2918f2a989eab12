"""Accuracy and speed of the rapidocr engine on the committed samples (in-process, no HTTP).

    python bench/bench_engine_accuracy.py [--samples include/samples] [--kind documents] [--set validation]

Runs the tuned set (``include/samples``) and the held-out validation set (``include/samples/validation``,
never used for tuning) and prints them side by side, one row per kind; writes
``bench/results/engine_accuracy.json``. Targets (issues 2 and 15): character error rate <= 1 % on
documents, >= 95 % of ID card fields exact, >= 95 % of table cells exact with their row and column spans;
(issue 22) >= 95 % of invoice key fields exact (code, number, date, both names and tax ids, the three
amounts; an empty code on a 数电票 must be answered empty) and >= 95 % of item amounts exact, every page of
the PDF e-invoices included.

Text is compared after Unicode NFKC (full-width ``：`` equals ``:``) and with whitespace removed, because
OCR engines, Baidu's included, do not reproduce the spacing of a page; everything else must match exactly.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from baidu_ocr_server.engines.rapidocr_engine import RapidOcrEngine
from baidu_ocr_server.evaluation import edit_distance
from baidu_ocr_server.evaluation import normalize_text as normalize

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "bench" / "results" / "engine_accuracy.json"
TARGETS = {"documents": 0.01, "idcards": 0.95, "tables": 0.95, "invoices": 0.95}
INVOICE_KEY_FIELDS = ("InvoiceCode", "InvoiceNum", "InvoiceDate", "PurchaserName", "PurchaserRegisterNum",
                      "SellerName", "SellerRegisterNum", "TotalAmount", "TotalTax", "AmountInFiguers")  # fmt: skip


def samples(folder: Path) -> list[tuple[Path, dict]]:
    found = []
    for truth_path in sorted(folder.glob("*.json")):
        image = next(p for p in folder.glob(truth_path.stem + ".*") if p.suffix != ".json")
        found.append((image, json.loads(truth_path.read_text(encoding="utf-8"))))
    return found


def bench_documents(engine: RapidOcrEngine, folder: Path, verbose: bool) -> dict:
    errors = total = 0
    directions_ok = 0
    seconds = []
    items = samples(folder)
    for image, truth in items:
        start = time.perf_counter()
        result = engine.recognize_lines(image.read_bytes(), detect_direction=True)
        seconds.append(time.perf_counter() - start)
        expected = normalize("".join(line["text"] for line in truth["lines"]))
        got = normalize("".join(line.text for line in result.lines))
        distance = edit_distance(expected, got)
        errors, total = errors + distance, total + len(expected)
        directions_ok += result.direction == truth.get("rotation", 0) // 90
        if verbose and distance:
            print(
                f"  {image.name}: {distance} errors, direction {result.direction}\n    want {expected}\n    got  {got}"
            )
    return {
        "n_images": len(items),
        "cer": errors / max(total, 1),
        "directions_correct": directions_ok,
        "seconds_per_image": sum(seconds) / max(len(seconds), 1),
    }


def bench_idcards(engine: RapidOcrEngine, folder: Path, verbose: bool) -> dict:
    exact = total = 0
    seconds = []
    items = samples(folder)
    for image, truth in items:
        card = truth["idcard"]
        start = time.perf_counter()
        result = engine.recognize_idcard(image.read_bytes(), side=card["side"])
        seconds.append(time.perf_counter() - start)
        for name, field in card["fields"].items():
            got = result.fields.get(name)
            ok = got is not None and normalize(got.text) == normalize(field["text"])
            exact, total = exact + ok, total + 1
            if verbose and not ok:
                print(f"  {image.name} {name}: want {field['text']!r} got {got.text if got else None!r}")
    return {
        "n_images": len(items),
        "fields": total,
        "fields_exact": exact / max(total, 1),
        "seconds_per_image": sum(seconds) / max(len(seconds), 1),
    }


def bench_tables(engine: RapidOcrEngine, folder: Path, verbose: bool) -> dict:
    exact = total = 0
    structure_ok = 0
    seconds = []
    items = samples(folder)
    for image, truth in items:
        start = time.perf_counter()
        tables = engine.recognize_tables(image.read_bytes())
        seconds.append(time.perf_counter() - start)
        got = {(c.row_start, c.row_end, c.col_start, c.col_end): c.text for t in tables for c in t.cells}
        want_spans = set()
        for table in truth["tables"]:
            for cell in table["cells"]:
                span = (cell["row_start"], cell["row_end"], cell["col_start"], cell["col_end"])
                want_spans.add(span)
                ok = span in got and normalize(got[span]) == normalize(cell["text"])
                exact, total = exact + ok, total + 1
                if verbose and not ok:
                    print(f"  {image.name} {span}: want {cell['text']!r} got {got.get(span)!r}")
        structure_ok += want_spans == set(got)
    return {
        "n_images": len(items),
        "cells": total,
        "cells_exact": exact / max(total, 1),
        "structures_exact": structure_ok,
        "seconds_per_image": sum(seconds) / max(len(seconds), 1),
    }


def invoice_pages(engine: RapidOcrEngine, path: Path, truth: dict) -> list[tuple[str, Callable, dict]]:
    """(name, a call reading the page, invoice truth) per page: a PDF's pages rendered as the server
    renders them, an OFD's pages read from their text layer."""
    from baidu_ocr_server.documents import render_pdf_page
    from baidu_ocr_server.images import DEFAULT_LIMITS
    from baidu_ocr_server.ofd import read_ofd_page

    data = path.read_bytes()
    if path.suffix == ".pdf":
        return [
            (
                f"{path.name}#{n}",
                partial(engine.recognize_invoice, render_pdf_page(data, n, DEFAULT_LIMITS)[0]),
                page,
            )
            for n, page in enumerate(truth["pages"], start=1)
        ]
    if path.suffix == ".ofd":
        return [
            (
                f"{path.name}#{n}",
                partial(engine.recognize_invoice_text, read_ofd_page(data, n)[0], document=data, page_no=n),
                page,
            )
            for n, page in enumerate(truth["pages"], start=1)
        ]
    return [(path.name, partial(engine.recognize_invoice, data), truth)]


def bench_invoices(engine: RapidOcrEngine, folder: Path, verbose: bool) -> dict:
    from baidu_ocr_server.shapes import invoice_payload

    key_ok = key_total = item_ok = item_total = pages = 0
    seconds = []
    for image, document in samples(folder):
        for name, read, truth in invoice_pages(engine, image, document):
            want = truth["words_result"]
            start = time.perf_counter()
            got = invoice_payload(read())["words_result"]
            seconds.append(time.perf_counter() - start)
            pages += 1
            for field in INVOICE_KEY_FIELDS:
                ok = got[field] == want.get(field, "")
                key_ok, key_total = key_ok + ok, key_total + 1
                if verbose and not ok:
                    print(f"  {name} {field}: want {want.get(field, '')!r} got {got[field]!r}")
            got_amounts = {cell["row"]: cell["word"] for cell in got["CommodityAmount"]}
            for cell in want.get("CommodityAmount", []):
                ok = got_amounts.get(cell["row"]) == cell["word"]
                item_ok, item_total = item_ok + ok, item_total + 1
                if verbose and not ok:
                    print(
                        f"  {name} item {cell['row']}: want {cell['word']!r} got {got_amounts.get(cell['row'])!r}"
                    )
    return {
        "n_images": pages,
        "key_fields": key_total,
        "key_fields_exact": key_ok / max(key_total, 1),
        "item_amounts": item_total,
        "item_amounts_exact": item_ok / max(item_total, 1),
        "seconds_per_image": sum(seconds) / max(len(seconds), 1),
    }


SETS = {"tuned": Path(), "validation": Path("validation")}
METRICS = {"documents": ("CER", "cer"), "idcards": ("fields exact", "fields_exact"),
           "tables": ("cells exact", "cells_exact"), "invoices": ("key fields", "key_fields_exact")}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT / "include" / "samples")
    parser.add_argument("--kind", choices=list(METRICS), action="append")
    parser.add_argument("--set", choices=list(SETS), action="append", dest="sets")
    parser.add_argument("--verbose", action="store_true", help="print every mismatch")
    args = parser.parse_args()
    engine = RapidOcrEngine()
    start = time.perf_counter()
    engine.recognize_lines((args.samples / "documents" / "doc_01.jpg").read_bytes())  # load the models
    load_seconds = time.perf_counter() - start
    runners = {"documents": bench_documents, "idcards": bench_idcards, "tables": bench_tables,
               "invoices": bench_invoices}  # fmt: skip
    results: dict[str, dict] = {}
    for name in args.sets or SETS:
        results[name] = {}
        for kind in args.kind or runners:
            folder = args.samples / SETS[name] / kind
            if args.verbose:
                print(f"{name} {kind}:")
            results[name][kind] = runners[kind](engine, folder, args.verbose)

    names = list(results)
    print(f"{'kind':<10} {'metric':<13} {'target':>7} " + " ".join(f"{n + ' (n, s/img)':>28}" for n in names))
    for kind in args.kind or runners:
        metric, key = METRICS[kind]
        target = ("<= " if kind == "documents" else ">= ") + f"{TARGETS[kind]:.0%}"
        cols = []
        for name in names:
            row = results[name][kind]
            cols.append(
                f"{row[key]:>10.2%} {row['n_images']:>4} {row['seconds_per_image']:>6.2f} s".rjust(28)
            )
        print(f"{kind:<10} {metric:<13} {target:>7} " + " ".join(cols))
    for name in names:
        if "invoices" in results[name]:
            row = results[name]["invoices"]
            print(
                f"invoices   item amounts    >= 95% {name}: {row['item_amounts_exact']:.2%} of {row['item_amounts']}"
            )
    print(f"first call (model load + one image): {load_seconds:.2f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"model_load_seconds": load_seconds, **results}, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
