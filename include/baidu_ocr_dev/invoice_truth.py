"""What the invoice samples say they are: their truth read back, for the tests and the cluster run that
check the invoices DAG against it (what a sample demonstrates is found from its truth, not its name)."""

from __future__ import annotations

import json
from pathlib import Path

from baidu_ocr_dev.local_services import REPO

INVOICE_SAMPLES = REPO / "include" / "samples" / "invoices"


def invoice_answers(samples: Path = INVOICE_SAMPLES) -> dict[tuple[str, int], dict]:
    """Each sample invoice's Baidu answer (its truth's ``words_result``) by (file name, page_no): page 0 for
    an image, 1..N for a PDF's pages."""
    invoices: dict[tuple[str, int], dict] = {}
    for path in sorted(p for p in samples.iterdir() if p.suffix != ".json"):
        truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        pages = (
            [page["words_result"] for page in truth["pages"]] if "pages" in truth else [truth["words_result"]]
        )
        first = 0 if path.suffix in (".jpg", ".jpeg", ".png") else 1
        invoices |= {(path.name, first + n): answer for n, answer in enumerate(pages)}
    return invoices


def same_invoice_twice(answers: dict[tuple[str, int], dict]) -> list[list[tuple[str, int]]]:
    """The groups of samples that are one invoice (a photo and its PDF), each sorted by file name."""
    by_identity: dict[str, list[tuple[str, int]]] = {}
    for name, answer in answers.items():
        by_identity.setdefault(f"{answer.get('InvoiceCode') or ''}/{answer['InvoiceNum']}", []).append(name)
    return [sorted(names) for names in by_identity.values() if len(names) > 1]
