"""Listing S3 for a run: a source that cannot be listed fails at once, with its cause; images are served as
images (their content type from the key's suffix); one source (bytes, a path, an S3 object) reads as its bytes."""

from __future__ import annotations

import io

import pytest
from airflow.sdk.exceptions import AirflowFailException
from baidu_ocr.exceptions import S3SourceUnavailable
from baidu_ocr.inputs.sources import content_type_of, list_image_objects, read_image_source
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.unit.conftest import BUCKET


class _RefusingS3:
    """An S3Hook whose listing fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def iter_file_metadata(self, prefix: str, bucket_name: str):
        raise self.error


def _client_error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ListObjectsV2")


def test_a_missing_bucket_fails_the_listing_at_once_naming_the_bucket(s3):
    """A run over a bucket that does not exist retried its listing as if it could succeed."""
    with pytest.raises(S3SourceUnavailable) as failed:
        list_image_objects(s3, "no-such-bucket", "scans/")
    assert isinstance(failed.value, AirflowFailException)  # Airflow does not retry it
    assert str(failed.value) == (
        "s3://no-such-bucket/scans/ cannot be listed: the bucket no-such-bucket does not exist (NoSuchBucket)"
    )


@pytest.mark.parametrize("code", ["AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "403"])
def test_an_access_error_fails_the_listing_at_once(code):
    with pytest.raises(
        S3SourceUnavailable, match=rf"s3://{BUCKET}/in/ cannot be listed: access denied \({code}\)"
    ):
        list_image_objects(_RefusingS3(_client_error(code, "Access Denied")), BUCKET, "in/")


@pytest.mark.parametrize(
    "error",
    [
        _client_error("SlowDown"),
        _client_error("InternalError"),
        EndpointConnectionError(endpoint_url="http://s3"),
    ],
)
def test_a_transient_listing_error_stays_retryable(error):
    with pytest.raises(type(error)):
        list_image_objects(_RefusingS3(error), BUCKET, "in/")


def test_an_empty_prefix_lists_nothing(s3):
    assert list_image_objects(s3, BUCKET, "nothing-here/") == []


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("scans/a.jpg", "image/jpeg"),
        ("scans/A.JPEG", "image/jpeg"),
        ("crops/p1-l3.png", "image/png"),
        ("x.bmp", "image/bmp"),
        ("x.tif", "image/tiff"),
        ("x.tiff", "image/tiff"),
        ("x.webp", "image/webp"),
        ("x.gif", "image/gif"),
        ("report.PDF", "application/pdf"),
        ("invoice.ofd", "application/ofd"),
        ("truth.json", None),
        ("no-suffix", None),
        ("scans/jpg", None),
    ],
)
def test_content_type_of_an_input_from_its_key_suffix(key, content_type):
    assert content_type_of(key) == content_type


# -- reading one source --------------------------------------------------------------------------------


class FakeS3Object:
    """What boto3's ``s3.Object`` looks like to us: ``get()`` returns ``{"Body": stream}``."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def get(self):
        return {"Body": io.BytesIO(self.data), "ContentLength": len(self.data)}


def test_sources_bytes_path_and_s3_shapes_read_the_same(tmp_path):
    raw = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # any bytes: reading does not decode
    path = tmp_path / "page.png"
    path.write_bytes(raw)
    sources = [
        raw,
        bytearray(raw),
        memoryview(raw),
        path,
        str(path),
        {"Body": io.BytesIO(raw)},
        FakeS3Object(raw),
        io.BytesIO(raw),
    ]
    for source in sources:
        assert read_image_source(source) == raw, type(source).__name__


def test_urls_and_unknown_objects_are_refused():
    with pytest.raises(ValueError, match="S3Hook"):
        read_image_source("s3://bucket/key.png")
    with pytest.raises(TypeError):
        read_image_source(12345)
