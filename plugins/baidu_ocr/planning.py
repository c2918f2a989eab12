"""Planning a run: batches of S3 keys under Airflow's mapping limit, and which keys of a batch to OCR.

Pure Python (no Airflow, no I/O): what is planned here is decided before any billable call.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from baidu_ocr.sources import ImageObject

# Half of Airflow's default [core] max_map_length (1024): the batch size grows before the mapping limit nears.
MAX_BATCHES = 512


def effective_batch_size(n_images: int, batch_size: int, max_batches: int = MAX_BATCHES) -> int:
    """``batch_size``, raised just enough that ``n_images`` never need more than ``max_batches`` tasks."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return max(batch_size, math.ceil(n_images / max_batches))


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
