"""PDF/OFD inputs told apart, counted and checked before any call; page specs parsed."""

from __future__ import annotations

import io
import zipfile

import pytest
from baidu_ocr.exceptions import BadImage, ConfigError
from baidu_ocr.inputs.documents import (
    OFD,
    PDF,
    document_kind,
    format_pages,
    inspect_document,
    ofd_page_count,
    parse_pages,
)
from PIL import Image


def pdf_of(n_pages: int) -> bytes:
    pages = [Image.new("RGB", (120, 80), "white") for _ in range(n_pages)]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:])
    return out.getvalue()


def ofd_of(n_pages: int) -> bytes:
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    pages = "".join(f'<ofd:Page ID="{i}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(n_pages))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "OFD.xml",
            f"<ofd:OFD {ns}><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        )
        archive.writestr(
            "Doc_0/Document.xml", f"<ofd:Document {ns}><ofd:Pages>{pages}</ofd:Pages></ofd:Document>"
        )
    return out.getvalue()


@pytest.mark.parametrize(
    ("spec", "count", "expected"),
    [
        ("1-3,7", 10, [1, 2, 3, 7]),
        (" 7 , 1-2, 2 ", None, [1, 2, 7]),
        ("5-", 7, [5, 6, 7]),
        ("1-3,9", 4, [1, 2, 3]),  # past the end: dropped
        (None, 3, [1, 2, 3]),
        ("", 2, [1, 2]),
        (None, None, None),
    ],
)
def test_parse_pages(spec, count, expected):
    assert parse_pages(spec, count) == expected


@pytest.mark.parametrize("spec", ["0", "3-1", "a", "1,,2", "1-2-3", "5-"])
def test_bad_page_specs_are_config_errors(spec):
    with pytest.raises(ConfigError):
        parse_pages(spec, None)


def test_format_pages_is_the_inverse():
    assert format_pages([7, 1, 2, 3, 9, 10]) == "1-3,7,9-10"
    assert parse_pages(format_pages([4, 5, 6, 11]), 20) == [4, 5, 6, 11]


def test_kinds_are_told_from_bytes():
    png = io.BytesIO()
    Image.new("L", (20, 20)).save(png, "PNG")
    assert document_kind(pdf_of(1)) == PDF
    assert document_kind(ofd_of(2)) == OFD
    assert document_kind(png.getvalue()) is None
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("a.txt", "x")
    assert document_kind(plain_zip.getvalue()) is None


def test_page_counts_before_any_call():
    assert inspect_document(pdf_of(3), max_encoded_bytes=10**7).page_count == 3
    assert inspect_document(ofd_of(5), max_encoded_bytes=10**7).page_count == 5
    assert ofd_page_count(b"PK\x03\x04 broken") is None


def encrypted_pdf() -> bytes:
    """A one-page PDF behind the standard security handler with a password nobody knows."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Encrypt 4 0 R /ID [<{'ab' * 16}> <{'ab' * 16}>] >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


@pytest.mark.parametrize(
    ("data", "limit", "code", "words"),
    [
        (b"%PDF-1.4\n not really a pdf", 10**7, 216201, "broken"),
        (encrypted_pdf(), 10**7, 216201, "encrypted"),
        (b"", 10**7, 216201, "Not a PDF"),
        (b"\x89PNG\r\n", 10**7, 216201, "Not a PDF"),
        (pdf_of(2), 1024, 216202, "over the limit"),
    ],
)
def test_bad_documents_get_baidu_codes(data, limit, code, words):
    with pytest.raises(BadImage) as caught:
        inspect_document(data, max_encoded_bytes=limit)
    assert caught.value.code == code and words in str(caught.value)
