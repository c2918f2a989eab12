"""Multi-page documents (PDF, OFD): told apart from images, checked and counted before any billable call.

Baidu OCRs one page per call (``pdf_file`` + ``pdf_file_num``, or ``ofd_file`` + ``ofd_file_num``) and bills
each page, so what is known before the first call (kind, page count, encryption, size) is known here, from
the bytes: PDFs are opened with pypdfium2 (PDFium, the same engine the local server renders with), OFD
packages (a ZIP with ``OFD.xml``) are read with the standard library. ``parse_pages`` turns a page spec
such as ``"1-3,7"`` into page numbers, so a caller pays only for the pages it asked for.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from baidu_ocr.client.errors import NOT_AN_IMAGE
from baidu_ocr.exceptions import BadImage, ConfigError
from baidu_ocr.inputs.pdfs import check_encoded_size

if TYPE_CHECKING:
    import pypdfium2 as pdfium

NOT_READABLE = NOT_AN_IMAGE

PDF = "pdf"
OFD = "ofd"
# PDFium is not thread-safe (pypdfium2's docs): a task's threads reading PDFs at once could hang in it. Every
# use of a document in the provider, from opening to closing, holds this lock.
PDFIUM_LOCK = threading.RLock()
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
# The form fields of each kind: the file, the 1-based page number, and the page count in the answer.
FIELDS = {
    PDF: ("pdf_file", "pdf_file_num", "pdf_file_size"),
    OFD: ("ofd_file", "ofd_file_num", "ofd_file_size"),
}
_SPEC = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d*)\s*)?$")


def document_kind(data: bytes | bytearray | memoryview) -> str | None:
    """``"pdf"``, ``"ofd"`` or ``None`` (an image, or anything else) from the first bytes."""
    head = bytes(data[:1024])
    if head.lstrip(b"\x00\t\r\n ").startswith(PDF_MAGIC):
        return PDF
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
                names = {name.lstrip("/").lower() for name in archive.namelist()}
        except (zipfile.BadZipFile, ValueError):
            return None
        return OFD if "ofd.xml" in names else None
    return None


@dataclass(frozen=True)
class Document:
    """A document checked to be sendable: its kind, bytes and (when it could be read) page count."""

    kind: str
    data: bytes
    page_count: int | None

    @property
    def fields(self) -> tuple[str, str, str]:
        return FIELDS[self.kind]


def inspect_document(
    data: bytes, *, max_encoded_bytes: int, endpoint: str | None = None, kind: str | None = None
) -> Document:
    """Check a PDF or OFD before any call; raise :class:`BadImage` with Baidu's code for what Baidu refuses.

    216201: empty, neither kind, broken, encrypted (Baidu cannot open a password-protected PDF) or no page;
    216202: its base64 over the endpoint's limit (Baidu applies the image limit to the whole file).
    """
    kind = kind or (document_kind(data) if data else None)
    if kind is None:
        raise BadImage("Not a PDF or OFD file", code=NOT_AN_IMAGE, endpoint=endpoint)
    check_encoded_size(data, kind.upper(), max_encoded_bytes, endpoint)
    count = pdf_page_count(data, endpoint=endpoint) if kind == PDF else ofd_page_count(data)
    return Document(kind=kind, data=bytes(data), page_count=count)


@contextmanager
def open_pdf(data: bytes) -> Iterator[pdfium.PdfDocument]:
    """The parsed PDF under :data:`PDFIUM_LOCK`, closed on exit (PDFium's errors propagate)."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(bytes(data))
        try:
            yield pdf
        finally:
            pdf.close()


def pdf_page_count(data: bytes, *, endpoint: str | None = None) -> int:
    """Pages of a PDF; :class:`BadImage` (216201) when PDFium cannot open it or it needs a password."""
    import pypdfium2 as pdfium

    try:
        with open_pdf(data) as pdf:
            count = len(pdf)
    except pdfium.PdfiumError as exc:
        reason = "encrypted (password-protected)" if "password" in str(exc).lower() else "broken"
        raise BadImage(f"The PDF is {reason}: {exc}", code=NOT_AN_IMAGE, endpoint=endpoint) from None
    if count < 1:
        raise BadImage("The PDF has no page", code=NOT_AN_IMAGE, endpoint=endpoint)
    return count


def ofd_page_count(data: bytes) -> int | None:
    """Pages of an OFD package (its first document's ``Pages``), or ``None`` when the package is unusual:
    the first call's ``ofd_file_size`` then says."""
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            names = {name.lstrip("/").lower(): name for name in archive.namelist()}
            root = ElementTree.fromstring(archive.read(names["ofd.xml"]))
            doc_root = next((el.text for el in root.iter() if el.tag.endswith("DocRoot")), None)
            if not doc_root:
                return None
            document = ElementTree.fromstring(archive.read(names[doc_root.strip().lstrip("/").lower()]))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, ValueError):
        return None
    pages = [el for el in document.iter() if el.tag.endswith("}Page") or el.tag == "Page"]
    return len(pages) or None


def parse_pages(spec: str | None, page_count: int | None = None) -> list[int] | None:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]``: sorted, unique, 1-based; ``"5-"`` runs to the last page.

    ``None`` or ``""`` means every page (``None`` is returned when ``page_count`` is unknown). Pages past
    ``page_count`` are dropped (a spec may be written for the longest of several documents).
    :raises ConfigError: for a malformed spec, page 0 or a reversed range.
    """
    if spec is None or not str(spec).strip():
        return list(range(1, page_count + 1)) if page_count else None
    pages: set[int] = set()
    for part in str(spec).split(","):
        match = _SPEC.match(part)
        if not match:
            raise ConfigError(f"Bad page spec {spec!r}: use numbers and ranges, e.g. '1-3,7'")
        first = int(match.group(1))
        open_end = match.group(2) == ""
        last = int(match.group(2)) if match.group(2) else first
        if open_end:
            if page_count is None:
                raise ConfigError(f"Page spec {spec!r} has an open range: the page count is needed")
            last = page_count
        if first < 1 or last < first:
            raise ConfigError(f"Bad page range {part.strip()!r} in {spec!r}: pages start at 1, low-high")
        pages.update(range(first, last + 1))
    return sorted(p for p in pages if page_count is None or p <= page_count)


def format_pages(pages: list[int]) -> str:
    """The inverse of :func:`parse_pages`: ``[1, 2, 3, 7]`` -> ``"1-3,7"`` (compact, for batch specs)."""
    parts: list[str] = []
    for page in sorted(set(pages)):
        if parts and page == _last(parts) + 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{page}"
        else:
            parts.append(str(page))
    return ",".join(parts)


def _last(parts: list[str]) -> int:
    return int(parts[-1].split("-")[-1])
