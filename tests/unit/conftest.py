"""What unit tests of several packages share: an in-process moto S3 with one bucket, and tiny images."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

BUCKET = "scans"


def png(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    """A tiny, valid PNG whose bytes differ per seed."""
    img = Image.new("L", size, color=seed % 256)
    img.putpixel((seed % size[0], 0), (seed + 128) % 256)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def s3(monkeypatch):
    """An in-process moto S3 with one bucket; ``aws_default`` points at it."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "extra": {"region_name": "us-east-1"}})
    )
    with mock_aws():
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id="aws_default")
        hook.create_bucket(BUCKET)
        yield hook
