"""Make an image acceptable to Baidu OCR before paying for the call, or reject it with a clear reason.

Baidu bills a call even when it answers "image size error", and it rejects what a client could have fixed
(a 6000 px phone photo, a 9 MB PNG, a sideways EXIF-rotated JPEG, a TIFF). So every image goes through
:func:`prepare_image` first: it validates (format, truncation, size, decompression bombs), fixes what can be
fixed (EXIF orientation, oversize, unsupported formats and modes) and raises
:class:`~baidu_ocr.client.errors.BadImage` with Baidu's own code (216200 empty, 216201 not an image / corrupt,
216202 size) for what cannot. An image that already fits is sent as its original bytes, untouched.

The limits are ``image_limits.ImageLimits`` (a connection raises them), sources are read by
``sources.read_image_source`` and ``binarize=True`` thresholds with ``binarize.binarize_otsu``.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from baidu_ocr.client.errors import EMPTY_IMAGE, IMAGE_SIZE_ERROR, NOT_AN_IMAGE
from baidu_ocr.exceptions import BadImage
from baidu_ocr.inputs.binarize import binarize_otsu
from baidu_ocr.inputs.image_limits import FORMAT_ALIASES, ImageLimits, encoded_size
from baidu_ocr.inputs.sources import read_image_source

# Images decoded at once in this process, whatever the number of OCR threads: decoding is CPU-bound (Pillow
# releases the GIL), so more than one per core buys no speed, only memory (a 67 MP image is ~200 MB decoded).
DECODE_SLOTS = max(2, os.cpu_count() or 2)
_decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)

# Modes that decode the same everywhere. CMYK JPEGs, 16-bit PNGs and float TIFFs do not.
_PORTABLE_MODES = {
    "JPEG": {"L", "RGB"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA"},
    "BMP": {"1", "L", "P", "RGB"},
}
# Re-encoding ladder when an image is over the size limit: JPEG qualities, then smaller scales.
_JPEG_QUALITIES = (90, 80, 70, 60, 50)
_MAX_DOWNSCALE_STEPS = 8


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send, plus what the warehouse records about the original."""

    data: bytes  # the bytes to send (not base64): the original ones when nothing had to change
    content_sha256: str  # of the ORIGINAL bytes: the dedup key, whatever we did to them
    source_bytes: int
    width: int  # original pixel size, as stored in the file (before EXIF rotation)
    height: int
    sent_width: int
    sent_height: int
    format: str  # format of ``data``: JPEG, PNG or BMP
    transformed: tuple[str, ...] = ()  # what was done, in order, e.g. ("exif_transpose", "shrink", "jpeg")

    @property
    def untouched(self) -> bool:
        return not self.transformed


def prepare_image(
    source: Any,
    *,
    limits: ImageLimits | None = None,
    grayscale: bool = False,
    binarize: bool = False,
    endpoint: str | None = None,
) -> PreparedImage:
    """Validate ``source`` and return the bytes to send, shrunk/converted to ``limits`` when needed.

    :param source: bytes, a local path, or an S3 object (see :func:`read_image_source`).
    :param limits: the endpoint's limits (default ``ImageLimits()``, what every endpoint accepts).
    :param grayscale: send a single-channel image (smaller upload; colour rarely helps OCR).
    :param binarize: send a black-and-white image thresholded with Otsu's method (for faint scans).
    :param endpoint: named in errors.
    :raises BadImage: 216200 empty, 216201 not an image or truncated, 216202 too small / too many pixels /
        cannot fit the size limit. Source read failures (missing file, S3 error) propagate unchanged.
    """
    if limits is None:
        limits = ImageLimits()
    raw = read_image_source(source)
    if not raw:
        raise BadImage("Image is empty (0 bytes)", code=EMPTY_IMAGE, endpoint=endpoint)
    sha256 = hashlib.sha256(raw).hexdigest()
    with _decode_slots:
        return _ImagePreparation(raw, sha256, limits, grayscale, binarize, endpoint).run()


