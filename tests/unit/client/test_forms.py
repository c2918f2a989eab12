"""The request body is url-encoded once, to exactly what urllib would send, however long the base64."""

from __future__ import annotations

import base64
import os
from urllib.parse import parse_qs, urlencode

import pytest
from baidu_ocr.client.forms import encode_form, form_value


@pytest.mark.parametrize("size", [0, 10, 5000, 300_000])
def test_body_matches_urllib_for_images_of_any_size(size):
    image = base64.b64encode(os.urandom(size)).decode("ascii")
    data = {"image": image, "probability": True, "language_type": "CHN_ENG", "skip": None}
    expected = urlencode({k: form_value(v) for k, v in data.items() if v is not None}).encode("ascii")
    assert encode_form(data) == expected
    assert parse_qs(encode_form(data).decode("ascii"), keep_blank_values=True)["image"] == [image]


def test_long_values_that_are_not_base64_are_quoted_the_usual_way():
    text = "税务 & 发票 = 100%/" * 1000  # long, but not base64: the per-character path
    body = encode_form({"url": text, "detect_direction": False})
    assert body == urlencode({"url": text, "detect_direction": "false"}).encode("ascii")
