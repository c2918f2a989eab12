"""Baidu's two ways of saying where text is, reduced to one axis-aligned box (left, top, width, height)."""

from __future__ import annotations

from typing import Any

NO_BOX: dict[str, int | None] = {"left": None, "top": None, "width": None, "height": None}


def box(location: Any) -> dict[str, int | None]:
    """``{"left","top","width","height"}`` as is; a list of ``{"x","y"}`` points (``vertexes_location``,
    ``cell_location``, ``rect`` polygons) becomes its bounding box; anything else has no box."""
    if isinstance(location, dict):
        return {k: _as_int(location.get(k)) for k in NO_BOX}
    if isinstance(location, list) and location:
        xs = [_as_int(p.get("x")) for p in location if isinstance(p, dict)]
        ys = [_as_int(p.get("y")) for p in location if isinstance(p, dict)]
        xs = [x for x in xs if x is not None]
        ys = [y for y in ys if y is not None]
        if xs and ys:
            return {"left": min(xs), "top": min(ys), "width": max(xs) - min(xs), "height": max(ys) - min(ys)}
    return dict(NO_BOX)


def location_of(item: dict) -> dict[str, int | None]:
    """The box of an item, whichever location key its endpoint uses."""
    for key in ("location", "rect", "cell_location", "vertexes_location"):
        if key in item:
            return box(item[key])
    return dict(NO_BOX)


def _as_int(value: Any) -> int | None:
    # Baidu sends ints, but some endpoints send floats or numeric strings.
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(round(float(value)))
    except (TypeError, ValueError):
        return None
