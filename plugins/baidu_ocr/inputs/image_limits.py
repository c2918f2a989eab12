"""What Baidu accepts for an image, per endpoint, and how its size limit is measured.

Limits default to the strictest figures Baidu documents for its OCR family (base64 + url-encoding
<= 4 MB, shortest side >= 15 px, longest side <= 4096 px, JPEG/PNG/BMP): newer pages allow more for some
endpoints (``accurate``: 10 MB, 8192 px), so a connection raises them explicitly (:meth:`ImageLimits.from_extra`).
``images.prepare_image`` holds every image to them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from baidu_ocr.exceptions import ConfigError

MB = 1024 * 1024
# Pillow names some files after a container of a format Baidu reads: phone cameras write MPO (a JPEG
# with extra pictures appended); every JPEG decoder reads its first picture.
FORMAT_ALIASES = {"JPG": "JPEG", "MPO": "JPEG", "TIF": "TIFF"}


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
        normalized = frozenset(FORMAT_ALIASES.get(f.upper(), f.upper()) for f in self.formats)
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


def encoded_size(data: bytes) -> int:
    """Length of ``urlencode(base64(data))``: the figure Baidu compares with its size limit.

    Base64 output is 4/3 of the input; url-encoding then turns each ``+``, ``/`` and ``=`` into three
    characters, which adds about 6% on random data — enough to push a "3.9 MB" image over 4 MB.
    """
    encoded = base64.b64encode(data)
    escaped = len(encoded) - len(encoded.translate(None, b"+/="))  # one pass instead of three count()s
    return len(encoded) + 2 * escaped
