"""Make an image acceptable to Baidu OCR before paying for the call, or reject it with a clear reason.

Baidu bills a call even when it answers "image size error", and it rejects what a client could have fixed
(a 6000 px phone photo, a 9 MB PNG, a sideways EXIF-rotated JPEG, a TIFF). So every image goes through
:func:`prepare_image` first: it validates (format, truncation, size, decompression bombs), fixes what can be
fixed (EXIF orientation, oversize, unsupported formats and modes) and raises
:class:`~baidu_ocr.client.errors.BadImage` with Baidu's own code (216200 empty, 216201 not an image / corrupt,
216202 size) for what cannot. An image that already fits is sent as its original bytes, untouched.

Limits default to the strictest figures Baidu documents for its OCR family (base64 + url-encoding
<= 4 MB, shortest side >= 15 px, longest side <= 4096 px, JPEG/PNG/BMP): newer pages allow more for some
endpoints (``accurate``: 10 MB, 8192 px), so a connection raises them explicitly (:meth:`ImageLimits.from_extra`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from baidu_ocr.client.errors import EMPTY_IMAGE, IMAGE_SIZE_ERROR, NOT_AN_IMAGE
from baidu_ocr.exceptions import BadImage, ConfigError

MB = 1024 * 1024
# Images decoded at once in this process, whatever the number of OCR threads: decoding is CPU-bound (Pillow
# releases the GIL), so more than one per core buys no speed, only memory (a 67 MP image is ~200 MB decoded).
DECODE_SLOTS = max(2, os.cpu_count() or 2)
_decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)

# Pillow names some files after a container of a format Baidu reads: phone cameras write MPO (a JPEG
# with extra pictures appended); every JPEG decoder reads its first picture.
_FORMAT_ALIASES = {"JPG": "JPEG", "MPO": "JPEG", "TIF": "TIFF"}
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
class ImageLimits:
    """What Baidu accepts for one endpoint. Defaults: the strictest figures Baidu documents for any endpoint."""

    min_side: int = 15
    max_side: int = 4096
    # Measured like Baidu: the length of the base64 text after url-encoding (see encoded_size()).
    max_encoded_bytes: int = 4 * MB
    # Pixels one image may decode to (None: 4 x max_side², i.e. a 67 MP photo at 4096 px, which holds
    # every phone camera). A small file past it (a decompression bomb: 258 KB of PNG decoding to 550 MB)
    # is refused from its header, before a byte is decoded. JPEGs count after draft() scaling.
    max_decode_pixels: int | None = None
    # Formats sent as they are; anything else Pillow can read (TIFF, WEBP, GIF, ...) is converted.
    formats: frozenset[str] = field(default_factory=lambda: frozenset({"JPEG", "PNG", "BMP"}))

    @property
    def decode_pixel_cap(self) -> int:
        return self.max_decode_pixels or 4 * self.max_side**2

    def __post_init__(self) -> None:
        if not 1 <= self.min_side <= self.max_side:
            raise ValueError(f"need 1 <= min_side <= max_side, got {self.min_side} and {self.max_side}")
        if self.max_encoded_bytes < 1024:
            raise ValueError(f"max_encoded_bytes must be at least 1024, got {self.max_encoded_bytes}")
        normalized = frozenset(_FORMAT_ALIASES.get(f.upper(), f.upper()) for f in self.formats)
        if not normalized & {"JPEG", "PNG"}:
            raise ValueError("formats must include JPEG or PNG: converted images are sent as one of them")
        object.__setattr__(self, "formats", normalized)

    @classmethod
    def from_extra(
        cls, extra: Mapping[str, Any] | None, *, base: ImageLimits | None = None, endpoint: str | None = None
    ) -> ImageLimits:
        """Limits from a connection's ``extra["image_limits"]``, on top of ``base`` (an endpoint's defaults).

        Keys: ``min_side``, ``max_side``, ``max_encoded_bytes`` (or ``max_encoded_mb``), ``formats`` (list);
        ``endpoints`` maps an endpoint name to the same keys for that endpoint only (applied when
        ``endpoint`` is given), e.g. ``{"endpoints": {"accurate": {"max_side": 8192, "max_encoded_mb": 10}}}``.

        :raises ConfigError: an unknown key or an impossible value, named.
        """
        limits = base or cls()
        extra = dict(extra or {})
        per_endpoint = extra.pop("endpoints", None) or {}
        if not isinstance(per_endpoint, Mapping):
            raise ConfigError("image_limits.endpoints must map endpoint names to limits")
        limits = limits._with(extra, where="image_limits")
        if endpoint and endpoint in per_endpoint:
            limits = limits._with(
                dict(per_endpoint[endpoint] or {}), where=f"image_limits.endpoints.{endpoint}"
            )
        return limits

    def _with(self, overrides: dict[str, Any], *, where: str) -> ImageLimits:
        known = {f.name for f in fields(self)}
        if "max_encoded_mb" in overrides:
            overrides["max_encoded_bytes"] = int(float(overrides.pop("max_encoded_mb")) * MB)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(
                f"Unknown key(s) {unknown} in {where}; known: {sorted(known | {'max_encoded_mb'})}"
            )
        try:
            if "formats" in overrides:
                overrides["formats"] = frozenset(str(f) for f in overrides["formats"])
            for key in ("min_side", "max_side", "max_encoded_bytes", "max_decode_pixels"):
                if key in overrides:
                    overrides[key] = int(overrides[key])
            return replace(self, **overrides)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Invalid {where}: {exc}") from None


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


def encoded_size(data: bytes) -> int:
    """Length of ``urlencode(base64(data))``: the figure Baidu compares with its size limit.

    Base64 output is 4/3 of the input; url-encoding then turns each ``+``, ``/`` and ``=`` into three
    characters, which adds about 6% on random data — enough to push a "3.9 MB" image over 4 MB.
    """
    encoded = base64.b64encode(data)
    escaped = len(encoded) - len(encoded.translate(None, b"+/="))  # one pass instead of three count()s
    return len(encoded) + 2 * escaped


def read_image_source(source: Any) -> bytes:
    """The bytes of an image given as bytes, a local path, or an S3 object already at hand.

    S3 objects: a boto3 ``s3.Object`` (``.get()["Body"]``), a ``get_object`` response (``{"Body": ...}``)
    or any file-like object with ``.read()``. URL strings are refused rather than fetched: downloads belong
    to hooks with connections (S3Hook), not to an image helper.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if isinstance(text, str) and "://" in text:
            raise ValueError(
                "Image sources are bytes, local paths or S3 objects; read remote URLs with their hook "
                "(e.g. S3Hook.get_key) or pass url= to the OCR call"
            )
        return Path(text).read_bytes()
    if isinstance(source, Mapping):
        if "Body" not in source:
            raise TypeError("A mapping image source must be a get_object response with a 'Body'")
        return _read_body(source["Body"])
    if callable(getattr(source, "read", None)):
        data = source.read()  # the caller's file: theirs to close
        if isinstance(data, str):
            raise TypeError("The image stream returned text; open it in binary mode")
        return bytes(data)
    if callable(getattr(source, "get", None)):  # boto3 s3.Object
        response = source.get()
        if isinstance(response, Mapping) and "Body" in response:
            return _read_body(response["Body"])
    raise TypeError(f"Unsupported image source type: {type(source).__name__}")


def _read_body(body: Any) -> bytes:
    """Read an S3 response body and close it: an unclosed StreamingBody holds a pooled connection."""
    try:
        return bytes(body.read())
    finally:
        close = getattr(body, "close", None)
        if callable(close):
            close()


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
        source_format = _FORMAT_ALIASES.get(img.format or "", img.format or "UNKNOWN")
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
            width, height, _FORMAT_ALIASES.get(image_format or "", image_format), self.limits
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


def _encode(img: Image.Image, fmt: str, *, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        img.save(buffer, "JPEG", quality=quality)
    else:
        img.save(buffer, fmt)
    return buffer.getvalue()
