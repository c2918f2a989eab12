"""Find a red seal (发票专用章) on an invoice photo and the ink to drop from it before OCR.

A seal over the seller block repeats the seller's name and tax id in red; read with the page, it runs into
the seller's own line ("…有限公司风商贸股份…"). Colour alone cannot tell it from the red-brown print of the
page (a JPEG smears the seal's thin strokes down to the title's red), so the seal is found by its shape
first: the red ink left once straight rules are removed, grown into blobs, and a blob the size and
proportions of an oval stamp is a seal. Only red ink inside that oval is dropped; black print under the
seal stays (a stamp multiplies, it does not cover).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Red ink: the red channel above RED_MIN and REDNESS above both green and blue (darker labels stay out).
RED_MIN, REDNESS = 125, 40
#: Straight red runs at least this long (px) are rules, not a seal.
RULE_RUN = 61
#: A seal is this share of the page's width wide, and this tall for its width.
SEAL_WIDTH = (0.07, 0.3)
SEAL_ASPECT = (0.4, 1.1)


def red_ink(pixels: np.ndarray) -> np.ndarray:
    """Mask of a BGR image's red ink."""
    blue, green, red = (pixels[..., i].astype(np.int16) for i in range(3))
    return (red > RED_MIN) & (red - np.maximum(green, blue) > REDNESS)


def seal_ink(pixels: np.ndarray) -> np.ndarray:
    """Mask of the red ink inside every oval stamp on the page (empty when there is none)."""
    red = red_ink(pixels).astype(np.uint8)
    rules = cv2.morphologyEx(red, cv2.MORPH_OPEN, np.ones((1, RULE_RUN), np.uint8)) | cv2.morphologyEx(
        red, cv2.MORPH_OPEN, np.ones((RULE_RUN, 1), np.uint8)
    )
    blobs = cv2.dilate(red & (1 - rules), np.ones((9, 9), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(blobs)
    page_width = pixels.shape[1]
    mask = np.zeros(red.shape, np.uint8)
    for left, top, width, height, _area in stats[1:count]:
        if not SEAL_WIDTH[0] * page_width <= width <= SEAL_WIDTH[1] * page_width:
            continue
        if not SEAL_ASPECT[0] <= height / width <= SEAL_ASPECT[1]:
            continue
        centre = (int(left + width / 2), int(top + height / 2))
        cv2.ellipse(mask, centre, (width // 2 + 4, height // 2 + 4), 0, 0, 360, 1, thickness=-1)
    return (mask > 0) & (red > 0)
