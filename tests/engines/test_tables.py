"""Ruled-table geometry: grid lines, merged cells and text rows, on drawn images (no model)."""

from __future__ import annotations

import cv2
import numpy as np
from baidu_ocr_server.engines.ink import text_rows
from baidu_ocr_server.engines.tables import find_tables, merge_spans


def ruled_page(
    xs: list[int], ys: list[int], missing: list[tuple[tuple[int, int], tuple[int, int]]]
) -> np.ndarray:
    """A white page with a full grid, minus the border segments listed in ``missing`` (merged cells)."""
    page = np.full((ys[-1] + 60, xs[-1] + 60), 255, np.uint8)
    for y in ys:
        cv2.line(page, (xs[0], y), (xs[-1], y), 0, 2)
    for x in xs:
        cv2.line(page, (x, ys[0]), (x, ys[-1]), 0, 2)
    for (x0, y0), (x1, y1) in missing:
        cv2.line(page, (x0, y0), (x1, y1), 255, 4)
    return page


def spans(page: np.ndarray) -> set[tuple[int, int, int, int]]:
    (grid,) = find_tables(page)
    return {(c.row_start, c.row_end, c.col_start, c.col_end) for c in grid.cells}


def test_plain_grid_gives_one_cell_per_row_and_column():
    page = ruled_page([40, 200, 320, 480], [50, 100, 150], [])

    (grid,) = find_tables(page)

    assert len(grid.xs) == 4 and len(grid.ys) == 3
    assert spans(page) == {(r, r + 1, c, c + 1) for r in range(2) for c in range(3)}
    first = next(c for c in grid.cells if (c.row_start, c.col_start) == (0, 0))
    assert abs(first.box.left - 40) <= 1 and abs(first.box.width - 160) <= 2


def test_missing_borders_become_row_and_column_spans():
    xs, ys = [40, 200, 320, 480], [50, 100, 150, 200]
    page = ruled_page(
        xs,
        ys,
        missing=[
            ((200, 54), (200, 96)),  # no border between (0,0) and (0,1): col span 2
            ((44, 150), (196, 150)),  # no border between (1,0) and (2,0): row span 2
        ],
    )

    assert spans(page) == {
        (0, 1, 0, 2),
        (0, 1, 2, 3),
        (1, 3, 0, 1),
        (1, 2, 1, 2),
        (1, 2, 2, 3),
        (2, 3, 1, 2),
        (2, 3, 2, 3),
    }


def test_page_without_ruling_has_no_table():
    page = np.full((300, 400), 255, np.uint8)
    cv2.putText(page, "no table here", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 1, 0, 2)

    assert find_tables(page) == []


def test_merge_spans_joins_a_block_with_no_inner_borders():
    # 2 x 3 grid: the left 2 x 2 block has no inner borders, the right column is two plain cells.
    open_right = np.array([[True, False, False], [True, False, False]])
    open_below = np.array([[True, True, False], [False, False, False]])

    assert merge_spans(open_right, open_below) == [(0, 2, 0, 2), (0, 1, 2, 3), (1, 2, 2, 3)]


def test_text_rows_splits_a_two_line_cell_and_ignores_specks():
    ink = np.zeros((80, 100), np.uint8)
    ink[5:25, 10:90] = 255
    ink[40:60, 10:50] = 255
    ink[70:72, 10:12] = 255  # dust, too thin to be text

    assert text_rows(ink) == [(5, 25), (40, 60)]


def test_text_rows_rejoins_a_glyph_split_by_a_horizontal_gap():
    # 盒 projects as 合 (rows 10-22) and 皿 (rows 24-32): one 22 px row, not two, when lines are ~22 px tall.
    ink = np.zeros((80, 100), np.uint8)
    ink[10:22, 10:30] = 255
    ink[24:32, 10:30] = 255
    ink[50:72, 10:60] = 255  # a genuine second text row

    assert text_rows(ink) == [(10, 22), (24, 32), (50, 72)]
    assert text_rows(ink, line_height=22) == [(10, 32), (50, 72)]
