"""Images are served as images: a browser shows them instead of downloading ``binary/octet-stream``.

The samples ``make demo`` and ``make ui`` upload are stored with their content type (from the key's suffix,
``inputs.sources.content_type_of``): the review page of ``make ui`` links one. A real moto server over HTTP,
as the demo uses.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests

pytestmark = pytest.mark.integration


@pytest.fixture
def moto_s3(monkeypatch) -> Iterator[tuple[str, object]]:
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "t"),
            ("AWS_SECRET_ACCESS_KEY", "t"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ):
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(
            "AIRFLOW_CONN_AWS_DEFAULT",
            json.dumps({"conn_type": "aws", "extra": {"endpoint_url": url, "region_name": "us-east-1"}}),
        )
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        yield url, client
    finally:
        server.stop()


def test_the_samples_make_demo_uploads_are_stored_with_their_content_type(moto_s3):
    from baidu_ocr_dev.demo import SAMPLES_PREFIX, upload_samples

    url, client = moto_s3
    assert upload_samples(url, "demo") > 0
    types = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="demo", Prefix=SAMPLES_PREFIX):
        for obj in page["Contents"]:
            suffix = obj["Key"].rsplit(".", 1)[-1]
            types.setdefault(suffix, set()).add(
                client.head_object(Bucket="demo", Key=obj["Key"])["ContentType"]
            )
    assert (types["jpg"], types["png"], types["pdf"]) == ({"image/jpeg"}, {"image/png"}, {"application/pdf"})
    # The link make ui's review page gave the reviewer: a plain presigned GET of the scan.
    link = client.generate_presigned_url(
        "get_object", Params={"Bucket": "demo", "Key": f"{SAMPLES_PREFIX}review/faded_01.jpg"}
    )
    response = requests.get(link, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
