"""A PDF page request is checked like an image before any billable call: not empty, a PDF, not too big."""

from __future__ import annotations

from baidu_ocr.client.errors import IMAGE_SIZE_ERROR, NOT_AN_IMAGE
from baidu_ocr.exceptions import BadImage
from baidu_ocr.inputs.image_limits import encoded_size

PDF_MAGIC = b"%PDF-"


def check_pdf(data: bytes | None, *, max_encoded_bytes: int, endpoint: str | None = None) -> bytes:
    """Return ``data`` when Baidu could accept it; else raise :class:`BadImage` with Baidu's own code.

    216201 for empty or not a PDF (no ``%PDF-`` header), 216202 when its url-encoded base64 exceeds the
    limit (Baidu measures the encoded form, as for images).
    """
    if not data:
        raise BadImage("The PDF is empty", code=NOT_AN_IMAGE, endpoint=endpoint)
    if not bytes(data[:1024]).lstrip(b"\x00\t\r\n ").startswith(PDF_MAGIC):
        raise BadImage("Not a PDF file (no %PDF- header)", code=NOT_AN_IMAGE, endpoint=endpoint)
    check_encoded_size(data, "PDF", max_encoded_bytes, endpoint)
    return data


def check_encoded_size(data: bytes, kind: str, max_encoded_bytes: int, endpoint: str | None) -> None:
    """216202 when a whole document's url-encoded base64 is over the endpoint's limit (Baidu measures the
    encoded form, and applies the image limit to the whole file)."""
    size = encoded_size(bytes(data))
    if size > max_encoded_bytes:
        raise BadImage(
            f"The {kind} is {size} bytes once encoded, over the limit of {max_encoded_bytes}",
            code=IMAGE_SIZE_ERROR,
            endpoint=endpoint,
        )
