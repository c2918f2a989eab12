"""Ink projections shared by the grid finder, the open-table finder and the cell reader: runs of inked
rows or columns, and the text rows of a block of ink."""

from __future__ import annotations

import numpy as np

Run = tuple[int, int]  # (start, end), end exclusive


def runs(filled: np.ndarray) -> list[Run]:
    """``(start, end)`` of each run of True in a 1-D mask, end exclusive."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(filled, dtype=np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def text_rows(ink: np.ndarray, min_height: int = 6, line_height: float | None = None) -> list[Run]:
    """Vertical extents ``(top, bottom)`` of the text rows in a block of ink, from its projection.

    A character with a gap across it (盒, 二, 吕) projects as two short runs; with ``line_height`` (the
    table's usual text height) runs whose union is no taller than 1.35 lines are one row again.
    """
    found = runs((ink > 0).any(axis=1))
    if line_height:
        merged: list[Run] = []
        for run in found:
            if merged and run[1] - merged[-1][0] <= 1.35 * line_height:
                merged[-1] = (merged[-1][0], run[1])
            else:
                merged.append(run)
        found = merged
    return [(top, bottom) for top, bottom in found if bottom - top >= min_height]
