"""Black-and-white images for faint scans: Otsu's threshold on a grey histogram (``prepare_image(binarize=True)``)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def otsu_threshold(histogram: list[int] | np.ndarray) -> int:
    """Grey level that best separates a 256-bin histogram into two classes (Otsu, 1979)."""
    hist = np.asarray(histogram, dtype=np.float64)
    if np.count_nonzero(hist) < 2:
        return 127  # a blank page: nothing to separate; keep white white and black black
    prob = hist / hist.sum()
    levels = np.arange(hist.size)
    weight_dark = np.cumsum(prob)
    mean_dark = np.cumsum(prob * levels)
    mean_total = mean_dark[-1]
    weight_light = 1.0 - weight_dark
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_total * weight_dark - mean_dark) ** 2 / (weight_dark * weight_light)
    between[~np.isfinite(between)] = -1.0
    return int(np.argmax(between))


def binarize_otsu(img: Image.Image) -> Image.Image:
    """Black-and-white (mode "1") image thresholded at Otsu's level.

    The old integration recipe did this with ``cv2.threshold(..., THRESH_OTSU)``. The provider must not
    depend on OpenCV (a 60 MB wheel on every Airflow worker for one threshold), and Otsu on a 256-bin
    histogram is a few lines of numpy, which pandas already brings.
    """
    grey = img if img.mode == "L" else img.convert("L")
    threshold = otsu_threshold(grey.histogram())
    lut = [255 if level > threshold else 0 for level in range(256)]
    return grey.point(lut, "1")
