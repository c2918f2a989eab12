"""OFD pages (GB/T 33190, the format 数电票 are issued in) as text lines, for ``ofd_file`` + ``ofd_file_num``.

An OFD is a zip: ``OFD.xml`` names the document (``DocRoot``), whose ``Pages`` list each page's
``Content.xml``; a page's text is its ``TextObject`` elements, each with a ``Boundary`` ("x y w h" in mm)
and one or more ``TextCode``. An e-invoice's text layer is exact, so it is read, not rendered and OCRed
(no maintained offline OFD renderer is on PyPI); its lines, in px at :data:`PX_PER_MM`, go through the same
label/value reading as a photo's. A broken package, or a page outside 1..page_count, is 216201.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from xml.etree import ElementTree

from baidu_ocr_server.engines.base import Box, Line
from baidu_ocr_server.errors import BaiduError

NS = {"ofd": "http://www.ofdspec.org/2016"}
NOT_READABLE = 216201
#: Lines are answered in px at 10 px per mm: an invoice's 3 mm characters are 30 px high, as on a photo.
PX_PER_MM = 10.0
#: An e-invoice's XML unpacks to kilobytes; a package unpacking past this is refused, not inflated.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(archive.read(name.lstrip("/")))


def _page_paths(archive: zipfile.ZipFile) -> list[str]:
    root = _xml(archive, "OFD.xml")
    doc_root = root.findtext("ofd:DocBody/ofd:DocRoot", namespaces=NS)
    if not doc_root:
        raise BaiduError(NOT_READABLE)
    document = _xml(archive, doc_root)
    base = posixpath.dirname(doc_root.lstrip("/"))
    return [
        posixpath.join(base, page.get("BaseLoc", "").lstrip("/"))
        for page in document.findall("ofd:Pages/ofd:Page", NS)
    ]


def _lines(page: ElementTree.Element) -> list[Line]:
    lines = []
    for text_object in page.iter(f"{{{NS['ofd']}}}TextObject"):
        text = "".join(code.text or "" for code in text_object.findall("ofd:TextCode", NS))
        try:
            left, top, width, height = (float(v) * PX_PER_MM for v in text_object.get("Boundary", "").split())
        except ValueError:
            continue
        if text.strip():
            lines.append(Line(text=text, box=Box(round(left), round(top), round(width), round(height))))
    return lines


def read_ofd_page(data: bytes, page_no: int) -> tuple[list[Line], int]:
    """The text lines of the 1-based page ``page_no``, and the document's page count."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise BaiduError(NOT_READABLE)
            paths = _page_paths(archive)
            if not 1 <= page_no <= len(paths):
                raise BaiduError(NOT_READABLE)
            return _lines(_xml(archive, paths[page_no - 1])), len(paths)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, UnicodeDecodeError):
        raise BaiduError(NOT_READABLE) from None
