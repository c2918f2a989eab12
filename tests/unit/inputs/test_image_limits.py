"""Image limits: measured as Baidu measures them, raised from a connection's extra, refused when impossible."""

from __future__ import annotations

import base64
import urllib.parse

import numpy as np
import pytest
from baidu_ocr.exceptions import ConfigError
from baidu_ocr.inputs.image_limits import ImageLimits, encoded_size

RNG = np.random.default_rng(20240601)


def test_encoded_size_is_the_url_encoded_base64_length():
    for data in (b"", b"\xfb\xff\xfe" * 100, RNG.bytes(3001)):
        expected = len(urllib.parse.quote_plus(base64.b64encode(data).decode()))
        assert encoded_size(data) == expected


def test_limits_from_connection_extra():
    base = ImageLimits()
    raised = ImageLimits.from_extra(
        {"max_side": 8192, "max_encoded_mb": 10, "formats": ["jpg", "png"]}, base=base
    )
    assert raised.max_side == 8192
    assert raised.max_encoded_bytes == 10 * 1024 * 1024
    assert raised.formats == {"JPEG", "PNG"}
    per_endpoint = {"endpoints": {"accurate": {"max_side": 8192}}}
    assert ImageLimits.from_extra(per_endpoint, endpoint="accurate").max_side == 8192
    assert ImageLimits.from_extra(per_endpoint, endpoint="general_basic").max_side == 4096
    assert ImageLimits.from_extra(None) == base


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [({"max_sid": 8192}, "max_sid"), ({"min_side": 5000}, "min_side"), ({"max_side": "big"}, "image_limits")],
)
def test_bad_limits_are_config_errors_naming_the_key(extra, fragment):
    with pytest.raises(ConfigError, match=fragment):
        ImageLimits.from_extra(extra)
