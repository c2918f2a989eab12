"""ID numbers in any text of any table, masked before it leaves the normalizer (pure: pandas only).

The ID-card normalizer handles the number it knows about (masked, HMAC, ciphertext). This pass catches the
rest: an ID card sent to ``general_basic``, a driving licence (its number IS the holder's ID number), a
table cell, a file name in ``source_uri``, a server message. Anything shaped like an 18-character ID
number is masked whether or not its checksum holds (a misread number is still personal data), and so is a
driving licence's 12-digit file number (档案编号) when it arrives as a labelled field. The one exception
is an invoice's company tax id (a public unified social credit code, often 18 digits): the invoice
normalizer protects its tax-id columns itself, and a company's code in a tax-id field of ``ocr_fields``
stays in clear (``pii.tax_ids``: decided by field and checksum, not by shape).
"""

from __future__ import annotations

import pandas as pd

from baidu_ocr.normalize.schema import DOC_KEY
from baidu_ocr.pii.policy import find_id_numbers, mask_id_numbers_in_text
from baidu_ocr.pii.tax_ids import keeps_in_clear

# Identifiers and the ID-card table's own protected columns: nothing to mask there, and a log_id may be
# 18 digits long.
_NOT_TEXT = frozenset(
    {
        "content_sha256",
        "endpoint",
        "options_hash",
        "page_no",
        "page_count",
        "status",
        "error_code",
        "error_class",
        "log_id",
        "dag_id",
        "run_id",
        "side",
        "id_number_masked",
        "id_number_hmac",
        "id_number_encrypted",
        # ocr_invoices: protected by the invoice normalizer (pii.tax_ids.protect_tax_id)
        "buyer_tax_id",
        "buyer_tax_id_hmac",
        "seller_tax_id",
        "image_status",
        "risk_type",
        "task_id",
    }
)
# Field labels whose whole value is personal data (driving licence back side: the licence's file number).
FILE_NUMBER_LABELS = ("档案编号",)


def mask_line_chars(lines: list[dict], chars: list[dict]) -> None:
    """Mask, in place, the characters of ``ocr_chars`` that spell an ID number of their line.

    Run before the line texts are masked. When a line's characters do not spell its text exactly, every
    digit character of a line holding an ID number is masked.
    """
    by_line: dict[tuple, list[dict]] = {}
    for char in chars:
        by_line.setdefault(_line_key(char), []).append(char)
    for line in lines:
        spans = find_id_numbers(line.get("text"))
        line_chars = by_line.get(_line_key(line))
        if not spans or not line_chars:
            continue
        aligned = "".join(str(c.get("char") or "") for c in line_chars) == line["text"]
        aligned = aligned and all(len(str(c.get("char") or "")) == 1 for c in line_chars)
        hidden = {i for start, end in spans for i in range(start + 6, end - 4)} if aligned else None
        for i, char in enumerate(line_chars):
            if (hidden is None and str(char.get("char") or "").isdigit()) or (hidden and i in hidden):
                char["char"] = "*"


def mask_all_but_last_four(value: str) -> str:
    """``110100123456`` -> ``********3456``: a file number has no region part worth keeping."""
    text = "".join(str(value).split())
    return "*" * max(len(text) - 4, 0) + text[-4:]


def _line_key(row: dict) -> tuple:
    return (*(row.get(col) for col in DOC_KEY), row.get("line_no"))


def mask_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every text column of every table with ID-number-shaped substrings (and file numbers) masked."""
    out = {}
    for name, frame in frames.items():
        if frame.empty:
            out[name] = frame
            continue
        frame = frame.copy()
        masked = pd.Series(True, index=frame.index)
        if name == "ocr_fields":
            clear = [keeps_in_clear(f, v) for f, v in zip(frame["field"], frame["value"], strict=True)]
            masked = ~pd.Series(clear, index=frame.index, dtype=bool)
        for column in frame.columns:
            if column in _NOT_TEXT or str(frame[column].dtype) != "string":
                continue
            frame.loc[masked, column] = (
                frame.loc[masked, column].map(mask_id_numbers_in_text, na_action="ignore").astype("string")
            )
        if name == "ocr_fields":
            labelled = frame["field"].fillna("").str.endswith(FILE_NUMBER_LABELS)
            frame.loc[labelled, "value"] = frame.loc[labelled, "value"].map(
                mask_all_but_last_four, na_action="ignore"
            )
        out[name] = frame
    return out
