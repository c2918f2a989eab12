"""The confidence gate's default threshold against the real engine's scores on the samples.

The clean documents (tuned and held-out) must all pass the gate, and the faded sample must not: the default in
``baidu_ocr.normalize.review_gate`` was chosen from these numbers (lowest clean line 0.92, faded line 0.86).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from baidu_ocr.normalize.review_gate import DEFAULT_MIN_CONFIDENCE
from baidu_ocr_server.engines.rapidocr_engine import RapidOcrEngine

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).resolve().parents[2] / "include" / "samples"
CLEAN = sorted((SAMPLES / "documents").glob("*.jpg")) + sorted(
    (SAMPLES / "validation" / "documents").glob("*.jpg")
)


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine()


def test_every_clean_document_line_passes_the_default_gate(engine):
    lowest = {
        path.relative_to(SAMPLES).as_posix(): min(
            line.prob_average for line in engine.recognize_lines(path.read_bytes()).lines
        )
        for path in CLEAN
    }
    assert min(lowest.values()) >= DEFAULT_MIN_CONFIDENCE, lowest


def test_the_faded_sample_falls_under_the_default_gate(engine):
    lines = engine.recognize_lines((SAMPLES / "review" / "faded_01.jpg").read_bytes()).lines
    low = [(line.text, line.prob_average) for line in lines if line.prob_average < DEFAULT_MIN_CONFIDENCE]
    assert len(low) == 1, low
    assert sum(line.prob_average >= DEFAULT_MIN_CONFIDENCE for line in lines) >= 4  # the rest reads clean
