"""Raw records as the OCR tasks stage them, built from the documented response fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baidu_ocr.pipeline.records import OcrOutcome

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "baidu_responses"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def ok_record(
    result: dict | str,
    *,
    endpoint: str,
    sha: str = "a" * 64,
    options: dict[str, Any] | None = None,
    processed_at: datetime | None = None,
) -> dict:
    body = load_fixture(result) if isinstance(result, str) else result
    outcome = OcrOutcome(
        key=f"s3://bucket/{sha[:8]}.jpg", ok=True, result=body, content_sha256=sha, attempts=1
    )
    return outcome.to_record(
        endpoint=endpoint, options=options, processed_at=processed_at or datetime(2024, 5, 1, tzinfo=UTC)
    )


def failed_record(
    *, endpoint: str, sha: str = "f" * 64, code: str = "216201", error_class: str = "bad_image"
) -> dict:
    outcome = OcrOutcome(
        key="s3://bucket/broken.jpg",
        ok=False,
        error_code=code,
        error_class=error_class,
        error_msg="image format error",
        attempts=1,
        content_sha256=sha,
        log_id="18446744073709551615",
    )
    return outcome.to_record(endpoint=endpoint, processed_at=datetime(2024, 5, 1, tzinfo=UTC))
