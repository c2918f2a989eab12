"""The confidence gate: which documents a person should look at before their text is trusted.

A line's confidence is Baidu's ``probability.average`` (returned with ``probability=true``). A document goes
to review when a line is under ``min_confidence`` (``low_confidence``), or when a text endpoint read no
line at all (``no_text``: a blank page, or a scan too faint to find text on). Its rows are loaded anyway,
marked ``needs_review``; the queue row says why and lists the lines under the threshold. Documents without
probabilities (not asked for) are gated on ``no_text`` only. Pure: no Airflow, no database, no pandas (DAG
files import its default, and the DAG processor must stay light).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from baidu_ocr.pii.policy import mask_id_numbers_in_text
from baidu_ocr.pipeline.records import clean_text

LOW_CONFIDENCE = "low_confidence"
NO_TEXT = "no_text"
# An invoice already in the warehouse under another document (warehouse.invoice_identity); an invoice's
# other reasons are the names of the checks it failed (normalize.invoice_checks), comma-separated.
DUPLICATE_INVOICE = "duplicate_invoice"
NEEDS_REVIEW = "needs_review"
REVIEWED = "reviewed"
# An invoice a reviewer refused (not to be booked); "reviewed" on an invoice means accepted: book it.
REJECTED = "rejected"
# Measured on the samples with the local server's real engine (rapidocr): the clean documents' least
# confident line reads 0.92, the faded line of review/faded_01 0.86. See the README, "Confidence gate".
DEFAULT_MIN_CONFIDENCE = 0.9
# A correction is one line of a document: the longest lines Baidu reads are a few hundred characters. What a
# form (or a PATCH to the REST API, which Airflow does not check against the form) sends beyond this is cut.
MAX_CORRECTION_CHARS = 2000
_BOX = ("left", "top", "width", "height")
# Control characters (Unicode Cc): the breaking ones become a space (a correction is one line), others go.
_BREAKING_CONTROLS = re.compile("[\t\n\v\f\r\x1c-\x1f\x85]+")
_OTHER_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


@dataclass(frozen=True)
class Confidence:
    """Mean and minimum line confidence of one document (``None`` when no line has a probability)."""

    mean: float | None
    min: float | None


def document_confidence(lines: Sequence[dict[str, Any]]) -> Confidence:
    scores = [float(line["prob_average"]) for line in lines if line.get("prob_average") is not None]
    if not scores:
        return Confidence(None, None)
    return Confidence(sum(scores) / len(scores), min(scores))


def review_reason(
    lines: Sequence[dict[str, Any]], min_confidence: float | None
) -> tuple[str, list[dict]] | None:
    """``(reason, low lines)`` when the document needs review, else ``None``; ``min_confidence`` None: no gate.

    ``lines`` are one document's ``ocr_lines`` rows (``line_no``, ``text``, ``prob_average``, and the box
    ``left``/``top``/``width``/``height`` when the endpoint returns positions: a low line keeps it as
    ``box``, so the review can show the line as scanned).
    """
    if min_confidence is None:
        return None
    if not lines:
        return NO_TEXT, []
    low = [
        _low_line(line)
        for line in lines
        if line.get("prob_average") is not None and float(line["prob_average"]) < min_confidence
    ]
    return (LOW_CONFIDENCE, low) if low else None


def _low_line(line: dict[str, Any]) -> dict[str, Any]:
    low = {"line_no": int(line["line_no"]), "text": line["text"], "confidence": float(line["prob_average"])}
    if all(line.get(side) is not None for side in _BOX):
        low["box"] = [int(line[side]) for side in _BOX]
    return low


def queue_row(
    document: dict[str, Any],
    reason: str,
    low_lines: list[dict],
    min_confidence: float | None,
) -> dict[str, Any]:
    """The ``ocr_review_queue`` row of a gated document (its ``ocr_documents`` row as built by normalize);
    an invoice's has no lines and no threshold."""
    return {
        **{col: document.get(col) for col in ("content_sha256", "endpoint", "options_hash", "page_no")},
        "source_uri": document.get("source_uri"),
        "reason": reason,
        "min_confidence": min_confidence,
        "conf_mean": document.get("conf_mean"),
        "conf_min": document.get("conf_min"),
        "low_lines": json.dumps(low_lines, ensure_ascii=False),
        "status": "open",
        "dag_id": document.get("dag_id"),
        "run_id": document.get("run_id"),
        "queued_at": document.get("processed_at"),
    }


def corrections_from(params_input: dict[str, Any], low_lines: Sequence[dict]) -> dict[int, str]:
    """The lines a reviewer changed: ``{line_no: new text}`` from the review form's ``line_<n>`` fields, each
    as :func:`clean_correction` makes it (a value that cleans to the OCR's text is no change)."""
    changed = {}
    for line in low_lines:
        value = params_input.get(line_field(int(line["line_no"])))
        if isinstance(value, str) and (cleaned := clean_correction(value)) != line["text"]:
            changed[int(line["line_no"])] = cleaned
    return changed


def clean_correction(text: str) -> str:
    """A reviewer's text as it may be stored: what every stored text is (NUL and lone surrogates cleaned,
    ID numbers masked, as loads do), on one line (control characters dropped, line breaks and tabs made
    spaces, ends trimmed), and at most :data:`MAX_CORRECTION_CHARS` characters."""
    text = _OTHER_CONTROLS.sub("", _BREAKING_CONTROLS.sub(" ", clean_text(str(text))))
    # Masked before the cut: a number cut in two would no longer look like one.
    return (mask_id_numbers_in_text(text) or "").strip()[:MAX_CORRECTION_CHARS].strip()


def line_field(line_no: int) -> str:
    """The review form's field for a line (Airflow params need stable names)."""
    return f"line_{line_no}"
