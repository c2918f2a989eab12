"""``WarehouseLoader``: the warehouse's one front door for operators, DAGs and scripts.

It checks the tables once per loader (the check takes an advisory lock on PostgreSQL, so an operator
keeps one loader for its task) and hands each job to its module: ``load`` (idempotent loads per dialect),
``dedupe`` (what is already processed), ``ledger`` (``ocr_usage``), ``budget`` (``ocr_run_budget``), ``review`` (the review store),
``schema`` (create and migrate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from baidu_ocr.warehouse.budget import WarehouseBudgetLedger
from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.dedupe import PagesDone, processed_pages
from baidu_ocr.warehouse.invoice_summary import invoice_summary
from baidu_ocr.warehouse.ledger import UsageSums, record_usage, usage_sums
from baidu_ocr.warehouse.load import load_frames, row_counts
from baidu_ocr.warehouse.reads import read_rows
from baidu_ocr.warehouse.review import apply_invoice_review, apply_review, review_queue
from baidu_ocr.warehouse.schema import ensure_tables


class WarehouseLoader(WarehouseConnection):
    """Upsert normalized OCR frames into the warehouse behind an Airflow connection, and answer what it holds.

    :param conn_id: any connection whose hook is a common-sql ``DbApiHook`` (postgres, sqlite, ...).
    :param schema: PostgreSQL schema (namespace) holding the tables, created if missing; default: the
        connection's ``search_path``. Not supported on SQLite.
    :param hook: an already built hook (tests, or callers that configured one); skips the connection lookup.
    """

    def __init__(self, conn_id: str = "warehouse_default", *, schema: str | None = None, hook: Any = None):
        super().__init__(conn_id, schema=schema, hook=hook)
        self._schema_ready = False

    def ensure_schema(self, *, migrate: bool = False) -> None:
        """Create the schema (PostgreSQL) and every missing table; harmless when they exist. Checked once
        per loader: every other method starts here, and a second call returns at once.

        Tables created before documents had pages (no ``page_no`` column, a key without it) cannot take a
        page's rows: :class:`~baidu_ocr.warehouse.schema.OutdatedSchema` says so and what to run, unless
        ``migrate`` (then they are rebuilt, every stored row becoming page 0, as images are). Tables created
        before a column was declared (e.g. the confidence and review columns) raise it too; ``migrate``
        adds the missing columns (NULL in the stored rows).
        """
        if not self._schema_ready:
            ensure_tables(self, migrate=migrate)
            self._schema_ready = True

    def load(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        """Upsert one batch of frames (``normalize_records`` output) in one transaction.

        Returns the number of rows written per table. A document already stored with ``status='ok'`` is
        not overwritten by a failed attempt: the image was paid for and its rows stay. A document a person
        reviewed (``review_status='reviewed'``) is never overwritten, nor are its lines or queue row.
        """
        self.ensure_schema()
        return load_frames(self, frames)

    def already_processed(
        self,
        content_hashes: Iterable[str],
        endpoint: str,
        options_hash: str,
        *,
        include_bad_images: bool = True,
    ) -> set[str]:
        """The hashes among ``content_hashes`` that need no new OCR call for these options: images, and
        PDFs/OFDs with every page done (:meth:`processed_pages` tells which pages of the others are).

        That is every ``status='ok'`` document and, unless ``include_bad_images`` is false, every document
        that failed as ``bad_image``: Baidu (or the local checks) already said it cannot be recognized, and
        asking again would bill the same answer. Transient, rate-limit and quota failures are retried.
        """
        done = self.processed_pages(
            content_hashes, endpoint, options_hash, include_bad_images=include_bad_images
        )
        return {digest for digest, pages in done.items() if pages.complete}

    def processed_pages(
        self,
        content_hashes: Iterable[str],
        endpoint: str,
        options_hash: str,
        *,
        include_bad_images: bool = True,
    ) -> dict[str, PagesDone]:
        """Per content hash, the pages that need no new OCR call (0 for an image) and the page count stored.

        "Done" is what :meth:`already_processed` means: ``ok``, or refused as ``bad_image``.
        """
        self.ensure_schema()
        return processed_pages(
            self, content_hashes, endpoint, options_hash, include_bad_images=include_bad_images
        )

    def record_usage(self, rows: list[dict[str, Any]], prices: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Upsert ``ocr_usage`` rows (``usage.usage_rows``), each costed against the month's other calls of
        its endpoint (the free allowance goes to the calls recorded first). Returns the rows as written.

        Keyed on run, task, map index, try, endpoint and day: writing a try's figures again (a deferred
        task finishing, a retried write) replaces them instead of adding them twice.
        """
        if not rows:
            return []
        self.ensure_schema()
        return record_usage(self, rows, prices)

    def budget_ledger(self, dag_id: str, run_id: str) -> WarehouseBudgetLedger:
        """The run's ``max_billable_calls`` ledger (``ocr_run_budget``): reservations every task of the run
        shares, whichever worker it runs on."""
        self.ensure_schema()
        return WarehouseBudgetLedger(self, dag_id, run_id)

    def usage(
        self, *, dag_id: str | None = None, run_id: str | None = None, month_of_day: Any = None
    ) -> UsageSums:
        """``ocr_usage`` summed per endpoint: ``{endpoint: (billable_calls, failed_calls, estimated_cost)}``
        for one run (``dag_id`` + ``run_id``) or for the month of ``month_of_day`` (or both filters)."""
        self.ensure_schema()
        return usage_sums(self, dag_id=dag_id, run_id=run_id, month_of_day=month_of_day)

    def review_queue(self, dag_id: str, run_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The open ``ocr_review_queue`` rows a DAG run queued, least confident first (JSON-ready dicts). An
        invoice's row (failed checks, duplicates) also holds ``invoice``: its key fields, ``checks_failed`` as
        a list and ``duplicate_of``."""
        self.ensure_schema()
        return review_queue(self, dag_id, run_id, limit=limit)

    def invoice_summary(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The invoices a DAG run loaded, checked and de-duplicated (``invoice_summary.invoice_summary``)."""
        self.ensure_schema()
        return invoice_summary(self, dag_id, run_id)

    def apply_review(
        self,
        document: Mapping[str, Any],
        *,
        corrections: Mapping[int, str],
        reviewed_by: str,
        reviewed_at: datetime,
        reviewed_by_id: str | None = None,
    ) -> None:
        """Store a reviewer's answer for one document, in one transaction.

        Corrected lines get the new ``text`` (cleaned and capped: ``review_gate.clean_correction``), the
        OCR's text kept in ``original_text`` (the first time only: a second review keeps the machine's
        reading); every reviewed row gets ``reviewed_by`` (display name), ``reviewed_by_id`` (the user id)
        and ``reviewed_at``. The document becomes ``reviewed`` (never overwritten by a later load) and its
        queue row ``corrected`` or ``accepted``.
        """
        self.ensure_schema()
        apply_review(
            self,
            document,
            corrections=corrections,
            reviewed_by=reviewed_by,
            reviewed_by_id=reviewed_by_id,
            reviewed_at=reviewed_at,
        )

    def apply_invoice_review(
        self,
        document: Mapping[str, Any],
        *,
        accepted: bool,
        reviewed_by: str,
        reviewed_at: datetime,
        reviewed_by_id: str | None = None,
    ) -> None:
        """Store a reviewer's answer on one queued invoice, in one transaction: accepted (its
        ``review_status`` becomes ``reviewed``: book it after all) or rejected (``rejected``), with who and
        when; its document becomes ``reviewed`` (never overwritten by a later load), its queue row
        ``accepted`` or ``rejected``."""
        self.ensure_schema()
        apply_invoice_review(
            self,
            document,
            accepted=accepted,
            reviewed_by=reviewed_by,
            reviewed_by_id=reviewed_by_id,
            reviewed_at=reviewed_at,
        )

    def read_rows(self, table: str, *, dag_id: str | None = None, run_id: str | None = None) -> pd.DataFrame:
        """The rows of ``table`` (all, or those of the documents one DAG run loaded) with the declared dtypes:
        exact amounts as ``Decimal`` (SQLite stores them as text), dates as dates."""
        self.ensure_schema()
        return read_rows(self, table, dag_id=dag_id, run_id=run_id)

    def row_counts(self) -> dict[str, int]:
        """Rows per document table (monitoring and tests; ``ocr_usage`` is read with :meth:`usage`)."""
        return row_counts(self)
