"""PDF pages as images: the page Baidu would OCR for ``pdf_file`` + ``pdf_file_num``, rendered offline.

pypdfium2 (PDFium in its own binary wheel) renders the page; the engines then see an ordinary PNG. The
scale keeps the rendered page within the endpoint's side limit, so a large page is shrunk, not refused.
OFD packages are not rendered here (no maintained offline renderer on PyPI): ``ofd_file`` is answered
216201, as Baidu answers a file it cannot read.
"""

from __future__ import annotations

import io

from baidu_ocr_server.errors import BaiduError
from baidu_ocr_server.images import ImageLimits

RENDER_DPI = 72  # a point is a pixel: a PDF made from a scan at 72 dpi renders back to its own size
NOT_READABLE = 216201


def render_pdf_page(data: bytes, page_no: int, limits: ImageLimits) -> tuple[bytes, int]:
    """The 1-based page ``page_no`` as PNG bytes, and the document's page count.

    216201 for a broken or encrypted PDF and for a page number outside 1..page_count.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise BaiduError(NOT_READABLE) from None
    try:
        count = len(pdf)
        if not 1 <= page_no <= count:
            raise BaiduError(NOT_READABLE)
        page = pdf[page_no - 1]
        width, height = page.get_size()
        scale = min(RENDER_DPI / 72, limits.max_side / max(width, height, 1))
        image = page.render(scale=scale).to_pil().convert("RGB")
        page.close()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue(), count


def page_number(value: str | None) -> int:
    """``pdf_file_num`` as sent (a string; default 1); anything but a positive integer is 216201."""
    if value is None or value == "":
        return 1
    try:
        return int(str(value).strip())
    except ValueError:
        raise BaiduError(NOT_READABLE) from None
