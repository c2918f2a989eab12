"""Load operator: staged raw records -> normalized tables -> the warehouse, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from baidu_ocr.operators.base import MAX_LINEAGE_INPUTS, WarehouseOperatorMixin
from baidu_ocr.pii.connection import DEFAULT_PII_CONN_ID, opening_keys, pii_policy
from baidu_ocr.pipeline.manifests import manifest_list
from baidu_ocr.pipeline.params import unset
from baidu_ocr.pipeline.staging import DEFAULT_STAGING_PREFIX, run_folder, s3_uri
from baidu_ocr.pipeline.step_errors import publish_error

if TYPE_CHECKING:
    import pandas as pd
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from baidu_ocr.pii.policy import PiiPolicy

# XCom key of the load: how many staged records it could not open (their sealed ID numbers), kept in staging.
UNOPENED_RECORDS_XCOM = "unopened_sealed_records"


class BaiduOcrWarehouseLoadOperator(WarehouseOperatorMixin, BaseOperator):
    """Read staged raw records, normalize them into tables and upsert them into the warehouse.

    :param manifests: the manifests of the OCR tasks (a mapped task's output is fine); ``None`` entries and
        manifests without a ``uri`` are ignored.
    :param warehouse_conn_id: common-sql connection of the warehouse (SQLite, PostgreSQL, ...).
    :param pii_conn_id: connection holding the PII keys (password = HMAC key, extra ``encryption_key`` =
        base64 of 32 bytes, optional). Required only when ID cards are loaded.
    :param aws_conn_id: the AWS connection for S3.
    :param staging_bucket: with it, the load also reads every part staged for this DAG run under
        ``staging_prefix``, so parts of a batch that died before publishing its manifest are loaded too.
    :param staging_prefix: the OCR tasks' staging prefix.
    :param adopted_staging: staging folders (``s3://bucket/prefix/``) of runs whose objects this run took on
        (the OCR tasks' ``adopted_staging``): their parts are loaded too, as what this run did not pay for.
    :param mask_id_numbers: mask ID-number-shaped text in every table (default; see ``normalize.masking``).
    :param min_confidence: the confidence gate (``baidu_ocr.normalize.review_gate``): a text document with a line under it
        (Baidu's ``probability.average``; ask for ``probability=true``), or with no line at all, is loaded
        as ``review_status='needs_review'`` and queued in ``ocr_review_queue``. ``None``: no gate.
    :param tables: the warehouse tables this load writes. Each becomes an outlet (an ``AssetAlias``, see
        ``baidu_ocr.pipeline.assets``), and a table that received rows gets an asset event for
        ``warehouse_asset(table)`` whose extra holds the rows per table and the run's key figures
        (documents seen / skipped / ok / failed, pages ok / failed, billable calls, status checks). A table
        with no rows gets no event.

    A failed load publishes ``{"error": ...}`` as its output before failing, so the run summary fails the
    run with the reason; nothing staged is deleted.
    """

    template_fields: Sequence[str] = (
        "manifests",
        "warehouse_conn_id",
        "staging_bucket",
        "staging_prefix",
        "min_confidence",
        "adopted_staging",
    )
    ui_color = "#fef7e0"

    def __init__(
        self,
        *,
        manifests: Any,
        warehouse_conn_id: str = "warehouse_default",
        pii_conn_id: str | None = None,
        aws_conn_id: str | None = "aws_default",
        staging_bucket: str | None = None,
        staging_prefix: str = DEFAULT_STAGING_PREFIX,
        mask_id_numbers: bool = True,
        tables: Sequence[str] = (),
        min_confidence: Any = None,
        adopted_staging: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        from baidu_ocr.pipeline.assets import warehouse_alias

        # Built from the connection id as given: the outlets are fixed when the DAG is parsed.
        aliases = {table: warehouse_alias(table, warehouse_conn_id) for table in tables}
        if aliases:
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), *aliases.values()]
        super().__init__(**kwargs)
        self.tables = tuple(tables)
        self.table_aliases = aliases
        self.mask_id_numbers = mask_id_numbers
        self.manifests = manifests
        self.warehouse_conn_id = warehouse_conn_id
        self.pii_conn_id = pii_conn_id
        self.aws_conn_id = aws_conn_id
        self.staging_bucket = staging_bucket
        self.staging_prefix = staging_prefix
        self._lineage_files: list[str] = []  # the staged files read (s3:// URIs), for OpenLineage
        self._lineage_rows: dict[str, int] | None = None
        self._lineage_cost: dict[str, Any] = {}  # manifests.cost_figures, read while the task runs
        self.min_confidence = min_confidence
        self.adopted_staging = adopted_staging

    def execute(self, context: Context) -> dict[str, int]:
        self._lineage_files, self._lineage_rows, self._lineage_cost = [], None, {}
        try:
            return self._load(context)
        except Exception as exc:
            publish_error(context["ti"], exc)
            raise

    def _staged_files(self, context: Context, s3: S3Hook) -> list[str]:
        """The staged files the manifests point to, and every part staged for this run
        (``staging_bucket``)."""
        from botocore.exceptions import ClientError

        from baidu_ocr.inputs.sources import MISSING_BUCKET_CODES
        from baidu_ocr.pipeline.staging import staged_files

        files = staged_files(s3, [m.get("uri") for m in manifest_list(self.manifests)])
        files += staged_files(s3, list(self.adopted_staging or ()))
        if self.staging_bucket:
            ti = context["ti"]
            run = s3_uri(self.staging_bucket, run_folder(self.staging_prefix, ti.dag_id, ti.run_id))
            try:
                files += staged_files(s3, [run])
            except ClientError as exc:
                # A bucket that does not exist holds nothing staged (the run's listing failed on it): the
                # listing's failure is the run's, not the load's.
                if exc.response.get("Error", {}).get("Code") not in MISSING_BUCKET_CODES:
                    raise
                self.log.info(
                    "Staging bucket %s does not exist: nothing was staged there", self.staging_bucket
                )
        return list(dict.fromkeys(files))

    def _load(self, context: Context) -> dict[str, int]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from baidu_ocr.normalize import normalize_records
        from baidu_ocr.pipeline.records import SEALED_PII_ERROR
        from baidu_ocr.pipeline.staging import read_records

        s3 = S3Hook(aws_conn_id=self.aws_conn_id)
        files = self._staged_files(context, s3)
        self._lineage_files = [str(f) for f in files][:MAX_LINEAGE_INPUTS]
        records = self._unsealed(read_records(s3, files))
        gate = None if unset(self.min_confidence) else float(self.min_confidence)
        frames = normalize_records(
            records, pii=self._pii_policy(), mask_id_numbers=self.mask_id_numbers, min_confidence=gate
        )
        loaded = dict(self.warehouse.load(frames))
        self._lineage_rows = loaded
        if unopened := int((records["error_class"] == SEALED_PII_ERROR).sum()):
            # Whoever would delete the staged responses after the load must keep these: they were paid for.
            context["ti"].xcom_push(key=UNOPENED_RECORDS_XCOM, value=unopened)
        from baidu_ocr.pipeline.manifests import cost_figures

        self._lineage_cost = cost_figures(manifest_list(self.manifests))
        self.log.info("Loaded %d staged record(s) from %d file(s): %s", len(records), len(files), loaded)
        if loaded.get("ocr_review_queue"):
            self.log.info(
                "%d document(s) under the confidence gate (%s) loaded as needs_review and queued for review",
                loaded["ocr_review_queue"],
                gate,
            )
        self._emit_asset_events(context, loaded)
        return loaded

    def _emit_asset_events(self, context: Context, loaded: dict[str, int]) -> None:
        """One asset event per declared table that received rows, carrying the counts and the run's figures."""
        if not self.tables:
            return
        from baidu_ocr.pipeline.assets import warehouse_asset
        from baidu_ocr.pipeline.manifests import asset_event_extra

        rows = {table: n for table, n in loaded.items() if n}
        if undeclared := sorted(set(rows) - set(self.tables)):
            self.log.warning("Rows loaded into %s, which this task does not declare: no event", undeclared)
        figures = asset_event_extra(manifest_list(self.manifests), rows)
        emitted = [table for table in self.tables if rows.get(table)]
        for table in emitted:
            context["outlet_events"][self.table_aliases[table]].add(
                warehouse_asset(table, self.warehouse_conn_id),
                extra={"table": table, "rows": rows[table], **figures},
            )
        skipped = [table for table in self.tables if table not in emitted]
        self.log.info(
            "Asset events for %s; none for %s (no rows)", emitted or "no table", skipped or "no table"
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs: the staged files read; outputs: the tables written, with their row counts; run facet:
        the run's OCR cost (the figures its asset events carry)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        from baidu_ocr.pipeline.lineage import cost_facet, s3_inputs_of, warehouse_datasets

        rows = self._lineage_rows or {}
        written = [table for table, n in rows.items() if n]
        return OperatorLineage(
            inputs=s3_inputs_of(self._lineage_files),
            outputs=warehouse_datasets(self.warehouse_conn_id, written, rows=rows) if written else [],
            # From what execute read: the lineage process must not fetch XComs again.
            run_facets={"baidu_ocr_cost": cost_facet(self._lineage_cost)},
        )

    def _pii_policy(self) -> PiiPolicy | None:
        return pii_policy(self.pii_conn_id) if self.pii_conn_id else None

    def _unsealed(self, records: pd.DataFrame) -> pd.DataFrame:
        """The staged records with the ID numbers the batch tasks sealed opened again, in memory only.

        A record that cannot be opened (no PII connection, a key it does not hold or list as retired, a
        token altered in staging) becomes that document's recorded failure (``error_class`` ``sealed_pii``,
        the reason in ``error_msg``, no result): the other records load."""
        import pandas as pd

        from baidu_ocr.pii.sealing import MARK, SealedIdNumbersError, unseal_id_numbers
        from baidu_ocr.pipeline.records import SEALED_COLUMNS, SEALED_PII_ERROR

        columns = [c for c in SEALED_COLUMNS if c in records]
        marked = pd.Series(False, index=records.index)
        for column in columns:  # column by column: an empty frame's apply() keeps the string dtype
            marked |= (
                records[column].astype("string").str.contains(MARK, regex=False).fillna(False).astype(bool)
            )
        if not marked.any():
            return records  # nothing sealed or escaped: no PII connection to read
        conn_id = self.pii_conn_id or DEFAULT_PII_CONN_ID
        keys = opening_keys(conn_id)
        failed: dict[str, int] = {}
        for index in records.index[marked]:
            try:
                opened = {c: unseal_id_numbers(_text(records.at[index, c]), keys) for c in columns}
            except SealedIdNumbersError as exc:
                reason = (
                    f"The sealed ID numbers of this staged record cannot be opened: {exc}. Load it with the "
                    f"PII connection {conn_id!r} the batch task used (the same password, or that password "
                    f"in its extra 'retired_hmac_keys')"
                )
                failed[str(exc)] = failed.get(str(exc), 0) + 1
                records.loc[index, ["status", "error_class", "error_code", "error_msg", "result_json"]] = [
                    "failed",
                    SEALED_PII_ERROR,
                    None,
                    reason,
                    None,
                ]
                continue
            for column, text in opened.items():
                records.at[index, column] = text
        for reason, n in failed.items():
            self.log.error(
                "%d staged record(s) loaded as failed (%s): their sealed ID numbers cannot be opened: %s. "
                "Give the PII connection %r the password the batch tasks used, or list it in the extra "
                "'retired_hmac_keys', and rerun",
                n,
                SEALED_PII_ERROR,
                reason,
                conn_id,
            )
        return records


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
