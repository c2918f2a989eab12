"""Hooks: :class:`~baidu_ocr.hooks.ocr.BaiduOcrHook` (sync, for workers) and the async client the triggers use.

``from baidu_ocr.hooks import BaiduOcrHook`` keeps working; the class lives in :mod:`baidu_ocr.hooks.ocr`.
"""

from __future__ import annotations

from baidu_ocr.lazy_exports import lazy_exports

__all__ = ["BaiduOcrHook", "reset_process_caches"]
# Lazy: importing ``baidu_ocr.hooks.batch`` must not import the hook (and requests, tenacity) first.
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "baidu_ocr.hooks.ocr"))
