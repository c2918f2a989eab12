"""Table structure from ruled lines: OpenCV morphology -> grid -> merged cells (row/col spans).

Only the geometry lives here (pure NumPy/OpenCV, no OCR model), so grid building is tested on drawn pages.
The engine reads each cell's text afterwards, from a copy with the rules erased. Scan variation is handled
explicitly: the page is levelled first (skew <= 3°), padded so rules on the image edge are whole, a thick
or double rule is one band (runs closer than ``RULE_MERGE_GAP``), and a band counts as a rule only if it
crosses a whole cell (bold or blurred text leaves short runs). Tables ruled with horizontal lines only
(every row, or a 三线表) are found by ``open_tables``; tables with no ruling at all are not detected.
Faint and coloured rules (a #dcdcdc hairline, an invoice's brown, green or light blue grid) are found by
their contrast with the paper around them, in the luminance and in the darkest colour channel
(:func:`rule_ink`), not by one fixed grey threshold.

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
#: A faint rule is at least this many grey levels darker than the paper around it (on a clean page).
MIN_RULE_CONTRAST = 6
#: ... and darker than the paper by this many times the paper's noise (robust spread) on a noisy page.
NOISE_FACTOR = 4.0
#: Side (px) of the window the paper level is taken from: wider than the thickest rule.
PAPER_WINDOW = 15
#: Faint ink within this many px of ink ``FRINGE_RATIO`` times darker is its blurred fringe, not a stroke.
FRINGE_PX, FRINGE_RATIO = 2, 3
#: Faint ink within this many px of ink ``RING_RATIO`` times darker, in a colour page's darkest channel, is
#: JPEG's ringing beside a coloured rule.
RING_PX, RING_RATIO = 10, 6
#: A faint stroke is thin: this many px across it, on both sides, the page is at most half as dark.
THIN_PX = 3


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


def luminance(pixels: np.ndarray) -> np.ndarray:
    """The grey page of a grey or BGR page (text is read from it)."""
    return pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)


def ink_gray(pixels: np.ndarray) -> np.ndarray:
    """A grey page on which coloured ink is as dark as its darkest channel.

    A brown, green or light blue rule can be close to the paper in luminance while one of its channels is
    far darker (light blue #add8e6: luminance 205, red 173); black text and grey rules read the same.
    """
    if pixels.ndim == 2:
        return pixels
    blue, green, red = cv2.split(pixels)
    return cv2.min(cv2.min(blue, green), red)  # ~20x faster than pixels.min(axis=2)


def _percentile(values: np.ndarray, q: float, channel: int = 0) -> int:
    """``q``-th percentile of 8-bit values (of one channel), from their histogram (sorting costs ~10x more)."""
    cumulative = np.cumsum(cv2.calcHist([values], [channel], None, [256], [0, 256]).ravel())
    return int(np.searchsorted(cumulative, q / 100 * (cumulative[-1] - 1), side="right"))


def paper_level(pixels: np.ndarray) -> int | tuple[int, ...]:
    """The paper's grey level (or BGR colour): most of a page is paper."""
    if pixels.ndim == 2:
        return _percentile(pixels, 90)
    return tuple(_percentile(pixels, 90, c) for c in range(pixels.shape[2]))


def faint_ink(gray: np.ndarray, ring_px: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Thin strokes darker than the paper around them by more than the page's noise, however light: the
    ink of faint horizontal rules and that of faint vertical rules (255).

    The paper level is a morphological closing (thin dark strokes removed), not a window mean: beside a
    title or a cell's text the mean is darker than a faint rule, which was lost. The threshold is
    :data:`MIN_RULE_CONTRAST` on a clean page and rises with the noise measured on the paper. Blurred text
    is faint at its fringe and would give rule-long runs along a word, so a faint pixel counts only when
    nothing within :data:`FRINGE_PX` is :data:`FRINGE_RATIO` times darker (the fringe of dark ink), and only
    as a thin stroke: at :data:`THIN_PX` across it, on both sides, the page is at most half as dark.
    ``ring_px``: also drop what is :data:`RING_RATIO` times lighter than ink that close (JPEG ringing).
    """
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (PAPER_WINDOW, PAPER_WINDOW))
    darkness = cv2.subtract(cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, kernel), smooth)
    median = _percentile(darkness, 50)
    spread = 1.4826 * _percentile(cv2.absdiff(darkness, median), 50)
    threshold = max(MIN_RULE_CONTRAST, median + NOISE_FACTOR * spread)
    faint = cv2.compare(darkness, threshold, cv2.CMP_GT)
    nearby = cv2.dilate(darkness, np.ones((2 * FRINGE_PX + 1, 2 * FRINGE_PX + 1), np.uint8))
    faint &= cv2.compare(cv2.multiply(darkness, FRINGE_RATIO), nearby, cv2.CMP_GE)  # saturating: still right
    if ring_px:
        around = cv2.dilate(darkness, np.ones((2 * ring_px + 1, 2 * ring_px + 1), np.uint8))
        faint &= cv2.compare(cv2.multiply(darkness, RING_RATIO), around, cv2.CMP_GE)
    sides = np.zeros((2 * THIN_PX + 1, 1), np.uint8)
    sides[0] = sides[-1] = 1
    above_below = cv2.dilate(darkness, sides)  # the darker of the pixels THIN_PX above and below
    left_right = cv2.dilate(darkness, sides.T)
    horizontal = faint & cv2.compare(darkness, cv2.multiply(above_below, 2), cv2.CMP_GE)
    vertical = faint & cv2.compare(darkness, cv2.multiply(left_right, 2), cv2.CMP_GE)
    return horizontal, vertical


def rule_ink(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink the rule finder looks at for horizontal and for vertical rules (255): dark ink in the darkest
    channel (:func:`ink_gray`: coloured rules), and faint thin strokes (:func:`faint_ink`) in the luminance
    and, on a colour page, in the darkest channel (pale coloured rules) away from JPEG's colour ringing:
    JPEG keeps colour at half resolution and coarsely, so a ghost rings a few px beside a coloured rule."""
    darkest = ink_gray(pixels)
    dark = ink_mask(darkest)
    horizontal, vertical = faint_ink(luminance(pixels))
    if pixels.ndim == 3:
        colour_h, colour_v = faint_ink(darkest, ring_px=RING_PX)
        horizontal, vertical = horizontal | colour_h, vertical | colour_v
    return dark | horizontal, dark | vertical


def ruled_line_masks(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binary masks of the horizontal and vertical ruled lines (255 = line) of a grey or BGR page."""
    ink_h, ink_v = rule_ink(pixels)
    height, width = pixels.shape[:2]
    h_len = max(MIN_LINE_PX, width // 30)
    v_len = max(MIN_LINE_PX, height // 30)
    horizontal = cv2.morphologyEx(
        ink_h, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1))
    )
    vertical = cv2.morphologyEx(ink_v, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
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


def padded_line_masks(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ruled_line_masks` computed with a paper margin, so rules on the image edge are found too."""
    pad = EDGE_PAD
    padded = cv2.copyMakeBorder(pixels, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper_level(pixels))
    horizontal, vertical = ruled_line_masks(padded)
    return horizontal[pad:-pad, pad:-pad], vertical[pad:-pad, pad:-pad]


def find_tables_in_scan(pixels: np.ndarray) -> tuple[Straightened, list[TableGrid]]:
    """Level a scanned page and find its tables; grid boxes are on the levelled page (``to_sent`` maps back).

    ``pixels`` is grey or BGR (BGR finds coloured rules better: see :func:`rule_ink`); the levelled page
    keeps its channels.
    """
    angle = skew_angle(luminance(pixels))
    page = straighten(pixels, angle if abs(angle) >= MIN_SKEW else 0.0, paper=paper_level(pixels))
    return page, find_tables(page.pixels)


def find_tables(pixels: np.ndarray) -> list[TableGrid]:
    """Every ruled table in a (level) grey or BGR page, top to bottom: grids, then open tables (rows ruled,
    no vertical rules; see ``open_tables``)."""
    horizontal, vertical = padded_line_masks(pixels)
    grids = grids_from_masks(horizontal, vertical)
    rules = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((5, 5), np.uint8))
    text = cv2.bitwise_and(text_ink(luminance(pixels)), cv2.bitwise_not(rules))
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


def erase_rules(pixels: np.ndarray, grids: list[TableGrid]) -> np.ndarray:
    """A grey copy of the (grey or BGR) page with the grids' ruled lines painted as paper, so cell crops
    hold only text.

    Only line pixels on a drawn border are erased: a long stroke of a character elsewhere stays, also in a
    merged cell whose text sits where the border it spans over would run (blurred text gives such runs).
    """
    horizontal, vertical = padded_line_masks(pixels)
    gray = luminance(pixels)
    lines = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((5, 5), np.uint8))
    bands = np.zeros_like(lines)
    for grid in grids:
        for top, bottom, left, right in _drawn_borders(grid):
            bands[max(0, top) : bottom, max(0, left) : right] = 255
    clean = gray.copy()
    clean[(lines > 0) & (bands > 0)] = paper_level(gray)
    return clean


def _drawn_borders(grid: TableGrid) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right), ends exclusive, of the grid's outer rules (with a margin for a double
    rule outside them) and of every inner border segment between two different cells."""
    b = grid.box
    left, right = b.left - 8, b.left + b.width + 9
    top, bottom = b.top - 8, b.top + b.height + 9
    xb, yb = grid.x_bands, grid.y_bands
    spans = [(yb[0], left, right), (yb[-1], left, right)]
    walls = [(xb[0], top, bottom), (xb[-1], top, bottom)]
    owner = np.full((len(yb) - 1, len(xb) - 1), -1)
    for i, cell in enumerate(grid.cells):
        owner[cell.row_start : cell.row_end, cell.col_start : cell.col_end] = i
    for r in range(1, len(yb) - 1):
        for c in range(len(xb) - 1):
            if owner[r - 1, c] != owner[r, c] or owner[r, c] < 0:
                spans.append((yb[r], xb[c][0] - 4, xb[c + 1][1] + 5))
    for c in range(1, len(xb) - 1):
        for r in range(len(yb) - 1):
            if owner[r, c - 1] != owner[r, c] or owner[r, c] < 0:
                walls.append((xb[c], yb[r][0] - 4, yb[r + 1][1] + 5))
    return [(lo - 4, hi + 5, x0, x1) for (lo, hi), x0, x1 in spans] + [
        (y0, y1, lo - 4, hi + 5) for (lo, hi), y0, y1 in walls
    ]


def text_ink(gray: np.ndarray, min_area: int = 5) -> np.ndarray:
    """Ink of a page whose rules are erased, without specks of noise smaller than ``min_area`` pixels."""
    ink = ink_mask(gray)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros(count, dtype=np.uint8)
    keep[1:][stats[1:, cv2.CC_STAT_AREA] >= min_area] = 255
    return keep[labels]
