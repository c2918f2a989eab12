"""Listing S3 for a run: a source that cannot be listed fails at once, with its cause; images are served as
images (their content type from the key's suffix)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException
from baidu_ocr.exceptions import S3SourceUnavailable
from baidu_ocr.inputs.sources import content_type_of, list_image_objects
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
