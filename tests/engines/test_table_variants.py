"""The ruled-grid finder on drawn tables with the variation real scans have (no model, milliseconds each).

Every page is the same 4 x 3 table with one merged header cell, drawn with one variation or fault; the
grid found must be exactly the drawn one. These are the cases that broke on unseen scans (thick rules seen
as two lines, tables at the image edge) and the classes of the held-out validation set.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from baidu_ocr_server.engines.tables import find_tables_in_scan, skew_angle

XS = [0, 180, 320, 460, 600]  # column boundaries, relative to the table's left edge
#: The header cell over columns 1-2 has no border between them: one span (0, 1, 1, 3).
WANT = {(0, 1, 0, 1), (0, 1, 1, 3), (0, 1, 3, 4)} | {(r, r + 1, c, c + 1) for r in (1, 2) for c in range(4)}


def draw_table(
    *,
    width: int = 2,
    color: int = 30,
    double: bool = False,
    left: int = 60,
    top: int = 60,
    text: bool = True,
    row_h: int = 50,
    pad: int = 12,
    title_footer: bool = False,
) -> np.ndarray:
    """``pad``: px of paper between a cell's left rule and its text, and between its text and the rule below."""
    xs, ys = [left + x for x in XS], [top + r * row_h for r in range(4)]
    page = np.full((ys[-1] + 80, xs[-1] + 80), 255, np.uint8)
    for i, y in enumerate(ys):
        cv2.line(page, (xs[0], y), (xs[-1], y), color, width)
        if double and i in (0, 1, len(ys) - 1):
            offset = width + 3 if i else -(width + 3)
            cv2.line(page, (xs[0], y + offset), (xs[-1], y + offset), color, width)
    for i, x in enumerate(xs):
        if i == 2:  # the merged header cell: no rule between columns 1 and 2 in row 0
            cv2.line(page, (x, ys[1]), (x, ys[-1]), color, width)
        else:
            cv2.line(page, (x, ys[0]), (x, ys[-1]), color, width)
        if double and i in (0, len(xs) - 1):
            offset = -(width + 3) if i == 0 else width + 3
            cv2.line(page, (x + offset, ys[0]), (x + offset, ys[-1]), color, width)
    if text:  # bold cell text with long strokes: must not be taken for rules
        for r in range(3):
            for c in range(4):
                cv2.putText(
                    page, "TOTAL--", (xs[c] + pad, ys[r + 1] - pad - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2
                )
    if title_footer:  # a bold title just above the table; a footer with an underlined signature field below
        cv2.putText(page, "SALES LIST 2024", (xs[0], ys[0] - 14), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 0, 3)
        cv2.putText(page, "Signed:", (xs[0], ys[-1] + 42), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
        cv2.line(page, (xs[0] + 110, ys[-1] + 46), (xs[0] + 400, ys[-1] + 46), 30, 2)
    return page[max(0, top - 60) :, max(0, left - 60) :] if left < 60 or top < 60 else page


def rotate(page: np.ndarray, degrees: float) -> np.ndarray:
    h, w = page.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def jpeg(page: np.ndarray, quality: int = 60) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def noisy(page: np.ndarray, sigma: float = 12) -> np.ndarray:
    noise = np.random.default_rng(7).normal(0, sigma, page.shape)
    return np.clip(page + noise, 0, 255).astype(np.uint8)


def grid_spans(page: np.ndarray) -> set[tuple[int, int, int, int]]:
    _, grids = find_tables_in_scan(page)
    assert len(grids) == 1
    return {(c.row_start, c.row_end, c.col_start, c.col_end) for c in grids[0].cells}


VARIANTS = {
    "width_1px": lambda: draw_table(width=1),
    "width_3px": lambda: draw_table(width=3),
    "width_4px": lambda: draw_table(width=4),
    "double_rules": lambda: draw_table(double=True),
    "grey_rules": lambda: draw_table(color=160),
    "grey_antialiased": lambda: cv2.GaussianBlur(draw_table(color=140, width=1), (3, 3), 0.8),
    "touching_top_left_edges": lambda: draw_table(width=3, left=1, top=1),
    "close_to_top_no_title": lambda: draw_table(width=3, top=4),
    "title_and_underlined_footer": lambda: draw_table(title_footer=True),
    "tight_padding": lambda: draw_table(row_h=34, pad=3),
    "loose_padding": lambda: draw_table(row_h=120, pad=40),
    "rotated_plus_2deg": lambda: rotate(draw_table(), 2.0),
    "rotated_minus_1_5deg_width_1px": lambda: rotate(draw_table(width=1), -1.5),
    "jpeg_q60": lambda: jpeg(draw_table(width=1, color=90)),
    "blurred": lambda: cv2.GaussianBlur(draw_table(width=2), (0, 0), 1.4),
    "noisy": lambda: noisy(draw_table(width=2, color=120)),
    "everything": lambda: jpeg(
        noisy(cv2.GaussianBlur(rotate(draw_table(width=4, double=True), -2), (0, 0), 1))
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_grid_with_merged_header_is_found_exactly(variant):
    assert grid_spans(VARIANTS[variant]()) == WANT


def test_thick_and_double_rules_are_one_boundary_each():
    for page in (draw_table(width=4), draw_table(double=True)):
        _, (grid,) = find_tables_in_scan(page)
        assert len(grid.xs) == 5 and len(grid.ys) == 4


@pytest.mark.parametrize("degrees", [-2.0, -0.7, 1.2])
def test_skew_is_measured_to_a_tenth_of_a_degree(degrees):
    # Turning by +d (counter-clockwise) is undone by turning by -d.
    assert skew_angle(rotate(draw_table(), degrees)) == pytest.approx(-degrees, abs=0.15)


def test_cell_boxes_are_mapped_back_to_the_skewed_image():
    page = rotate(draw_table(), 1.5)
    straightened, (grid,) = find_tables_in_scan(page)
    box = straightened.to_sent(grid.box)
    # The drawn table spans x 60..660, y 60..210 before the turn; its turned bounding box is a little larger.
    assert 45 <= box.left <= 62 and 45 <= box.top <= 62
    assert 600 <= box.width <= 620 and 150 <= box.height <= 175


def draw_open_table(*, every_row: bool, width: int = 2, color: int = 30) -> np.ndarray:
    """4 x 4 cells with horizontal rules only: under every row, or a 三线表 (above and below the header, and
    at the bottom); a title above and a footer below, which are not rows."""
    xs, ys = [60 + x for x in XS], [80 + 44 * r for r in range(5)]
    page = np.full((ys[-1] + 90, xs[-1] + 60), 255, np.uint8)
    cv2.putText(page, "STOCK 2024", (xs[0], 50), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    for r, y in enumerate(ys):
        if every_row or r in (0, 1, len(ys) - 1):
            cv2.line(page, (xs[0], y), (xs[-1], y), color, width)
    for r in range(4):
        for c in range(4):
            label = f"ITEM {r}{c}" if c == 0 else str(100 * r + 7 * c)
            cv2.putText(page, label, (xs[c] + 14, ys[r + 1] - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    cv2.putText(page, "Total: 4 items", (xs[0], ys[-1] + 50), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    return page


OPEN_WANT = {(r, r + 1, c, c + 1) for r in range(4) for c in range(4)}
OPEN_VARIANTS = {
    "every_row_ruled": lambda: draw_open_table(every_row=True),
    "three_rules": lambda: draw_open_table(every_row=False),
    "three_rules_thick_grey": lambda: draw_open_table(every_row=False, width=4, color=140),
    "every_row_skewed_jpeg_noisy": lambda: jpeg(noisy(rotate(draw_open_table(every_row=True), 1.5))),
    "three_rules_blurred": lambda: cv2.GaussianBlur(draw_open_table(every_row=False), (0, 0), 1.2),
}


@pytest.mark.parametrize("variant", OPEN_VARIANTS)
def test_table_with_horizontal_rules_only_gets_its_columns_from_the_gaps(variant):
    assert grid_spans(OPEN_VARIANTS[variant]()) == OPEN_WANT


def test_aligned_underlines_of_a_one_column_form_are_no_table():
    page = np.full((300, 700), 255, np.uint8)
    for i, label in enumerate(["Name", "Address", "Phone"]):
        cv2.putText(page, label, (40, 60 + 70 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
        cv2.line(page, (40, 70 + 70 * i), (600, 70 + 70 * i), 0, 2)

    assert find_tables_in_scan(page)[1] == []
