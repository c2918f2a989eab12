"""Table structure from ruled lines: OpenCV morphology -> grid -> merged cells (row/col spans).

Only the geometry lives here (pure NumPy/OpenCV, no OCR model), so grid building is tested on drawn pages.
The engine reads each cell's text afterwards, from a copy with the rules erased. Scan variation is handled
explicitly: the page is levelled first (skew <= 3°), padded so rules on the image edge are whole, a thick
or double rule is one band (runs closer than ``RULE_MERGE_GAP``), and a band counts as a rule only if it
crosses a whole cell (bold or blurred text leaves short runs). Tables ruled with horizontal lines only
(every row, or a 三线表) are found by ``open_tables``; tables with no ruling at all are not detected.

Why not ``img2table``: it requires ``opencv-contrib-python`` (it calls ``cv2.ximgproc``), which cannot live
beside the ``opencv-python-headless`` that rapidocr uses (both install the ``cv2`` package), and in a trial
on the validation set it found no table on 2 of the 8 skewed/JPEG scans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .base import Box
from .open_tables import OpenTable, find_open_tables

#: A ruled line must be at least this long (px, and as a fraction of the image side) to count.
MIN_LINE_PX = 25
#: A border between two grid cells counts as drawn when ink covers this fraction of it.
BORDER_COVERAGE = 0.6
#: Rules closer than this (px of paper between them) are one rule: a thick rule's two edges, a double rule.
RULE_MERGE_GAP = 6
#: White margin added around the page, so rules on the image edge are whole lines for the morphology.
EDGE_PAD = 12
#: Skew search range (degrees) and step; scans are rarely off by more than a couple of degrees.
MAX_SKEW, SKEW_STEP = 3.0, 0.1
#: Below this skew (degrees) the page is used as sent: turning costs a resampling blur for no gain.
MIN_SKEW = 0.2


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
    x_bands: list[tuple[int, int]] = field(default_factory=list)  # ink extent (first, last px) of each rule
    y_bands: list[tuple[int, int]] = field(default_factory=list)


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Dark-on-paper ink (255), tolerant of grey rules, noise and uneven paper."""
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    return cv2.adaptiveThreshold(smooth, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 12)


