"""One ``make ui`` deployment (moto S3, the local OCR server on the fixture engine, ``airflow standalone``) for
every browser test: starting one takes a minute and a half. The tests share it as users share theirs; each
reads back only what its own runs, options or uploads produced."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ui(tmp_path_factory):
    from baidu_ocr_dev.ui import deployment

    root = tmp_path_factory.mktemp("ui")
    with deployment(root, engine="fixture", ready_timeout_s=240) as running:
        yield running
