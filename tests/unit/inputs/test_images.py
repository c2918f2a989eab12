"""Image preparation: what passes untouched, what gets fixed, what is refused before a billable call."""

from __future__ import annotations

import hashlib
import io
import pickle
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from baidu_ocr.exceptions import BadImage
from baidu_ocr.inputs.image_limits import ImageLimits, encoded_size
from baidu_ocr.inputs.images import PreparedImage, decoded_pixels, prepare_image
from PIL import Image

RNG = np.random.default_rng(20240601)


def document(width: int = 240, height: int = 120, mode: str = "RGB") -> Image.Image:
    """A synthetic 'page': light background, dark bars of 'text', a red mark at the top-left corner."""
    pixels = np.full((height, width, 3), 235, dtype=np.uint8)
    for top in range(10, height - 10, 20):
        pixels[top : top + 8, 10 : width - 10] = 30
    pixels[: max(2, height // 10), : max(2, width // 10)] = (220, 20, 20)
    return Image.fromarray(pixels).convert(mode)


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def decode(prepared: PreparedImage) -> Image.Image:
    img = Image.open(io.BytesIO(prepared.data))
    img.load()
    return img


def bad_image_code(source, **kwargs) -> BadImage:
    with pytest.raises(BadImage) as info:
        prepare_image(source, endpoint="general_basic", **kwargs)
    return info.value


# -- pass-through -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP"])
def test_accepted_formats_are_sent_as_the_original_bytes(fmt):
    raw = encode(document(), fmt)
    prepared = prepare_image(raw)
    assert prepared.data == raw
    assert prepared.untouched and prepared.transformed == ()
    assert prepared.format == fmt
    assert (prepared.width, prepared.height) == (prepared.sent_width, prepared.sent_height) == (240, 120)
    assert prepared.source_bytes == len(raw)


def test_opaque_rgba_png_passes_but_transparent_one_is_flattened_on_white():
    opaque = document(mode="RGBA")
    assert prepare_image(encode(opaque, "PNG")).untouched

    # Black text on transparent black: dropping alpha would give a black page.
    transparent = Image.new("RGBA", (100, 40), (0, 0, 0, 0))
    transparent.paste((0, 0, 0, 255), (10, 10, 90, 20))
    prepared = prepare_image(encode(transparent, "PNG"))
    assert "flatten_alpha" in prepared.transformed
    out = decode(prepared).convert("RGB")
    assert out.getpixel((2, 2)) == (255, 255, 255)
    assert out.getpixel((50, 15)) == (0, 0, 0)


# -- fixes --------------------------------------------------------------------------------------------


def test_exif_orientation_is_applied_and_dimensions_swap():
    img = document(300, 100)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display = rotate 90 degrees clockwise
    raw = encode(img, "JPEG", exif=exif, quality=95)
    prepared = prepare_image(raw)
    assert prepared.transformed[0] == "exif_transpose"
    assert (prepared.width, prepared.height) == (300, 100)
    assert (prepared.sent_width, prepared.sent_height) == (100, 300)
    out = decode(prepared)
    assert out.size == (100, 300)
    assert out.getexif().get(0x0112) is None  # Baidu must not rotate it a second time
    # The red mark at the stored top-left is at the top-right once upright.
    red, green, _ = out.convert("RGB").getpixel((95, 3))
    assert red > 180 and green < 80


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_long_image_shrinks_to_the_longest_side_limit(fmt):
    raw = encode(document(5000, 300), fmt)
    prepared = prepare_image(raw)
    assert "shrink" in prepared.transformed
    assert (prepared.sent_width, prepared.sent_height) == (4096, 245)
    assert decode(prepared).size == (4096, 245)
    assert (prepared.width, prepared.height) == (5000, 300)
    # A connection that raises the limit for this endpoint gets the original back.
    raised = ImageLimits.from_extra({"endpoints": {"accurate": {"max_side": 8192}}}, endpoint="accurate")
    assert prepare_image(raw, limits=raised).data == raw


def test_noisy_png_over_the_size_limit_is_reencoded_under_it():
    noise = RNG.integers(0, 256, (3000, 3000), dtype=np.uint8)
    raw = encode(Image.fromarray(noise), "PNG", compress_level=1)
    limit = ImageLimits().max_encoded_bytes
    assert encoded_size(raw) > limit
    prepared = prepare_image(raw)
    assert encoded_size(prepared.data) <= limit
    assert prepared.format == "JPEG"
    assert any(step.startswith("jpeg") for step in prepared.transformed)
    assert decode(prepared).size == (prepared.sent_width, prepared.sent_height)
    assert min(prepared.sent_width, prepared.sent_height) >= 15


def test_image_that_cannot_fit_is_refused_with_the_limit_named():
    noise = RNG.integers(0, 256, (400, 400, 3), dtype=np.uint8)
    tight = ImageLimits(min_side=300, max_encoded_bytes=2048)
    error = bad_image_code(encode(Image.fromarray(noise), "PNG"), limits=tight)
    assert error.code == 216202
    assert "2,048" in error.message


@pytest.mark.parametrize(("fmt", "params"), [("TIFF", {}), ("WEBP", {"lossless": True}), ("GIF", {})])
def test_unsupported_formats_are_converted(fmt, params):
    raw = encode(document(), fmt, **params)
    prepared = prepare_image(raw)
    assert prepared.format in {"PNG", "JPEG"}
    assert prepared.transformed[-1] in {"png", "jpeg"}
    out = decode(prepared).convert("RGB")
    assert out.size == (240, 120)
    assert sum(out.getpixel((120, 14))) < 200  # a dark bar survived the conversion


def test_cmyk_jpeg_and_16_bit_png_become_portable_modes():
    cmyk = prepare_image(encode(document().convert("CMYK"), "JPEG"))
    assert cmyk.transformed[0] == "convert_cmyk"
    assert decode(cmyk).mode == "RGB"

    deep = (np.linspace(0, 65535, 200 * 50).reshape(50, 200)).astype(np.uint16)
    prepared = prepare_image(encode(Image.fromarray(deep), "PNG"))
    out = np.asarray(decode(prepared).convert("L"))
    # Pillow's plain convert("L") clips 16-bit values to white; ours keeps the ramp.
    assert out[0, 0] < 10 and out[-1, -1] > 245


# -- grayscale and binarize ---------------------------------------------------------------------------


def test_grayscale_sends_a_single_channel_image():
    prepared = prepare_image(encode(document(), "JPEG"), grayscale=True)
    assert "grayscale" in prepared.transformed
    assert decode(prepared).mode == "L"
    assert prepared.format == "JPEG"


def test_binarize_sends_black_and_white_only():
    prepared = prepare_image(encode(document(), "PNG"), binarize=True)
    assert "binarize" in prepared.transformed
    out = decode(prepared)
    assert out.mode == "1"
    assert set(np.unique(np.asarray(out.convert("L")))) == {0, 255}
    assert out.getpixel((120, 14)) == 0 and out.getpixel((120, 24)) == 255


# -- refusals -----------------------------------------------------------------------------------------


def test_tiny_image_is_refused_not_upscaled():
    error = bad_image_code(encode(document(10, 10), "PNG"))
    assert error.code == 216202
    assert "10x10" in error.message and "15 px" in error.message


def test_extreme_aspect_ratio_is_refused_after_shrinking():
    error = bad_image_code(encode(Image.new("L", (20000, 16), 255), "PNG"))
    assert error.code == 216202
    assert "after shrinking" in error.message


def test_empty_input_is_216200():
    assert bad_image_code(b"").code == 216200


def test_random_bytes_are_216201():
    error = bad_image_code(RNG.bytes(5000))
    assert error.code == 216201
    assert "JPEG" in error.message  # says what is accepted


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_images_are_216201(fmt):
    noise = RNG.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    raw = encode(Image.fromarray(noise), fmt)
    error = bad_image_code(raw[: len(raw) // 2])
    assert error.code == 216201
    assert "truncated" in error.message or "corrupt" in error.message


def test_decompression_bomb_is_refused_before_decoding(monkeypatch):
    raw = encode(Image.new("L", (300, 300), 255), "PNG")
    monkeypatch.setattr(
        Image, "MAX_IMAGE_PIXELS", 60_000
    )  # 90,000 px: past the warning, below Pillow's error
    with pytest.warns(Image.DecompressionBombWarning):
        error = bad_image_code(raw)
    assert error.code == 216202
    assert "decompression-bomb" in error.message and "60,000" in error.message
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 9x: Pillow raises on open
    assert bad_image_code(raw).code == 216202


def test_bad_image_pickles_and_names_endpoint_and_code():
    error = bad_image_code(encode(document(10, 10), "PNG"))
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is BadImage
    assert (clone.code, clone.endpoint, clone.message) == (216202, "general_basic", error.message)
    assert "general_basic" in str(clone) and "216202" in str(clone)


# -- S3 shapes and hashing ------------------------------------------------------------------------------


def test_boto3_s3_object_with_moto():
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    raw = encode(document(), "JPEG")
    with moto.mock_aws():
        s3 = boto3.resource("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="scans")
        s3.Object("scans", "in/page.jpg").put(Body=raw)
        from_object = prepare_image(s3.Object("scans", "in/page.jpg"))
        from_response = prepare_image(
            boto3.client("s3", region_name="us-east-1").get_object(Bucket="scans", Key="in/page.jpg")
        )
    assert from_object.data == from_response.data == raw


def test_content_hash_is_of_the_original_bytes_whatever_was_sent(tmp_path):
    raw = encode(document(5000, 300), "PNG")
    path = tmp_path / "wide.png"
    path.write_bytes(raw)
    from_bytes, from_path = prepare_image(raw), prepare_image(path)
    assert from_bytes.content_sha256 == from_path.content_sha256 == hashlib.sha256(raw).hexdigest()
    assert from_bytes.data != raw  # it was shrunk, yet hashes as the file it came from


# -- formats Pillow names differently ---------------------------------------------------------------


def test_animated_gif_sends_its_first_frame():
    frames = [document(), Image.new("RGB", (240, 120), (0, 0, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    prepared = prepare_image(buffer.getvalue())
    assert prepared.transformed[0] == "first_frame"
    assert decode(prepared).convert("RGB").getpixel((120, 24))[0] > 200  # the light page, not the black frame


def test_phone_mpo_is_a_jpeg_and_passes_untouched():
    buffer = io.BytesIO()
    document().save(buffer, "MPO", save_all=True, append_images=[document(mode="L").convert("RGB")])
    raw = buffer.getvalue()
    assert Image.open(io.BytesIO(raw)).format == "MPO"
    prepared = prepare_image(raw)
    assert prepared.data == raw and prepared.format == "JPEG"


def test_huge_jpeg_is_decoded_at_reduced_scale_and_shrunk():
    # 8300 px > 2 x 4096: draft() decodes at 1/2 scale, then LANCZOS brings it to exactly 4096.
    raw = encode(Image.new("L", (8300, 40), 200), "JPEG")
    prepared = prepare_image(raw)
    assert (prepared.sent_width, prepared.sent_height) == (4096, 19)
    assert prepared.transformed == ("shrink", "jpeg")


# -- memory: decompression-bomb-like files and concurrent decodes ------------------------------------


def test_a_small_png_that_decodes_past_the_cap_is_refused_from_its_header():
    raw = encode(Image.new("L", (9400, 9400), 255), "PNG")  # ~100 KB on disk, 88 MP decoded
    error = bad_image_code(raw)
    assert error.code == 216202
    assert "would decode to 88,360,000 px" in error.message


def test_the_decode_cap_follows_the_limits_and_counts_drafted_jpegs_at_their_draft_size():
    wide = ImageLimits(max_side=8192)
    assert wide.decode_pixel_cap == 4 * 8192**2
    assert ImageLimits(max_decode_pixels=10**6).decode_pixel_cap == 10**6
    # A 12000 px JPEG is drafted at 1/2 for a 4096 px limit: 6000 px decoded, under the cap.
    assert decoded_pixels(12000, 9000, "JPEG", ImageLimits()) == 6000 * 4500
    assert decoded_pixels(12000, 9000, "PNG", ImageLimits()) == 12000 * 9000


def test_four_bombs_at_once_stay_within_a_small_memory_budget():
    """Before the cap, each 9400 px PNG cost ~550 MB to decode: four at once ~2.2 GB."""
    code = (
        "import io, resource\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from PIL import Image\n"
        "from baidu_ocr.client.errors import BadImage\n"
        "from baidu_ocr.inputs.images import prepare_image\n"
        "buf = io.BytesIO(); Image.new('L', (9400, 9400), 255).save(buf, 'PNG'); raw = buf.getvalue()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "def one(_):\n"
        "    try:\n"
        "        prepare_image(raw)\n"
        "    except BadImage as exc:\n"
        "        return exc.code\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    codes = list(pool.map(one, range(4)))\n"
        "grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024\n"
        "print(codes, grown)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    codes, grown_mb = out.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert codes == "[216202, 216202, 216202, 216202]"
    assert int(grown_mb) < 100


def test_no_more_images_decode_at_once_than_there_are_decode_slots(monkeypatch):
    import baidu_ocr.inputs.images as images

    inside, peak, lock = 0, 0, threading.Lock()
    real_run = images._ImagePreparation.run

    def counting_run(self):
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        try:
            time.sleep(0.02)  # hold the slot so that other threads pile up behind it
            return real_run(self)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(images._ImagePreparation, "run", counting_run)
    raw = encode(document(200, 100), "PNG")
    with ThreadPoolExecutor(max_workers=images.DECODE_SLOTS * 4) as pool:
        results = list(pool.map(lambda _: prepare_image(raw), range(images.DECODE_SLOTS * 8)))
    assert len(results) == images.DECODE_SLOTS * 8
    assert peak >= 2  # threads did decode side by side...
    assert peak <= images.DECODE_SLOTS  # ...but never more than the slots
