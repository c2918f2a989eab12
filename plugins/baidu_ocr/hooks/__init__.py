"""Hooks: :class:`~baidu_ocr.hooks.ocr.BaiduOcrHook` (sync, for workers) and the async client the triggers use.

``from baidu_ocr.hooks import BaiduOcrHook`` keeps working; the class lives in :mod:`baidu_ocr.hooks.ocr`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BaiduOcrHook", "reset_process_caches"]


def __getattr__(name: str) -> Any:
    # Lazy: importing ``baidu_ocr.hooks.batch`` must not import the hook (and requests, tenacity) first.
    if name in __all__:
        from baidu_ocr.hooks import ocr

        return getattr(ocr, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