class _ImagePreparation:
    """One image through validate -> fix -> encode. A class only to share state between the steps."""

    def __init__(
        self,
        raw: bytes,
        sha256: str,
        limits: ImageLimits,
        grayscale: bool,
        binarize: bool,
        endpoint: str | None,
    ) -> None:
        self.raw = raw
        self.sha256 = sha256
        self.limits = limits
        self.grayscale = grayscale or binarize
        self.binarize = binarize
        self.endpoint = endpoint
        self.transformed: list[str] = []
        self.original_size = (0, 0)
        self.sent_size = (0, 0)

    def bad(self, message: str, code: int) -> BadImage:
        return BadImage(message, code=code, endpoint=self.endpoint)

    def run(self) -> PreparedImage:
        img = self.open_verified()
        source_format = FORMAT_ALIASES.get(img.format or "", img.format or "UNKNOWN")
        width, height = self.original_size = img.size

        # An MPO's extra pictures ride along harmlessly (it is a JPEG); other formats' frames would not.
        multi_frame = getattr(img, "n_frames", 1) > 1 and source_format != "JPEG"
        long_side = max(width, height)
        needs_shrink = long_side > self.limits.max_side
        exif = img.getexif()
        orientation = exif.get(ExifTags.Base.Orientation, 1)
        exif_bytes = exif.tobytes() if orientation not in (0, 1) else b""
        if needs_shrink and source_format == "JPEG":
            # Decode a JPEG over twice the limit at 1/2, 1/4 or 1/8 scale straight from its DCT coefficients:
            # a 108 MP photo then takes ~1/3 of the time and ~1/4 of the memory (bench/bench_images.py).
            # draft() never goes below the requested size, so quality is decided by the LANCZOS pass.
            scale = self.limits.max_side / long_side
            img.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
        self.load_fully(img, source_format)

        if (
            source_format in self.limits.formats
            and not needs_shrink
            and orientation in (0, 1)
            and not self.grayscale
            and img.mode in _PORTABLE_MODES.get(source_format, set())
            and not _has_transparency(img)
            and not multi_frame
            and encoded_size(self.raw) <= self.limits.max_encoded_bytes
        ):
            # Zero-copy: Baidu gets exactly the file it was given.
            return self.result(self.raw, source_format, width, height, img.size)

        if multi_frame:
            self.transformed.append("first_frame")
        # Cheapest order: fewer channels before resizing, fewer pixels before rotating.
        img = self.portable_mode(img)
        if self.grayscale and img.mode != "L":
            img = img.convert("L")
            self.transformed.append("grayscale")
        if needs_shrink:
            if max(img.size) > self.limits.max_side:  # draft() alone may have got there
                img = self.resized(img, self.limits.max_side / max(img.size))
            self.transformed.append("shrink")
        self.check_min_side(img.size, "after shrinking to the longest-side limit")
        if orientation not in (0, 1):
            img.info["exif"] = exif_bytes  # portable_mode/resize drop it; exif_transpose reads it from here
            img = ImageOps.exif_transpose(img)
            self.transformed.append("exif_transpose")
        if self.binarize:
            img = binarize_otsu(img)
            self.transformed.append("binarize")
        data, out_format = self.encode_within_limit(img, source_format)
        return self.result(data, out_format, width, height, self.sent_size)

    # -- validation --------------------------------------------------------------------------------

    def open_verified(self) -> Image.Image:
        """Open twice: ``verify()`` (checksums, structure) leaves the image unusable, so reopen to decode."""
        try:
            with Image.open(io.BytesIO(self.raw)) as probe:
                self.check_pixels(*probe.size, probe.format)
                probe.verify()
            return Image.open(io.BytesIO(self.raw))
        except BadImage:
            raise
        except Image.DecompressionBombError as exc:
            raise self.bad(f"Image has too many pixels to decode safely: {exc}", IMAGE_SIZE_ERROR) from None
        except UnidentifiedImageError:
            raise self.bad(
                f"Not an image in a format Pillow can read ({len(self.raw)} bytes); "
                f"Baidu accepts {', '.join(sorted(self.limits.formats))}",
                NOT_AN_IMAGE,
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise self.bad(f"Image data is corrupt or truncated: {exc}", NOT_AN_IMAGE) from None

    def load_fully(self, img: Image.Image, source_format: str) -> None:
        """Decode every pixel: the only reliable way to find a truncated JPEG before Baidu does."""
        try:
            img.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise self.bad(
                f"{source_format} image data is truncated or corrupt: {exc}", NOT_AN_IMAGE
            ) from None

    def check_pixels(self, width: int, height: int, image_format: str | None = None) -> None:
        """Refuse decompression bombs (tiny files that decode to gigabytes) before decoding them."""
        ceiling = Image.MAX_IMAGE_PIXELS
        if ceiling and width * height > ceiling:
            raise self.bad(
                f"Image is {width}x{height} = {width * height:,} px, over the decompression-bomb guard of "
                f"{ceiling:,} px (PIL.Image.MAX_IMAGE_PIXELS)",
                IMAGE_SIZE_ERROR,
            )
        decoded = decoded_pixels(
            width, height, FORMAT_ALIASES.get(image_format or "", image_format), self.limits
        )
        if decoded > self.limits.decode_pixel_cap:
            raise self.bad(
                f"Image is {width}x{height} px and would decode to {decoded:,} px, over the decompression-bomb "
                f"guard of {self.limits.decode_pixel_cap:,} px for a {self.limits.max_side} px limit "
                "(image_limits.max_decode_pixels raises it)",
                IMAGE_SIZE_ERROR,
            )
        self.check_min_side((width, height), "")

    def check_min_side(self, size: tuple[int, int], when: str) -> None:
        if min(size) < self.limits.min_side:
            detail = f" {when}" if when else ""
            raise self.bad(
                f"Image is {size[0]}x{size[1]} px{detail}; Baidu needs the shortest side >= "
                f"{self.limits.min_side} px (not upscaled: enlarging a tiny image invents detail)",
                IMAGE_SIZE_ERROR,
            )

    # -- fixing ------------------------------------------------------------------------------------

    def portable_mode(self, img: Image.Image) -> Image.Image:
        """Bring exotic modes (CMYK, 16-bit, float, alpha) to L/RGB that every decoder reads alike."""
        mode = img.mode
        if mode in ("1", "L", "RGB") and not _has_transparency(img):
            return img
        if mode.startswith("I") or mode == "F":
            converted = _high_bit_depth_to_l(img)
        elif _has_transparency(img) or mode in ("LA", "PA", "RGBA", "La", "RGBa"):
            # Scans and screenshots often have black text on transparent pixels whose colour is black too:
            # dropping alpha would give a black page. Flatten on white as a viewer would show it.
            rgba = img.convert("RGBA")
            converted = Image.new("RGB", rgba.size, (255, 255, 255))
            converted.paste(rgba, mask=rgba.getchannel("A"))
            self.transformed.append("flatten_alpha")
            return converted
        elif mode == "P":
            converted = img.convert("RGB")
        else:  # CMYK, YCbCr, LAB, HSV, ...
            converted = img.convert("RGB")
        self.transformed.append(f"convert_{mode.lower().replace(';', '_')}")
        return converted

    @staticmethod
    def resized(img: Image.Image, scale: float) -> Image.Image:
        width, height = img.size
        target = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
        if img.mode == "1":  # Pillow resizes bilevel images with NEAREST only: go through grey
            img = img.convert("L")
        # reducing_gap: box-reduce by an integer factor first, then LANCZOS; same quality, far faster.
        return img.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)

    def encode_within_limit(self, img: Image.Image, source_format: str) -> tuple[bytes, str]:
        """Encode losslessly when that fits, else JPEG at falling quality, then at falling scale."""
        limit = self.limits.max_encoded_bytes
        lossless = "PNG" if "PNG" in self.limits.formats else "JPEG"
        if (
            (source_format != "JPEG" or self.binarize)
            and lossless == "PNG"
            and self.png_may_fit(img, source_format)
        ):
            data = _encode(img, "PNG")
            if encoded_size(data) <= limit:
                self.transformed.append("png")
                self.sent_size = img.size
                return data, "PNG"
        if "JPEG" not in self.limits.formats:
            raise self.bad(
                f"Image does not fit {limit:,} encoded bytes as PNG and JPEG is not allowed", IMAGE_SIZE_ERROR
            )
        if img.mode not in ("L", "RGB"):
            img = img.convert("L" if img.mode == "1" else "RGB")
        size = 0
        for quality in _JPEG_QUALITIES:
            data = _encode(img, "JPEG", quality=quality)
            size = encoded_size(data)
            if size <= limit:
                self.transformed.append("jpeg" if quality == _JPEG_QUALITIES[0] else f"jpeg_q{quality}")
                self.sent_size = img.size
                return data, "JPEG"
        quality = _JPEG_QUALITIES[-1]
        for _ in range(_MAX_DOWNSCALE_STEPS):
            # Encoded size falls roughly with the pixel count: aim a little under the limit.
            scale = min(0.9, max(0.5, math.sqrt(limit / size) * 0.95))
            img = self.resized(img, scale)
            self.check_min_side(img.size, f"after downscaling to fit {limit:,} encoded bytes")
            data = _encode(img, "JPEG", quality=quality)
            size = encoded_size(data)
            if size <= limit:
                self.transformed.append(f"jpeg_q{quality}_downscale")
                self.sent_size = img.size
                return data, "JPEG"
        raise self.bad(
            f"Image still takes {size:,} encoded bytes at {img.size[0]}x{img.size[1]} px and JPEG quality "
            f"{quality}; the limit is {limit:,}",
            IMAGE_SIZE_ERROR,
        )

    def png_may_fit(self, img: Image.Image, source_format: str) -> bool:
        """Skip a PNG attempt that cannot fit: an over-limit PNG at the same pixel count will not shrink."""
        if source_format != "PNG" or self.grayscale:
            return True
        original_pixels = self.original_size[0] * self.original_size[1]
        predicted = len(self.raw) * 4 / 3 * (img.size[0] * img.size[1]) / original_pixels
        return predicted <= self.limits.max_encoded_bytes

    def result(
        self, data: bytes, out_format: str, width: int, height: int, sent_size: tuple[int, int]
    ) -> PreparedImage:
        return PreparedImage(
            data=data,
            content_sha256=self.sha256,
            source_bytes=len(self.raw),
            width=width,
            height=height,
            sent_width=sent_size[0],
            sent_height=sent_size[1],
            format=out_format,
            transformed=tuple(self.transformed),
        )


