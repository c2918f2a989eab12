"""Airflow operators for Baidu OCR, one module per job (as the Amazon provider has one per service).

- ``ocr``: :class:`BaiduOcrBatchOperator` (a batch of S3 images, staged as Parquet) and
  :class:`BaiduOcrImageOperator` (one image, JSON through XCom).
- ``tables``: :class:`BaiduOcrTableOperator` (async table recognition, deferrable).
- ``parser``: :class:`BaiduOcrParserOperator` (long documents -> Markdown with the async parser, deferrable).
- ``load``: :class:`BaiduOcrWarehouseLoadOperator` (staged records -> normalized tables -> warehouse).
- ``review``: :class:`BaiduOcrReviewOperator` (human review of a gated document in Airflow's UI, HITL) and
  :class:`BaiduOcrApplyReviewsOperator` (the answers into the warehouse); :class:`BaiduOcrInvoiceReviewOperator`
  (book or reject an invoice that failed a check or is a duplicate).
- ``summary``: :class:`BaiduOcrRunSummaryOperator` (the run's numbers; fails the run when a batch failed).

Constructors only store arguments: the DAG processor builds operators on every parse.
"""

from __future__ import annotations

from baidu_ocr.exceptions import (
    BatchFailureRatioExceeded,
    ParserTasksTimedOut,
    RunHadFailedBatches,
    SubmitStopped,
    TableJobsTimedOut,
)
from baidu_ocr.operators.load import BaiduOcrWarehouseLoadOperator
from baidu_ocr.operators.ocr import BaiduOcrBatchOperator, BaiduOcrImageOperator
from baidu_ocr.operators.parser import BaiduOcrParserOperator
from baidu_ocr.operators.review import (
    BaiduOcrApplyReviewsOperator,
    BaiduOcrInvoiceReviewOperator,
    BaiduOcrReviewOperator,
)
from baidu_ocr.operators.summary import BaiduOcrRunSummaryOperator
from baidu_ocr.operators.tables import BaiduOcrTableOperator

__all__ = [
    "BaiduOcrApplyReviewsOperator",
    "BaiduOcrInvoiceReviewOperator",
    "BaiduOcrReviewOperator",
    "BaiduOcrBatchOperator",
    "BaiduOcrImageOperator",
    "BaiduOcrParserOperator",
    "BaiduOcrRunSummaryOperator",
    "BaiduOcrTableOperator",
    "BaiduOcrWarehouseLoadOperator",
    "BatchFailureRatioExceeded",
    "SubmitStopped",
    "ParserTasksTimedOut",
    "RunHadFailedBatches",
    "TableJobsTimedOut",
]
