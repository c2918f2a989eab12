"""ID card fields from OCR lines by layout: find the card's printed labels, read the value to their right.

Pure functions over :class:`Line` objects, so they are tested without a model. OCR often merges a label
with its value ("姓名张三") or two label/value pairs of one row ("性别男 民族汉"); lines are therefore cut at
label occurrences first (using per-character boxes when the engine gave them, else a proportional split),
and values are then looked up on the label's row. Values follow Baidu's idcard response: 出生, 签发日期 and
失效日期 as ``YYYYMMDD`` (失效日期 may be ``长期``), 公民身份号码 as 17 digits plus a digit or ``X``. 民族 and
性别 are snapped to their closed vocabularies and dates/number checked (``idcard_values``); a value that
fails is left out rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import Box, IdCardResult, Line
from .idcard_values import reconcile_birth_and_number, snap_ethnicity, snap_sex, valid_date

FRONT_LABELS = ("公民身份号码", "姓名", "性别", "民族", "出生", "住址")
BACK_LABELS = ("签发机关", "有效期限")
_LABEL_RE = re.compile("|".join(FRONT_LABELS + BACK_LABELS))
_ID_NUMBER_RE = re.compile(r"\d{17}[\dX]")
_DATE_RE = re.compile(r"(\d{4})\D{0,3}?(\d{1,2})\D{0,3}?(\d{1,2})")
_VALIDITY_RE = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})\s*[-—–~至]+\s*(长期|(\d{4})\.?(\d{2})\.?(\d{2}))")


@dataclass
class Segment:
    """A piece of one OCR line: either a printed label or (part of) a value."""

    text: str
    box: Box
    is_label: bool
    line_index: int
    prob: float = 1.0

    @property
    def center_y(self) -> float:
        return self.box.top + self.box.height / 2

    @property
    def right(self) -> int:
        return self.box.left + self.box.width


def union_box(boxes: list[Box]) -> Box:
    left = min(b.left for b in boxes)
    top = min(b.top for b in boxes)
    right = max(b.left + b.width for b in boxes)
    bottom = max(b.top + b.height for b in boxes)
    return Box(left, top, right - left, bottom - top)


def char_boxes(line: Line, compact: str) -> list[Box]:
    """One box per character of ``compact`` (the line's text without spaces).

    Uses the engine's character boxes when they match the text; otherwise splits the line box in equal
    widths, which is what a reader would guess for a monospaced line.
    """
    if len(line.chars) == len(compact):
        return [c.box for c in line.chars]
    n = max(len(compact), 1)
    step = line.box.width / n
    return [
        Box(line.box.left + round(i * step), line.box.top, max(1, round(step)), line.box.height)
        for i in range(n)
    ]


def split_line(line: Line, line_index: int) -> list[Segment]:
    """Cut a line at every label it contains: "性别男民族汉" -> 性别 | 男 | 民族 | 汉."""
    compact = re.sub(r"\s+", "", line.text)
    if not compact:
        return []
    boxes = char_boxes(line, compact)
    cuts = []
    for match in _LABEL_RE.finditer(compact):
        cuts.append((match.start(), match.end(), True))
    segments: list[Segment] = []
    position = 0
    for start, end, _ in cuts:
        if start > position:
            segments.append(_segment(compact, boxes, position, start, False, line_index, line))
        segments.append(_segment(compact, boxes, start, end, True, line_index, line))
        position = end
    if position < len(compact):
        segments.append(_segment(compact, boxes, position, len(compact), False, line_index, line))
    return segments


def _segment(compact: str, boxes: list[Box], start: int, end: int, is_label: bool, index: int, line: Line):
    return Segment(compact[start:end], union_box(boxes[start:end]), is_label, index, line.prob_average)


def _same_row(a: Segment, b: Segment) -> bool:
    band = max(a.box.height, b.box.height) * 0.6
    return abs(a.center_y - b.center_y) <= band


def value_after(label: Segment, segments: list[Segment]) -> list[Segment]:
    """The non-label segments right of ``label`` on its row, up to the next label."""
    row = sorted((s for s in segments if s is not label and _same_row(label, s)), key=lambda s: s.box.left)
    found: list[Segment] = []
    for segment in row:
        if segment.box.left + segment.box.width / 2 < label.right:
            continue
        if segment.is_label:
            break
        found.append(segment)
    return found


def _as_line(text: str, parts: list[Segment]) -> Line:
    probs = [p.prob for p in parts] or [1.0]
    return Line(text=text, box=union_box([p.box for p in parts]), prob_average=sum(probs) / len(probs),
                prob_min=min(probs))  # fmt: skip


def _sub_line(line: Line, compact: str, start: int, end: int, text: str) -> Line:
    boxes = char_boxes(line, compact)[start:end]
    return Line(text=text, box=union_box(boxes), prob_average=line.prob_average, prob_min=line.prob_min)


def _front_fields(labels: dict[str, Segment], segments: list[Segment]) -> dict[str, Line]:
    fields: dict[str, Line] = {}
    for name in ("姓名", "性别", "民族", "出生", "住址", "公民身份号码"):
        label = labels.get(name)
        if label is None:
            continue
        parts = value_after(label, segments)
        if name == "住址" and parts:
            parts = parts + address_continuation(parts, labels, segments)
        text = "".join(p.text for p in parts)
        if name == "性别":
            text = snap_sex(text) or ""
        elif name == "民族":
            text = snap_ethnicity(text) or ""
        elif name == "出生":
            match = _DATE_RE.search(text)
            text = f"{match[1]}{int(match[2]):02d}{int(match[3]):02d}" if match else ""
        elif name == "公民身份号码":
            text = re.sub(r"[^\dX]", "", text.upper())
        if text:
            fields[name] = _as_line(text, parts)
    if (
        "公民身份号码" not in fields
    ):  # the label is small and sometimes missed; the number alone is unmistakable
        for segment in segments:
            match = _ID_NUMBER_RE.search(segment.text.upper())
            if match and not segment.is_label:
                fields["公民身份号码"] = _as_line(match[0], [segment])
                break
    _reconcile(fields)
    return fields


def _reconcile(fields: dict[str, Line]) -> None:
    """Birth date and number checked against their formats and each other; what fails is dropped."""
    birth, number = fields.get("出生"), fields.get("公民身份号码")
    new_birth, new_number = reconcile_birth_and_number(
        birth.text if birth else None, number.text if number else None
    )
    for name, line, text in (("出生", birth, new_birth), ("公民身份号码", number, new_number)):
        if line is None:
            continue
        if text is None:
            del fields[name]
        else:
            line.text = text


def address_continuation(
    first: list[Segment], labels: dict[str, Segment], segments: list[Segment]
) -> list[Segment]:
    """Wrapped address lines: label-less rows below the first one, aligned with it, above the number row."""
    left = min(p.box.left for p in first)
    height = max(p.box.height for p in first)
    bottom = max(p.box.top + p.box.height for p in first)
    stop = labels["公民身份号码"].box.top if "公民身份号码" in labels else float("inf")
    more = []
    for segment in sorted(segments, key=lambda s: s.box.top):
        if segment.is_label or segment in first or segment.box.top < bottom - height * 0.3:
            continue
        if segment.box.top >= stop - height * 0.3 or segment.box.top > bottom + height * 1.2:
            break
        if abs(segment.box.left - left) <= height * 1.5:
            more.append(segment)
            bottom = segment.box.top + segment.box.height
    return more


def _back_fields(labels: dict[str, Segment], segments: list[Segment], lines: list[Line]) -> dict[str, Line]:
    fields: dict[str, Line] = {}
    if "签发机关" in labels:
        parts = value_after(labels["签发机关"], segments)
        if parts:
            fields["签发机关"] = _as_line("".join(p.text for p in parts), parts)
    for line in lines:  # the validity period needs character positions, so read it from whole lines
        compact = re.sub(r"\s+", "", line.text)
        match = _VALIDITY_RE.search(compact)
        if not match:
            continue
        issued = "".join(match.group(1, 2, 3))
        if valid_date(issued):
            fields["签发日期"] = _sub_line(line, compact, match.start(1), match.end(3), issued)
        expiry = match[4] if match[4] == "长期" else "".join(match.group(5, 6, 7))
        if expiry == "长期" or valid_date(expiry):
            fields["失效日期"] = _sub_line(line, compact, match.start(4), match.end(4), expiry)
        break
    return fields


def extract_idcard(lines: list[Line], side: str) -> IdCardResult:
    """Fields of the requested card side, and Baidu's ``image_status`` for what the image shows.

    ``reversed_side`` when the other side's labels are found instead; ``non_idcard`` when neither side's
    labels are (fields are then empty, as Baidu answers).
    """
    segments = [s for i, line in enumerate(lines) for s in split_line(line, i)]
    labels: dict[str, Segment] = {}
    for segment in segments:
        if segment.is_label:
            labels.setdefault(segment.text, segment)
    front_found = sum(name in labels for name in FRONT_LABELS)
    back_found = sum(name in labels for name in BACK_LABELS)
    wanted, other = (front_found, back_found) if side == "front" else (back_found, front_found)
    if wanted == 0:
        status = "reversed_side" if other else "non_idcard"
        return IdCardResult(fields={}, side=side, image_status=status)
    fields = _front_fields(labels, segments) if side == "front" else _back_fields(labels, segments, lines)
    return IdCardResult(fields=fields, side=side, image_status="normal")
