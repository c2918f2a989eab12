"""Triggers that wait for Baidu's async jobs in the triggerer (:mod:`baidu_ocr.triggers.jobs`).

``from baidu_ocr.triggers import BaiduOcrTableJobTrigger`` keeps working, and so do trigger rows stored with
that older class path.
"""

from __future__ import annotations

from baidu_ocr.triggers.jobs import BaiduOcrParserTaskTrigger, BaiduOcrTableJobTrigger

__all__ = ["BaiduOcrParserTaskTrigger", "BaiduOcrTableJobTrigger"]
