"""Otsu binarization: ink and paper split at the valley between them; a blank page stays blank."""

from __future__ import annotations

import numpy as np
from baidu_ocr.inputs.binarize import binarize_otsu, otsu_threshold
from PIL import Image


def test_otsu_threshold_separates_two_peaks():
    hist = np.zeros(256)
    hist[40:60] = 100  # ink
    hist[180:220] = 300  # paper
    threshold = otsu_threshold(hist)
    assert 59 <= threshold < 180
    # A blank page stays a blank page.
    blank = binarize_otsu(Image.new("L", (20, 20), 250))
    assert set(np.unique(np.asarray(blank.convert("L")))) == {255}
