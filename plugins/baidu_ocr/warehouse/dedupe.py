"""What the warehouse already holds, asked before any OCR call, so no image or page is paid for twice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.sql import chunks


@dataclass
class PagesDone:
    """The done pages of one content hash (0: the image, or a document refused as a whole)."""

    pages: set[int] = field(default_factory=set)
    page_count: int | None = None

    @property
    def complete(self) -> bool:
        if 0 in self.pages:
            return True
        return bool(self.page_count) and self.pages >= set(range(1, self.page_count + 1))


def processed_pages(
    wh: WarehouseConnection,
    content_hashes: Iterable[str],
    endpoint: str,
    options_hash: str,
    *,
    include_bad_images: bool = True,
) -> dict[str, PagesDone]:
    """Per content hash, the pages stored as ``ok`` (or, with ``include_bad_images``, refused as
    ``bad_image``) for this endpoint and these options, and the page count stored."""
    status_filter = "(status = 'ok' OR error_class = 'bad_image')" if include_bad_images else "status = 'ok'"
    done: dict[str, PagesDone] = {}
    ph = wh.placeholder
    for chunk in chunks(sorted({h for h in content_hashes if h})):
        sql = (
            f"SELECT content_sha256, page_no, page_count FROM {wh.table('ocr_documents')} "
            f"WHERE endpoint = {ph} AND options_hash = {ph} AND {status_filter} "
            f"AND content_sha256 IN ({', '.join([ph] * len(chunk))})"
        )
        for digest, page_no, page_count in wh.query(sql, [endpoint, options_hash, *chunk]):
            entry = done.setdefault(digest, PagesDone())
            entry.pages.add(int(page_no or 0))
            if page_count is not None:
                entry.page_count = int(page_count)
    return done