def ruled_line_masks(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binary masks of the horizontal and vertical ruled lines (255 = line)."""
    ink = ink_mask(gray)
    height, width = gray.shape
    h_len = max(MIN_LINE_PX, width // 30)
    v_len = max(MIN_LINE_PX, height // 30)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    return horizontal, vertical


def rule_bands(mask: np.ndarray, axis: int, min_run: int) -> list[tuple[int, int]]:
    """Extent (first, last) of each ruled line in ``mask``: rows (axis=1) or columns (axis=0) with enough
    line pixels, where runs less than :data:`RULE_MERGE_GAP` apart are one rule (thick or double)."""
    counts = (mask > 0).sum(axis=axis)
    hits = np.flatnonzero(counts >= min_run)
    if hits.size == 0:
        return []
    groups = np.split(hits, np.flatnonzero(np.diff(hits) > RULE_MERGE_GAP) + 1)
    return [(int(g[0]), int(g[-1])) for g in groups]


def line_positions(mask: np.ndarray, axis: int, min_run: int) -> list[int]:
    """Centres of the ruled lines in ``mask`` (see :func:`rule_bands`)."""
    return [(lo + hi + 1) // 2 for lo, hi in rule_bands(mask, axis, min_run)]


def skew_angle(gray: np.ndarray) -> float:
    """Degrees to turn the page counter-clockwise so its rules and text rows are level.

    Picks the angle whose row projection of the ink is sharpest (largest sum of squares): level rules and
    text rows pile their ink into few rows. Searched on a reduced copy, coarse then fine.
    """
    ink = ink_mask(gray)
    scale = min(1.0, 800 / max(ink.shape))
    small = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else ink
    h, w = small.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        turned = cv2.warpAffine(small, cv2.getRotationMatrix2D(centre, angle, 1.0), (w, h))
        rows = turned.sum(axis=1, dtype=np.float64)
        return float((rows * rows).sum())

    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 1e-6, 0.5), key=sharpness)
    fine = max(np.arange(coarse - 0.4, coarse + 0.4 + 1e-6, SKEW_STEP), key=sharpness)
    return round(float(fine), 2)


@dataclass
class Straightened:
    """A page turned level and padded, with the affine map from the sent image into it."""

    pixels: np.ndarray
    matrix: np.ndarray  # 2 x 3, sent image -> straightened page

    def to_sent(self, box: Box) -> Box:
        """Bounding box, in the sent image, of a box on the straightened page."""
        inverse = cv2.invertAffineTransform(self.matrix)
        x0, y0, x1, y1 = box.left, box.top, box.left + box.width, box.top + box.height
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], dtype=np.float64) @ inverse.T
        (x0, y0), (x1, y1) = np.floor(corners.min(axis=0)), np.ceil(corners.max(axis=0))
        return Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def straighten(pixels: np.ndarray, angle: float, paper: int | tuple = 255) -> Straightened:
    """Pad by :data:`EDGE_PAD` (plus what the turn needs) and turn by ``angle`` degrees counter-clockwise."""
    h, w = pixels.shape[:2]
    extra = int(np.ceil(max(h, w) * abs(np.sin(np.radians(angle))) / 2)) + EDGE_PAD
    size = (w + 2 * extra, h + 2 * extra)
    matrix = cv2.getRotationMatrix2D((w / 2 + extra, h / 2 + extra), angle, 1.0)
    matrix[:, 2] += matrix[:, :2] @ np.array([extra, extra], dtype=np.float64)
    turned = cv2.warpAffine(pixels, matrix, size, flags=cv2.INTER_LINEAR, borderValue=paper)
    return Straightened(turned, matrix)


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


def _crossing(
    mask: np.ndarray, bands: list[tuple[int, int]], across: list[tuple[int, int]], axis: int
) -> list[tuple[int, int]]:
    """The ``bands`` (rules along ``axis``: 1 horizontal, 0 vertical) whose line fills the gap between
    two neighbouring rules of ``across`` almost entirely."""
    kept = []
    for lo, hi in bands:
        strip = mask[lo : hi + 1, :] if axis == 1 else mask[:, lo : hi + 1]
        filled = (strip > 0).any(axis=0 if axis == 1 else 1)
        for (_, a), (b, _) in zip(across, across[1:], strict=False):
            gap = filled[a + 3 : b - 2]
            if gap.size and gap.mean() >= 0.9:
                kept.append((lo, hi))
                break
    return kept


def build_grid(horizontal: np.ndarray, vertical: np.ndarray, region: Box) -> TableGrid | None:
    """Grid and merged cells of one table region, from the ruled-line masks of the whole image."""
    x0, y0, w, h = region.left, region.top, region.width, region.height
    h_part = horizontal[y0 : y0 + h, x0 : x0 + w]
    v_part = vertical[y0 : y0 + h, x0 : x0 + w]
    y_bands = [(y0 + lo, y0 + hi) for lo, hi in rule_bands(h_part, axis=1, min_run=MIN_LINE_PX)]
    x_bands = [(x0 + lo, x0 + hi) for lo, hi in rule_bands(v_part, axis=0, min_run=MIN_LINE_PX)]
    # Keep only rules that cross at least one whole cell: bold or blurred text also leaves short runs.
    x_bands = _crossing(vertical, x_bands, y_bands, axis=0)
    y_bands = _crossing(horizontal, y_bands, x_bands, axis=1)
    x_bands = _crossing(vertical, x_bands, y_bands, axis=0)
    if len(x_bands) < 2 or len(y_bands) < 2:
        return None
    ys = [(lo + hi + 1) // 2 for lo, hi in y_bands]
    xs = [(lo + hi + 1) // 2 for lo, hi in x_bands]
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    open_right = np.zeros((n_rows, n_cols), dtype=bool)
    open_below = np.zeros((n_rows, n_cols), dtype=bool)
    for r in range(n_rows):
        top, bottom = y_bands[r][1] + 3, y_bands[r + 1][0] - 2
        for c in range(n_cols):
            left, right = x_bands[c][1] + 3, x_bands[c + 1][0] - 2
            if c + 1 < n_cols:
                lo, hi = x_bands[c + 1]
                open_right[r, c] = _coverage(vertical[top:bottom, lo - 2 : hi + 3]) < BORDER_COVERAGE
            if r + 1 < n_rows:
                lo, hi = y_bands[r + 1]
                open_below[r, c] = _coverage(horizontal[lo - 2 : hi + 3, left:right]) < BORDER_COVERAGE
    cells = [
        GridCell(r0, r1, c0, c1, Box(xs[c0], ys[r0], xs[c1] - xs[c0], ys[r1] - ys[r0]))
        for r0, r1, c0, c1 in merge_spans(open_right, open_below)
    ]
    box = Box(xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0])
    return TableGrid(box, xs, ys, cells, x_bands, y_bands)


def padded_line_masks(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ruled_line_masks` computed with a paper margin, so rules on the image edge are found too."""
    paper = int(np.percentile(gray, 90))
    pad = EDGE_PAD
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper)
    horizontal, vertical = ruled_line_masks(padded)
    return horizontal[pad:-pad, pad:-pad], vertical[pad:-pad, pad:-pad]


