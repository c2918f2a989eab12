"""What a reviewer is shown of a document: the page as Baidu read it, and each low-confidence line cut out.

Airflow's UI draws a Markdown image at most 300 px wide. A line is much wider than that (833 x 31 px on
the faded sample), and shrunk to 300 px it is 11 px tall, unreadable; so a line's crop is wrapped like
text, into strips at most 300 px wide cut where the ink is thinnest (between characters), and shown at its
own size. The page is linked at a readable size with its low lines outlined.

The images are written with their content type (a browser shows them instead of downloading them) under
the run's staging prefix, which expires, and reached through presigned URLs valid while the review is
open. The review operator deletes them when the review closes: the links that Airflow keeps in its
metadata database (the review's body) then lead nowhere.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from baidu_ocr.inputs.documents import PDF, document_kind
from baidu_ocr.pipeline.staging import write_output_file

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

log = logging.getLogger(__name__)

UI_IMAGE_MAX_WIDTH = 300  # px: Airflow 3.3's Markdown renderer caps every image at this width
PAGE_IMAGE = "page.jpg"
PAGE_MAX_SIDE = 2000  # px: a page read at ~150 dpi; larger scans are shrunk to it
PDF_RENDER_SCALE = 2.0  # PDF points (1/72 in) to pixels: 144 dpi
# A line between these heights is shown as scanned; outside them it is scaled to LINE_HEIGHT.
READABLE_LINE_HEIGHTS = (16, 48)
LINE_HEIGHT = 32
WRAP_GAP = 6  # px of white between the strips of a wrapped line


def line_image_name(line_no: int) -> str:
    return f"line-{int(line_no):04d}.png"


def page_image(data: bytes, page_no: int, sent_image: Any) -> Image.Image | None:
    """The page Baidu read: an image as it was sent (``sent_image(data)``: EXIF-rotated, shrunk to the
    endpoint's limits; line boxes are in its pixels), or a PDF's page rendered; ``None`` for an OFD."""
    if not page_no:
        image = Image.open(io.BytesIO(sent_image(data)))
        image.load()
        return image
    if document_kind(data) != PDF:
        return None
    from baidu_ocr.inputs.documents import open_pdf

    with open_pdf(data) as pdf:
        page = pdf[int(page_no) - 1]
        scale = min(PDF_RENDER_SCALE, PAGE_MAX_SIDE / max(page.get_size()))
        return page.render(scale=scale).to_pil()


def review_images(
    page: Image.Image, low_lines: Sequence[Mapping[str, Any]], *, crop_lines: bool = True
) -> dict[str, tuple[bytes, str]]:
    """``{name: (bytes, content type)}``: the page (JPEG) and, with ``crop_lines``, each low line that has a
    ``box`` in the page's pixels cut out (PNG, :func:`line_image_name`)."""
    boxes = {int(line["line_no"]): line["box"] for line in low_lines if crop_lines and line.get("box")}
    images = {PAGE_IMAGE: (_encode(page_view(page, boxes.values()), "JPEG"), "image/jpeg")}
    for line_no, box in boxes.items():
        if (crop := line_crop(page, box)) is not None:
            images[line_image_name(line_no)] = (_encode(crop, "PNG"), "image/png")
    return images


def page_view(page: Image.Image, boxes: Any = ()) -> Image.Image:
    """The page at most :data:`PAGE_MAX_SIDE` px, each box outlined in red."""
    view = page.convert("RGB")
    scale = min(1.0, PAGE_MAX_SIDE / max(view.size))
    if scale < 1:
        view = view.resize((max(1, round(view.width * scale)), max(1, round(view.height * scale))))
    draw = ImageDraw.Draw(view)
    pad = 4
    for left, top, width, height in boxes:
        corners = [
            (left - pad) * scale,
            (top - pad) * scale,
            (left + width + pad) * scale,
            (top + height + pad) * scale,
        ]
        draw.rectangle(corners, outline=(220, 0, 0), width=3)
    return view


def line_crop(
    page: Image.Image, box: Sequence[int], *, max_width: int = UI_IMAGE_MAX_WIDTH
) -> Image.Image | None:
    """One line as scanned, with a margin, at a readable height, wrapped to ``max_width``; ``None`` when the
    box is empty or outside the page."""
    left, top, width, height = (int(v) for v in box)
    if width <= 0 or height <= 0:
        return None
    margin = max(3, round(height * 0.2))
    region = (
        max(0, left - margin),
        max(0, top - margin),
        min(page.width, left + width + margin),
        min(page.height, top + height + margin),
    )
    if region[2] <= region[0] or region[3] <= region[1]:
        return None
    crop = page.crop(region).convert("RGB")
    low, high = READABLE_LINE_HEIGHTS
    if not low <= height <= high:
        scale = LINE_HEIGHT / height
        crop = crop.resize(
            (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.LANCZOS
        )
    return wrap(crop, max_width)


def wrap(strip: Image.Image, max_width: int) -> Image.Image:
    """A strip wider than ``max_width`` cut into pieces of about equal width, stacked like lines of text.
    Each cut is at the column with the least ink near its share of the width (the gap between two
    characters), never making a piece wider than ``max_width``."""
    if strip.width <= max_width:
        return strip
    ink = (255.0 - np.asarray(strip.convert("L"), dtype=np.float32)).sum(axis=0)
    pieces_left = math.ceil(strip.width / max_width)
    cuts = [0]
    while pieces_left > 1:
        start, slack = cuts[-1], max_width // 6
        target = start + (strip.width - start) // pieces_left
        low = max(start + 1, target - slack, strip.width - (pieces_left - 1) * max_width)
        high = min(start + max_width, target + slack)
        cuts.append(low + int(np.argmin(ink[low : high + 1])))
        pieces_left -= 1
    cuts.append(strip.width)
    pieces = [strip.crop((start, 0, end, strip.height)) for start, end in pairwise(cuts)]
    height = sum(p.height for p in pieces) + WRAP_GAP * (len(pieces) - 1)
    out = Image.new("RGB", (max(p.width for p in pieces), height), "white")
    y = 0
    for piece in pieces:
        out.paste(piece, (0, y))
        y += piece.height + WRAP_GAP
    return out


def stage_review_images(
    s3: S3Hook, bucket: str, folder: str, images: Mapping[str, tuple[bytes, str]], *, expires_in: int
) -> dict[str, str]:
    """Write each image under ``folder`` with its content type; return ``{name: presigned URL}``, valid for
    ``expires_in`` seconds and answered inline with that content type."""
    expires_in = max(1, int(expires_in))
    urls = {}
    for name, (data, content_type) in images.items():
        key = folder + name
        write_output_file(s3, data, bucket, key, content_type=content_type)
        urls[name] = s3.generate_presigned_url(
            client_method="get_object",
            params={
                "Bucket": bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": "inline",
            },
            expires_in=expires_in,
        )
    return urls


def delete_review_images(s3: S3Hook, bucket: str, folder: str) -> int:
    """Delete every image staged under ``folder``; return how many."""
    keys = s3.list_keys(bucket_name=bucket, prefix=folder)
    if keys:
        s3.delete_objects(bucket=bucket, keys=keys)
    return len(keys)


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(
        buffer, format=fmt, **({"quality": 85, "optimize": True} if fmt == "JPEG" else {"optimize": True})
    )
    return buffer.getvalue()
