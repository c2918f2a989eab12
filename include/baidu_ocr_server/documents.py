"""PDF pages as images: the page Baidu would OCR for ``pdf_file`` + ``pdf_file_num``, rendered offline.

pypdfium2 (PDFium in its own binary wheel) renders the page; the engines then see an ordinary PNG. The
scale keeps the rendered page within the endpoint's side limit, so a large page is shrunk, not refused.
OFD packages are not rendered here (no maintained offline renderer on PyPI): ``ofd_file`` is answered
216201, as Baidu answers a file it cannot read, except by ``vat_invoice``, which reads an OFD e-invoice's
text layer (``ofd``).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from baidu_ocr_server.errors import BaiduError
from baidu_ocr_server.images import ImageLimits

if TYPE_CHECKING:
    import pypdfium2 as pdfium

# PDFium is not thread-safe (pypdfium2's docs): two request threads in it at once can hang both. Every use of
# a document, from opening to closing, holds this lock; re-entrant, for a caller that opens one inside another.
PDFIUM_LOCK = threading.RLock()
RENDER_DPI = 72  # a point is a pixel: a PDF made from a scan at 72 dpi renders back to its own size
NOT_READABLE = 216201


@contextmanager
def open_pdf(data: bytes) -> Iterator[pdfium.PdfDocument]:
    """The parsed document, closed on exit; 216201 for a broken or encrypted PDF."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise BaiduError(NOT_READABLE) from None
        try:
            yield pdf
        finally:
            pdf.close()


def _scale(width: float, height: float, limits: ImageLimits) -> float:
    return min(RENDER_DPI / 72, limits.max_side / max(width, height, 1))


def rendered_pixels(pdf: pdfium.PdfDocument, index: int, limits: ImageLimits) -> int:
    """How many pixels the 0-based page ``index`` renders to, known without rendering it."""
    width, height = pdf.get_page_size(index)
    scale = _scale(width, height, limits)
    return math.ceil(width * scale) * math.ceil(height * scale)


def render_page(pdf: pdfium.PdfDocument, index: int, limits: ImageLimits) -> bytes:
    """The 0-based page ``index`` as PNG bytes, shrunk to the endpoint's side limit."""
    page = pdf[index]
    try:
        width, height = page.get_size()
        bitmap = page.render(scale=_scale(width, height, limits))
    finally:
        page.close()  # frees what PDFium decoded for the page (its images) before the PNG is made
    try:
        image = bitmap.to_pil()  # a copy, in RGB for the BGR bitmap PDFium renders by default
    finally:
        bitmap.close()
    if image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    # Fast zlib: a scanned page compresses little at any level, and level 6 takes seconds on noise.
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def render_pdf_page(data: bytes, page_no: int, limits: ImageLimits) -> tuple[bytes, int]:
    """The 1-based page ``page_no`` as PNG bytes, and the document's page count.

    216201 for a broken or encrypted PDF and for a page number outside 1..page_count.
    """
    with open_pdf(data) as pdf:
        count = len(pdf)
        if not 1 <= page_no <= count:
            raise BaiduError(NOT_READABLE)
        return render_page(pdf, page_no - 1, limits), count


def page_number(value: str | None) -> int:
    """``pdf_file_num`` as sent (a string; default 1); anything but a positive integer is 216201."""
    if value is None or value == "":
        return 1
    try:
        return int(str(value).strip())
    except ValueError:
        raise BaiduError(NOT_READABLE) from None