def find_tables_in_scan(gray: np.ndarray) -> tuple[Straightened, list[TableGrid]]:
    """Level a scanned page and find its tables; grid boxes are on the levelled page (``to_sent`` maps back)."""
    angle = skew_angle(gray)
    page = straighten(gray, angle if abs(angle) >= MIN_SKEW else 0.0, paper=int(np.percentile(gray, 90)))
    return page, find_tables(page.pixels)


def find_tables(gray: np.ndarray) -> list[TableGrid]:
    """Every ruled table in a (level) grayscale page, top to bottom: grids, then open tables (rows ruled,
    no vertical rules; see ``open_tables``)."""
    horizontal, vertical = padded_line_masks(gray)
    grids = grids_from_masks(horizontal, vertical)
    rules = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((5, 5), np.uint8))
    text = cv2.bitwise_and(text_ink(gray), cv2.bitwise_not(rules))
    taken = [(g.box.left, g.box.top, g.box.left + g.box.width, g.box.top + g.box.height) for g in grids]
    grids += [open_grid(t) for t in find_open_tables(horizontal, vertical, text, RULE_MERGE_GAP, taken)]
    return sorted(grids, key=lambda g: (g.box.top, g.box.left))


def open_grid(table: OpenTable) -> TableGrid:
    """The grid of an open table: one cell per row and column (no border to leave out, so no spans)."""
    xs = [(lo + hi + 1) // 2 for lo, hi in table.x_bands]
    ys = [(lo + hi + 1) // 2 for lo, hi in table.y_bands]
    cells = [
        GridCell(r, r + 1, c, c + 1, Box(xs[c], ys[r], xs[c + 1] - xs[c], ys[r + 1] - ys[r]))
        for r in range(len(ys) - 1)
        for c in range(len(xs) - 1)
    ]
    box = Box(xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0])
    return TableGrid(box, xs, ys, cells, table.x_bands, table.y_bands)


def grids_from_masks(horizontal: np.ndarray, vertical: np.ndarray) -> list[TableGrid]:
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


def erase_rules(gray: np.ndarray, grids: list[TableGrid]) -> np.ndarray:
    """A copy of ``gray`` with the grids' ruled lines painted as paper, so cell crops hold only text.

    Only line pixels inside each rule's band are erased: a long stroke of a character elsewhere stays.
    """
    horizontal, vertical = padded_line_masks(gray)
    lines = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((5, 5), np.uint8))
    bands = np.zeros_like(lines)
    for grid in grids:
        b = grid.box
        left, right = b.left - 8, b.left + b.width + 9
        top, bottom = b.top - 8, b.top + b.height + 9
        for lo, hi in grid.y_bands:
            bands[max(0, lo - 4) : hi + 5, max(0, left) : right] = 255
        for lo, hi in grid.x_bands:
            bands[max(0, top) : bottom, max(0, lo - 4) : hi + 5] = 255
    clean = gray.copy()
    clean[(lines > 0) & (bands > 0)] = int(np.percentile(gray, 90))
    return clean


def text_ink(gray: np.ndarray, min_area: int = 5) -> np.ndarray:
    """Ink of a page whose rules are erased, without specks of noise smaller than ``min_area`` pixels."""
    ink = ink_mask(gray)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros(count, dtype=np.uint8)
    keep[1:][stats[1:, cv2.CC_STAT_AREA] >= min_area] = 255
    return keep[labels]
