"""Tables ruled with horizontal lines only (every row ruled, or the three rules of a 三线表).

No vertical rule says where a column ends, so columns are the paper between text that runs from the first
rule to the last: a gap wider than a text row is tall (a word space is far narrower) that no row's text
crosses. Rows are the spaces between rules; a space holding several text rows is cut into rows when each
of them has text in two columns or more (a 三线表 body), and kept whole when not (a cell's wrapped line).
Only the bands are found here; ``tables`` turns them into a grid of single cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .ink import runs, text_rows

#: The fewest horizontal rules an open table has (a 三线表: above the header, below it, at the bottom).
MIN_RULES = 3
#: Rules of one table start and end within this many px of each other (or this fraction of their length).
END_TOLERANCE_PX, END_TOLERANCE = 12, 0.03
#: A rule is at least this fraction of the page width: shorter strokes are underlines or text.
MIN_RULE_FRACTION = 0.25

Band = tuple[int, int]
Rect = tuple[int, int, int, int]


@dataclass
class OpenTable:
    x_bands: list[Band]  # the table's ends and the middle of each gap between columns
    y_bands: list[Band]  # the rules, and the middle of the gap between body rows of one space


@dataclass
class _Rule:
    top: int
    bottom: int
    left: int
    right: int


def _rules(horizontal: np.ndarray, merge_gap: int) -> list[_Rule]:
    """Long horizontal strokes, top to bottom; two closer than ``merge_gap`` with the same ends are one."""
    min_len = max(60, int(horizontal.shape[1] * MIN_RULE_FRACTION))
    count, _, stats, _ = cv2.connectedComponentsWithStats(horizontal, connectivity=8)
    found = sorted(
        (
            _Rule(int(y), int(y + h - 1), int(x), int(x + w - 1))
            for x, y, w, h, _area in stats[1:count]
            if w >= min_len
        ),
        key=lambda r: r.top,
    )
    merged: list[_Rule] = []
    for rule in found:
        last = merged[-1] if merged else None
        if last and rule.top - last.bottom <= merge_gap and _same_ends(last, rule):
            last.bottom = max(last.bottom, rule.bottom)
        else:
            merged.append(rule)
    return merged


def _within(rule: _Rule, rect: Rect, margin: int = 8) -> bool:
    left, top, right, bottom = rect
    return (
        left - margin <= rule.left
        and rule.right <= right + margin
        and top - margin <= rule.top <= bottom + margin
    )


def _same_ends(a: _Rule, b: _Rule) -> bool:
    tolerance = max(END_TOLERANCE_PX, END_TOLERANCE * (a.right - a.left))
    return abs(a.left - b.left) <= tolerance and abs(a.right - b.right) <= tolerance


def _stacks(rules: list[_Rule]) -> list[list[_Rule]]:
    """Rules grouped by common ends, each group top to bottom."""
    stacks: list[list[_Rule]] = []
    for rule in rules:
        stack = next((s for s in stacks if _same_ends(s[0], rule)), None)
        if stack is None:
            stacks.append([rule])
        else:
            stack.append(rule)
    return [s for s in stacks if len(s) >= MIN_RULES]


def _column_gaps(text: np.ndarray, min_gap: int) -> list[int]:
    """x (within ``text``) of the middle of each paper gap at least ``min_gap`` wide between inked columns."""
    inked = runs(text.any(axis=0))
    return [(a[1] + b[0]) // 2 for a, b in zip(inked, inked[1:], strict=False) if b[0] - a[1] >= min_gap]


def _body_splits(text: np.ndarray, gaps: list[int], line_height: int) -> list[int]:
    """y (within ``text``) where a space between two rules is cut into body rows, or none."""
    rows = text_rows(text, min_height=line_height // 2, line_height=line_height)
    if len(rows) < 2:
        return []
    edges = [0, *gaps, text.shape[1]]
    for top, bottom in rows:
        band = text[top:bottom]
        columns = sum(band[:, a:b].any() for a, b in zip(edges, edges[1:], strict=False))
        if columns < 2:
            return []
    return [(a[1] + b[0]) // 2 for a, b in zip(rows, rows[1:], strict=False)]


def find_open_tables(
    horizontal: np.ndarray, vertical: np.ndarray, text: np.ndarray, merge_gap: int, taken: list[Rect]
) -> list[OpenTable]:
    """Open tables of a level page: ``horizontal``/``vertical`` are its rule masks, ``text`` its ink without
    rules, ``taken`` the (left, top, right, bottom) of the ruled grids already found, whose rules are theirs.
    A stack crossed by a vertical rule is a ruled grid the grid finder did not accept: not an open table."""
    rules = [r for r in _rules(horizontal, merge_gap) if not any(_within(r, rect) for rect in taken)]
    tables = []
    for stack in _stacks(rules):
        left, right = min(r.left for r in stack), max(r.right for r in stack)
        top, bottom = stack[0].bottom + 1, stack[-1].top
        if vertical[top:bottom, left : right + 1].any():
            continue
        inside = text[top:bottom, left : right + 1]
        heights = [b - a for a, b in runs(inside.any(axis=1)) if b - a >= 6]
        if not heights:
            continue
        line_height = int(np.median(heights))
        gaps = _column_gaps(inside, min_gap=max(10, line_height))
        if not gaps:
            continue
        y_bands: list[Band] = [(stack[0].top, stack[0].bottom)]
        for upper, lower in zip(stack, stack[1:], strict=False):
            space = text[upper.bottom + 1 : lower.top, left : right + 1]
            for y in _body_splits(space, gaps, line_height):
                y_bands.append((upper.bottom + 1 + y, upper.bottom + 1 + y))
            y_bands.append((lower.top, lower.bottom))
        x_bands = [(left, left), *((left + g, left + g) for g in gaps), (right, right)]
        tables.append(OpenTable(x_bands, y_bands))
    return tables
