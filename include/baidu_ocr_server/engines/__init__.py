"""OCR engines behind one interface (``base.Engine``): ``rapidocr`` (real OCR) and ``fixture``."""

from __future__ import annotations

from pathlib import Path

from baidu_ocr_server.engines.base import Engine

ENGINE_NAMES = ("rapidocr", "fixture")


def load_engine(name: str, samples_dir: str | Path | None = None) -> Engine:
    """Build an engine by name. rapidocr (onnxruntime + models) is imported only when asked for."""
    if name == "fixture":
        from baidu_ocr_server.engines.fixture import FixtureEngine

        return FixtureEngine(samples_dir)
    if name == "rapidocr":
        from baidu_ocr_server.engines.rapidocr_engine import RapidOcrEngine

        return RapidOcrEngine()
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")
