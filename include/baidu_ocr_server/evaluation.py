"""How engine output is compared with ground truth: shared by the accuracy benchmark and the engine tests.

Text is compared after NFKC normalisation (full-width ``：`` equals ``:``) with all whitespace removed, since
Baidu's and PP-OCR's spacing in mixed Chinese/English lines is not meaningful.
"""

from __future__ import annotations

import unicodedata


def normalize_text(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), two-row dynamic programming."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
