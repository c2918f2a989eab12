"""A minimal OFD writer (GB/T 33190) for the e-invoice samples: one text object per printed line.

No maintained OFD library on PyPI fits a generator that must stay small (the ones there render OFD or pull
in PDF toolkits), and the part needed is small: a zip holding ``OFD.xml`` -> ``Doc_0/Document.xml`` ->
``Doc_0/Pages/Page_N/Content.xml``, each page a layer of ``TextObject`` (``Boundary`` "x y w h" in mm, a
``TextCode`` with the text) and ``PathObject`` rules. Real 数电票 OFDs carry the same text layer (and a
signature, left out here).
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape, quoteattr

NS = "http://www.ofdspec.org/2016"
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # zip entry times: a rerun writes the same bytes


def _mm(value: float, px_per_mm: float) -> str:
    return f"{value / px_per_mm:.2f}"


def _page(lines: list[dict], rules: list[tuple[int, int, int, int]], px_per_mm: float) -> str:
    objects, next_id = [], 10
    for x0, y0, x1, y1 in rules:
        left, top = min(x0, x1), min(y0, y1)
        box = " ".join(_mm(v, px_per_mm) for v in (left, top, abs(x1 - x0) or 1, abs(y1 - y0) or 1))
        path = f"M {_mm(x0 - left, px_per_mm)} {_mm(y0 - top, px_per_mm)} L {_mm(x1 - left, px_per_mm)} {_mm(y1 - top, px_per_mm)}"
        objects.append(
            f'<ofd:PathObject ID="{next_id}" Boundary="{box}" LineWidth="0.25"><ofd:StrokeColor Value="128 64 0"/>'
            f"<ofd:AbbreviatedData>{path}</ofd:AbbreviatedData></ofd:PathObject>"
        )
        next_id += 1
    for line in lines:
        left, top, width, height = line["box"]
        box = " ".join(_mm(v, px_per_mm) for v in (left, top, width, height))
        size = _mm(height, px_per_mm)
        objects.append(
            f'<ofd:TextObject ID="{next_id}" Boundary="{box}" Font="2" Size="{size}"><ofd:FillColor Value="0 0 0"/>'
            f'<ofd:TextCode X="0" Y="{size}">{escape(line["text"])}</ofd:TextCode></ofd:TextObject>'
        )
        next_id += 1
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="3">'
        + "".join(objects)
        + "</ofd:Layer></ofd:Content></ofd:Page>"
    )


def write_ofd(
    pages: list[tuple[list[dict], list]], size_px: tuple[int, int], px_per_mm: float, doc_id: str
) -> bytes:
    """An OFD of ``pages`` (each: truth lines ``{text, box}`` in px, and rules ``(x0, y0, x1, y1)`` in px)."""
    width, height = (_mm(v, px_per_mm) for v in size_px)
    entries = {
        "OFD.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{NS}" Version="1.1" DocType="OFD">'
            f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>{escape(doc_id)}</ofd:DocID><ofd:Title>电子发票</ofd:Title>"
            "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
            f"<ofd:MaxUnitID>{10 + sum(len(texts) + len(rules) for texts, rules in pages)}</ofd:MaxUnitID><ofd:PageArea>"
            f"<ofd:PhysicalBox>0 0 {width} {height}</ofd:PhysicalBox></ofd:PageArea>"
            "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>"
            + "".join(
                f'<ofd:Page ID="{index + 4}" BaseLoc="Pages/Page_{index}/Content.xml"/>'
                for index in range(len(pages))
            )
            + "</ofd:Pages></ofd:Document>"
        ),
        "Doc_0/PublicRes.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>'
            f'<ofd:Font ID="2" FontName={quoteattr("宋体")} FamilyName={quoteattr("宋体")}/></ofd:Fonts></ofd:Res>'
        ),
    }
    for index, (lines, rules) in enumerate(pages):
        entries[f"Doc_0/Pages/Page_{index}/Content.xml"] = _page(lines, rules, px_per_mm)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), text.encode("utf-8"), zipfile.ZIP_DEFLATED)
    return out.getvalue()