def decoded_pixels(width: int, height: int, image_format: str | None, limits: ImageLimits) -> int:
    """Pixels Pillow will decode: a JPEG over the size limit is drafted at 1/2, 1/4 or 1/8 scale."""
    long_side = max(width, height)
    if image_format != "JPEG" or long_side <= limits.max_side:
        return width * height
    reduce = 2 ** min(3, int(math.log2(long_side / limits.max_side)))
    return math.ceil(width / reduce) * math.ceil(height / reduce)


def _has_transparency(img: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an all-opaque alpha channel changes nothing)."""
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        return img.getchannel("A").getextrema()[0] < 255
    return img.mode == "P" and "transparency" in img.info


def _high_bit_depth_to_l(img: Image.Image) -> Image.Image:
    """16-bit and float scans -> 8-bit grey. Pillow's own convert("L") clips 16-bit values: all white."""
    pixels = np.asarray(img)
    if img.mode == "F":
        scaled = np.clip(pixels, 0, 255)
    elif pixels.max(initial=0) > 255:
        scaled = pixels.astype(np.uint32) >> 8
    else:
        scaled = pixels
    return Image.fromarray(scaled.astype(np.uint8))


def _encode(img: Image.Image, fmt: str, *, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        img.save(buffer, "JPEG", quality=quality)
    else:
        img.save(buffer, fmt)
    return buffer.getvalue()
