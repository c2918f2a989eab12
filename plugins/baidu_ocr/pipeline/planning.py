"""Planning a run: batches of S3 keys under Airflow's mapping limit, and which keys of a batch to OCR.

Pure Python (no Airflow, no I/O): what is planned here is decided before any billable call.
"""

from __future__ import annotations

import fnmatch
import math
import posixpath
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from baidu_ocr.inputs.sources import ImageObject

# Half of Airflow's default [core] max_map_length (1024): the batch size grows before the mapping limit nears.
MAX_BATCHES = 512


def effective_batch_size(n_images: int, batch_size: int, max_batches: int = MAX_BATCHES) -> int:
    """``batch_size``, raised just enough that ``n_images`` never need more than ``max_batches`` tasks."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return max(batch_size, math.ceil(n_images / max_batches))


def idcard_sides(
    objects: Sequence[ImageObject], front_pattern: str, back_pattern: str
) -> tuple[dict[str, list[ImageObject]], list[str]]:
    """ID-card images split into ``{"front": [...], "back": [...]}`` by shell patterns on the base name (a
    name matching both is a back), and the keys that match neither (not sent: their side is unknown)."""
    sides: dict[str, list[ImageObject]] = {"front": [], "back": []}
    unmatched: list[str] = []
    for obj in objects:
        name = posixpath.basename(obj.key)
        if fnmatch.fnmatch(name, back_pattern):
            sides["back"].append(obj)
        elif fnmatch.fnmatch(name, front_pattern):
            sides["front"].append(obj)
        else:
            unmatched.append(obj.key)
    return sides, unmatched


def plan_batches(
    objects: Sequence[ImageObject], batch_size: int, max_batches: int = MAX_BATCHES
) -> list[list[str]]:
    """Cut ``objects`` into batches of about ``batch_size`` keys, at most ``max_batches`` of them.

    Objects with the same ETag (for single-part uploads: the MD5 of the content) go in the same batch,
    so the batch task, which deduplicates by SHA-256, bills the same image under two keys once. A group
    of equal ETags is never split; batches keep the listing's key order otherwise.
    """
    size = effective_batch_size(len(objects), batch_size, max_batches)
    groups: dict[str, list[str]] = defaultdict(list)
    for obj in sorted(objects, key=lambda o: o.key):
        groups[obj.etag or obj.key].append(obj.key)
    batches: list[list[str]] = []
    current: list[str] = []
    for keys in groups.values():
        if current and len(current) + len(keys) > size:
            batches.append(current)
            current = []
        current.extend(keys)
    if current:
        batches.append(current)
    return batches


def plan_page_batches(
    objects: Sequence[ImageObject],
    page_counts: Mapping[str, int],
    batch_size: int,
    max_batches: int = MAX_BATCHES,
) -> list[dict[str, Any]]:
    """Batches sized in pages, not files: ``[{"keys": [...], "pages": {key: "1-100"}}, ...]``.

    An image weighs one page, a PDF/OFD its ``page_counts`` entry. A document heavier than a batch is cut
    into page ranges, one batch each (so a 300-page PDF does not land in one task); ``"pages"`` is present
    only in those. Equal ETags stay together, as in :func:`plan_batches` (a copy weighs nothing more: the
    batch task OCRs one content once).
    """
    from baidu_ocr.inputs.documents import format_pages

    weight_of = {obj.key: max(1, int(page_counts.get(obj.key, 1))) for obj in objects}
    groups: dict[str, list[str]] = defaultdict(list)
    for obj in sorted(objects, key=lambda o: o.key):
        groups[obj.etag or obj.key].append(obj.key)
    total = sum(max(weight_of[k] for k in keys) for keys in groups.values())
    size = effective_batch_size(total, batch_size, max_batches)
    batches: list[dict[str, Any]] = []
    current: list[str] = []
    weight = 0
    for keys in groups.values():
        group_weight = max(weight_of[k] for k in keys)
        if group_weight > size:  # a long document: page ranges of `size` pages, one batch each
            for first in range(1, group_weight + 1, size):
                pages = format_pages(list(range(first, min(first + size, group_weight + 1))))
                batches.append({"keys": list(keys), "pages": dict.fromkeys(keys, pages)})
            continue
        if current and weight + group_weight > size:
            batches.append({"keys": current})
            current, weight = [], 0
        current.extend(keys)
        weight += group_weight
    if current:
        batches.append({"keys": current})
    return batches


@dataclass
class ImageSelection:
    """Which keys of a batch to OCR; the rest are already in the warehouse, staged by an earlier try of the
    same task, or repeat a key's content."""

    to_ocr: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    staged: list[str] = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        return len(self.known) + len(self.duplicates)


def select_images_to_ocr(
    keys: Sequence[str], sha256: dict[str, str], already: set[str], staged: Set[str] = frozenset()
) -> ImageSelection:
    """Keep the first key of each content hash that neither the warehouse nor an earlier try's staged parts
    hold yet (order preserved)."""
    selection = ImageSelection()
    seen: set[str] = set()
    for key in keys:
        digest = sha256.get(key)
        if digest is None:
            continue  # unreadable: reported separately
        if digest in already:
            selection.known.append(key)
        elif digest in staged:
            seen.add(digest)
            selection.staged.append(key)
        elif digest in seen:
            selection.duplicates.append(key)
        else:
            seen.add(digest)
            selection.to_ocr.append(key)
    return selection
