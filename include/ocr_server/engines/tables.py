"""Table structure from ruled lines: OpenCV morphology -> grid -> merged cells (row/col spans).

Only the geometry lives here (pure NumPy/OpenCV, no OCR model), so grid building is tested on synthetic
masks. The engine reads each cell's text afterwards. Tables without ruling (whitespace-aligned columns) are
not detected: Baidu's table endpoints are also aimed at ruled forms.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .base import Box

#: A ruled line must be at least this long (px, and as a fraction of the image side) to count.
MIN_LINE_PX = 25
#: A border between two grid cells counts as drawn when ink covers this fraction of it.
BORDER_COVERAGE = 0.6


@dataclass(frozen=True)
class GridCell:
    row_start: int
    row_end: int  # exclusive
    col_start: int
    col_end: int  # exclusive
    box: Box


@dataclass
class TableGrid:
    box: Box
    xs: list[int]  # column boundaries, left to right
    ys: list[int]  # row boundaries, top to bottom
    cells: list[GridCell]


def ruled_line_masks(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binary masks of the horizontal and vertical ruled lines (255 = line)."""
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 12)
    height, width = gray.shape
    h_len = max(MIN_LINE_PX, width // 30)
    v_len = max(MIN_LINE_PX, height // 30)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    return horizontal, vertical


def line_positions(mask: np.ndarray, axis: int, min_run: int) -> list[int]:
    """Centres of the ruled lines in ``mask``: rows (axis=1) or columns (axis=0) with enough line pixels."""
    counts = (mask > 0).sum(axis=axis)
    hits = np.flatnonzero(counts >= min_run)
    if hits.size == 0:
        return []
    groups = np.split(hits, np.flatnonzero(np.diff(hits) > 2) + 1)
    return [int(round(g.mean())) for g in groups]


def merge_spans(open_right: np.ndarray, open_below: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Merge grid cells whose shared border is not drawn; return (row_start, row_end, col_start, col_end).

    ``open_right[r, c]`` says the border between (r, c) and (r, c+1) is missing, ``open_below[r, c]`` the
    border between (r, c) and (r+1, c). Merged regions are reported by their bounding rectangle.
    """
    n_rows, n_cols = open_right.shape[0], open_below.shape[1]
    parent = list(range(n_rows * n_cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(n_rows):
        for c in range(n_cols):
            if c + 1 < n_cols and open_right[r, c]:
                parent[find(r * n_cols + c)] = find(r * n_cols + c + 1)
            if r + 1 < n_rows and open_below[r, c]:
                parent[find(r * n_cols + c)] = find((r + 1) * n_cols + c)
    regions: dict[int, list[int]] = {}
    for i in range(n_rows * n_cols):
        r, c = divmod(i, n_cols)
        bounds = regions.setdefault(find(i), [r, r + 1, c, c + 1])
        bounds[0], bounds[1] = min(bounds[0], r), max(bounds[1], r + 1)
        bounds[2], bounds[3] = min(bounds[2], c), max(bounds[3], c + 1)
    return sorted((tuple(b) for b in regions.values()), key=lambda b: (b[0], b[2]))  # type: ignore[misc]


def _coverage(mask: np.ndarray) -> float:
    if mask.size == 0:
        return 0.0
    return float((mask.max(axis=0 if mask.shape[0] < mask.shape[1] else 1) > 0).mean())


def build_grid(horizontal: np.ndarray, vertical: np.ndarray, region: Box) -> TableGrid | None:
    """Grid and merged cells of one table region, from the ruled-line masks of the whole image."""
    x0, y0, w, h = region.left, region.top, region.width, region.height
    h_part = horizontal[y0 : y0 + h, x0 : x0 + w]
    v_part = vertical[y0 : y0 + h, x0 : x0 + w]
    ys = [y0 + y for y in line_positions(h_part, axis=1, min_run=MIN_LINE_PX)]
    xs = [x0 + x for x in line_positions(v_part, axis=0, min_run=MIN_LINE_PX)]
    if len(xs) < 2 or len(ys) < 2:
        return None
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    open_right = np.zeros((n_rows, n_cols), dtype=bool)
    open_below = np.zeros((n_rows, n_cols), dtype=bool)
    band = 3
    for r in range(n_rows):
        top, bottom = ys[r] + band + 1, ys[r + 1] - band
        for c in range(n_cols):
            left, right = xs[c] + band + 1, xs[c + 1] - band
            if c + 1 < n_cols:
                x = xs[c + 1]
                open_right[r, c] = _coverage(vertical[top:bottom, x - band : x + band + 1]) < BORDER_COVERAGE
            if r + 1 < n_rows:
                y = ys[r + 1]
                open_below[r, c] = (
                    _coverage(horizontal[y - band : y + band + 1, left:right]) < BORDER_COVERAGE
                )
    cells = [
        GridCell(r0, r1, c0, c1, Box(xs[c0], ys[r0], xs[c1] - xs[c0], ys[r1] - ys[r0]))
        for r0, r1, c0, c1 in merge_spans(open_right, open_below)
    ]
    return TableGrid(Box(xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0]), xs, ys, cells)


def find_tables(gray: np.ndarray) -> list[TableGrid]:
    """Every ruled table in a grayscale page, top to bottom."""
    horizontal, vertical = ruled_line_masks(gray)
    joined = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    grids = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w < 2 * MIN_LINE_PX or h < 2 * MIN_LINE_PX:
            continue
        grid = build_grid(horizontal, vertical, Box(x, y, w, h))
        if grid is not None and grid.cells and len(grid.xs) * len(grid.ys) >= 4:
            grids.append(grid)
    return sorted(grids, key=lambda g: (g.box.top, g.box.left))


def text_rows(cell_ink: np.ndarray, min_height: int = 6) -> list[tuple[int, int]]:
    """Vertical extents (top, bottom) of the text rows inside a cell, from its ink projection."""
    rows = (cell_ink > 0).sum(axis=1) > 0
    spans, start = [], None
    for y, filled in enumerate([*rows.tolist(), False]):
        if filled and start is None:
            start = y
        elif not filled and start is not None:
            if y - start >= min_height:
                spans.append((start, y))
            start = None
    return spans
