"""Human review in Airflow's UI of the documents the confidence gate queued (``ocr_review_queue``).

:class:`BaiduOcrReviewOperator` is Airflow 3's human-in-the-loop operator, one task per queued document
(mapped over :meth:`WarehouseLoader.review_queue`): the reviewer sees the page and each low-confidence line
as scanned beside the OCR's text, and a form field per line holding that text; they either accept the
lines or save corrected text. :class:`BaiduOcrApplyReviewsOperator` then writes the answers to the
warehouse, each on its own. A review not answered within ``timeout_minutes`` ends without an answer: the
rows stay ``needs_review`` and the run still succeeds.

:class:`BaiduOcrInvoiceReviewOperator` is its sibling for invoices queued by their checks or as duplicates:
the reviewer sees the invoice's fields, its failed checks and (a duplicate) the earlier copy, and books it
after all or rejects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import BaseOperator, Param
from airflow.sdk.definitions.param import ParamsDict

from baidu_ocr.exceptions import ReviewsNotStored
from baidu_ocr.normalize.review_gate import MAX_CORRECTION_CHARS, corrections_from, line_field
from baidu_ocr.operators.base import WarehouseOperatorMixin
from baidu_ocr.pipeline.params import unset
from baidu_ocr.pipeline.review_body import (
    ACCEPT,
    BOOK,
    CORRECT,
    REJECT,
    ReviewLinks,
    invoice_review_body,
    review_body,
)
from baidu_ocr.pipeline.staging import DEFAULT_STAGING_PREFIX, staging_key

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

__all__ = [
    "ACCEPT",
    "BOOK",
    "CORRECT",
    "REJECT",
    "TIMED_OUT",
    "BaiduOcrApplyReviewsOperator",
    "BaiduOcrInvoiceReviewOperator",
    "BaiduOcrReviewOperator",
]

TIMED_OUT = "timed_out"
INVOICE_REVIEW = "invoice"  # the ``kind`` of an invoice review's answer
S3_LONGEST_SIGNATURE_S = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
DEFAULT_REVIEW_TIMEOUT_MINUTES = 24 * 60.0
_NO_POSITIONS = (
    "Baidu returned no line positions (this endpoint gives none), so the lines are not cut out: compare "
    "them with the page."
)
_PDF_PAGE = (
    "Lines of a PDF page are not cut out (Baidu does not say at which scale it read the page): compare "
    "them with the page."
)


class BaiduOcrReviewOperator(HITLOperator):
    """Ask a person, in Airflow's UI, to check one queued document's low-confidence lines against the scan.

    :param document: one ``ocr_review_queue`` item (``WarehouseLoader.review_queue``): the document key,
        ``source_uri``, ``reason``, ``low_lines`` (with their ``box`` when the endpoint returns positions)
        and confidence figures. Usually mapped.
    :param timeout_minutes: how long the review stays open; unanswered, the task ends with ``timed_out``
        and the document stays ``needs_review`` (the run still succeeds). ``None``: no limit.
    :param aws_conn_id: the S3 connection to read the scan and stage what the review shows: the page and
        each low line cut out, under ``staging_prefix``, through presigned URLs valid while the review is
        open (at most S3's 7 days) and deleted when it closes. ``None``: the body quotes the URI only.
    :param staging_bucket: bucket for those images (default: the document's bucket).
    :param staging_prefix: the expiring staging prefix (``<prefix>/<dag_id>/<run_id>/review/...``), whose
        S3 lifecycle rule (set by the OCR operators) removes whatever a killed task left behind.
    :param baidu_ocr_conn_id: the connection the document was OCRed with: its image limits say how the image
        was shrunk before Baidu read it (line positions are in that image's pixels). ``None``: the defaults.

    Returns ``{"document": {...key...}, "decision": "accepted" | "corrected" | "timed_out", "corrections":
    {line_no: text}, "reviewed_by": name, "reviewed_by_id": the reviewer's user id, "reviewed_at": ISO time}``.
    """

    # Not ``document``: it holds OCR text, which must never be rendered as a Jinja template.
    template_fields: Sequence[str] = ("timeout_minutes", "staging_bucket", "staging_prefix")
    ui_color = "#fde8e8"
    review_options: tuple[str, ...] = (ACCEPT, CORRECT)

    def __init__(
        self,
        *,
        document: Any,
        timeout_minutes: Any = DEFAULT_REVIEW_TIMEOUT_MINUTES,
        aws_conn_id: str | None = "aws_default",
        staging_bucket: str | None = None,
        staging_prefix: str = DEFAULT_STAGING_PREFIX,
        baidu_ocr_conn_id: str | None = "baidu_ocr_default",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subject", "Review OCR")
        super().__init__(options=list(self.review_options), **kwargs)
        self.document = document
        self.timeout_minutes = timeout_minutes
        self.aws_conn_id = aws_conn_id
        self.staging_bucket = staging_bucket
        self.staging_prefix = staging_prefix
        self.baidu_ocr_conn_id = baidu_ocr_conn_id

    def execute(self, context: Context) -> Any:
        doc = self.document
        page = f" · page {doc['page_no']}" if doc.get("page_no") else ""
        self.subject = f"Review OCR: {doc['source_uri']}{page}"
        self.body = review_body(doc, self._stage_images(context))
        self.params = ParamsDict(_line_params(doc["low_lines"]))  # the form: one field per low line
        if not unset(self.timeout_minutes):
            self.response_timeout = timedelta(minutes=float(self.timeout_minutes))
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        self._delete_images(context)  # the review is closed: the links in its stored body die with it
        result = {"document": self._reviewed_document(), "corrections": {}}
        if event.get("error_type") == "timeout":
            self.log.info("No answer within %s minute(s): rows stay needs_review", self.timeout_minutes)
            return {**result, "decision": TIMED_OUT, **_reviewer(None)}
        answer = super().execute_complete(context, event)
        corrections = {}
        if CORRECT in answer["chosen_options"]:
            corrections = corrections_from(answer.get("params_input") or {}, self.document["low_lines"])
        return {
            **result,
            "decision": "corrected" if corrections else "accepted",
            "corrections": {str(n): text for n, text in corrections.items()},  # XCom: JSON keys
            **_reviewer(answer),
        }

    def _reviewed_document(self) -> dict[str, Any]:
        """The reviewed document as the answers name it: its key and ``source_uri``."""
        from baidu_ocr.normalize.schema import DOC_KEY

        return {**{k: self.document[k] for k in DOC_KEY}, "source_uri": self.document.get("source_uri")}

    def validate_params_input(self, params_input: Any) -> None:
        """The form is built per document at run time; on resume ``self.params`` is the parse-time set (the
        DAG's), so the base class's comparison of field names would refuse every answer. Unknown fields are
        ignored by ``corrections_from`` instead."""

    # -- the review's images -------------------------------------------------------------------------

    def _stage_images(self, context: Context) -> ReviewLinks:
        """Stage the page and the low lines' crops; their presigned URLs, or a note saying what is missing."""
        where = self._image_folder(context)
        if where is None:
            return ReviewLinks()
        # Pillow and numpy when the task runs, not each time the DAG processor parses the DAG file.
        from baidu_ocr.pipeline.review_images import (
            PAGE_IMAGE,
            line_image_name,
            page_image,
            review_images,
            stage_review_images,
        )

        s3, bucket, folder = where
        doc = self.document
        source_bucket, _, key = doc["source_uri"][len("s3://") :].partition("/")
        try:
            data = s3.get_key(key, source_bucket).get()["Body"].read()
            page = page_image(data, int(doc.get("page_no") or 0), self._sent_image)
            if page is None:
                return ReviewLinks(note="No image of this kind of document: open it at the URI above.")
            images = review_images(page, doc.get("low_lines") or [], crop_lines=not doc.get("page_no"))
            urls = stage_review_images(s3, bucket, folder, images, expires_in=self._open_seconds())
        except Exception as exc:  # noqa: BLE001 - the review goes on with the text; the reviewer is told
            self.log.warning(
                "No image for the review of %s: %s: %s", doc["source_uri"], type(exc).__name__, exc
            )
            return ReviewLinks(
                note=f"The scan could not be shown ({type(exc).__name__}): open it at the URI above."
            )
        lines = {
            int(ln["line_no"]): urls[name]
            for ln in doc.get("low_lines") or []
            if (name := line_image_name(ln["line_no"])) in urls
        }
        note = None
        if doc.get("low_lines") and not lines:
            note = _PDF_PAGE if doc.get("page_no") else _NO_POSITIONS
        return ReviewLinks(page=urls.get(PAGE_IMAGE), lines=lines, note=note)

    def _delete_images(self, context: Context) -> None:
        where = self._image_folder(context)
        if where is None:
            return
        s3, bucket, folder = where
        from baidu_ocr.pipeline.review_images import delete_review_images

        try:
            deleted = delete_review_images(s3, bucket, folder)
        except Exception as exc:  # noqa: BLE001 - the answer matters more; the staging expiry removes them
            self.log.warning(
                "Review images under s3://%s/%s not deleted: %s: %s", bucket, folder, type(exc).__name__, exc
            )
            return
        self.log.info("Review closed: %d image(s) deleted, their links lead nowhere now", deleted)

    def _image_folder(self, context: Context) -> tuple[S3Hook, str, str] | None:
        """``(S3 hook, bucket, key prefix)`` of this review's images; ``None`` without S3."""
        uri = self.document.get("source_uri") or ""
        ti = context.get("ti") if context else None
        if not self.aws_conn_id or not uri.startswith("s3://") or ti is None:
            return None
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket = self.staging_bucket or uri[len("s3://") :].partition("/")[0]
        name = f"review/{ti.task_id}/{ti.map_index}/"
        return (
            S3Hook(aws_conn_id=self.aws_conn_id),
            bucket,
            staging_key(self.staging_prefix, ti.dag_id, ti.run_id, name),
        )

    def _open_seconds(self) -> int:
        """How long the review's links must work: while it is open (S3 signs for 7 days at most)."""
        if unset(self.timeout_minutes):
            return S3_LONGEST_SIGNATURE_S
        return min(int(float(self.timeout_minutes) * 60) + 1, S3_LONGEST_SIGNATURE_S)

    def _sent_image(self, data: bytes) -> bytes:
        """The image as Baidu received it: EXIF-rotated and shrunk to the connection's limits, as the OCR
        task prepared it (one rule: the same function)."""
        if self.baidu_ocr_conn_id:
            from baidu_ocr.hooks.ocr import BaiduOcrHook

            return BaiduOcrHook(self.baidu_ocr_conn_id).prepare(data, endpoint=self.document["endpoint"]).data
        from baidu_ocr.inputs.images import prepare_image

        return prepare_image(data, endpoint=self.document["endpoint"]).data


class BaiduOcrInvoiceReviewOperator(BaiduOcrReviewOperator):
    """Ask a person, in Airflow's UI, whether to book one queued invoice: it failed a check, or it is a
    duplicate of an invoice already in the warehouse.

    Takes the parameters of :class:`BaiduOcrReviewOperator`; ``document`` is one invoice item of
    ``WarehouseLoader.review_queue`` (with its ``invoice`` fields). The body shows the invoice's fields, the
    failed checks with what each means, the earlier copy of a duplicate, and the page as scanned.

    Returns ``{"document": {...key...}, "kind": "invoice", "decision": "accepted" | "rejected" | "timed_out",
    "reviewed_by", "reviewed_by_id", "reviewed_at"}`` for :class:`BaiduOcrApplyReviewsOperator`.
    """

    review_options = (BOOK, REJECT)

    def execute(self, context: Context) -> Any:
        doc = self.document
        invoice = doc.get("invoice") or {}
        number = invoice.get("invoice_num") or "number not read"
        self.subject = f"Review invoice {number}: {doc['source_uri']}"
        self.body = invoice_review_body(doc, self._stage_images(context))
        self.params = ParamsDict({})  # a decision, no form
        if not unset(self.timeout_minutes):
            self.response_timeout = timedelta(minutes=float(self.timeout_minutes))
        return HITLOperator.execute(self, context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        self._delete_images(context)
        result = {"document": self._reviewed_document(), "kind": INVOICE_REVIEW}
        if event.get("error_type") == "timeout":
            self.log.info(
                "No answer within %s minute(s): the invoice stays needs_review", self.timeout_minutes
            )
            return {**result, "decision": TIMED_OUT, **_reviewer(None)}
        answer = HITLOperator.execute_complete(self, context, event)
        return {
            **result,
            "decision": "accepted" if BOOK in answer["chosen_options"] else "rejected",
            **_reviewer(answer),
        }


def _reviewer(answer: dict[str, Any] | None) -> dict[str, Any]:
    """Who answered a review and when; all ``None`` for a review nobody answered."""
    if answer is None:
        return {"reviewed_by": None, "reviewed_by_id": None, "reviewed_at": None}
    user = answer.get("responded_by_user") or {}
    responded_at = answer.get("responded_at")
    return {
        "reviewed_by": _user_field(user, "name"),
        "reviewed_by_id": _user_field(user, "id"),  # stable; a display name can change or repeat
        "reviewed_at": responded_at.isoformat() if isinstance(responded_at, datetime) else responded_at,
    }


def _user_field(user: Any, name: str) -> str | None:
    value = user.get(name) if isinstance(user, dict) else getattr(user, name, None)
    return None if value is None else str(value)


def _line_params(low_lines: Sequence[dict[str, Any]]) -> dict[str, Param]:
    return {
        line_field(int(line["line_no"])): Param(
            line["text"],
            type="string",
            maxLength=max(MAX_CORRECTION_CHARS, len(line["text"])),
            title=f"Line {line['line_no']} (confidence {float(line['confidence']):.3f})",
            description=f"The OCR's reading of line {line['line_no']} (its scan is in the table above); "
            "correct it if the scan says otherwise.",
        )
        for line in low_lines
    }


class BaiduOcrApplyReviewsOperator(WarehouseOperatorMixin, BaseOperator):
    """Write the reviewers' answers to the warehouse: corrections beside the OCR text, who and when.

    :param responses: the review tasks' outputs (a mapped :class:`BaiduOcrReviewOperator`'s or
        :class:`BaiduOcrInvoiceReviewOperator`'s ``.output``); an invoice's answer is accepted or rejected.
    :param warehouse_conn_id: the warehouse the documents were loaded into.

    Each answer is stored on its own (its own transaction): one the warehouse refuses is logged with its
    document and the others are stored all the same; the task then fails naming it (its rows stay
    ``needs_review``, its queue row ``open``), and a retry stores it again with the others, which are
    idempotent. Timed-out reviews change nothing. Returns the count per decision.
    """

    template_fields: Sequence[str] = ("responses", "warehouse_conn_id")

    def __init__(self, *, responses: Any, warehouse_conn_id: str = "warehouse_default", **kwargs: Any):
        super().__init__(**kwargs)
        self.responses = responses
        self.warehouse_conn_id = warehouse_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        counts = {"accepted": 0, "corrected": 0, TIMED_OUT: 0}  # and "rejected" once an invoice is rejected
        not_stored = []
        for response in [r for r in (self.responses or []) if r]:
            decision = response["decision"]
            if decision != TIMED_OUT:
                try:
                    self._store(response)
                except Exception as exc:  # noqa: BLE001 - one refused answer must not block the others
                    where = response.get("document", {}).get("source_uri")
                    not_stored.append(str(where))
                    self.log.error("The review of %s was NOT stored: %s: %s", where, type(exc).__name__, exc)
                    continue
            counts[decision] = counts.get(decision, 0) + 1
        self.log.info("Reviews: %s; not stored: %d", counts, len(not_stored))
        if not_stored:
            raise ReviewsNotStored(
                f"{len(not_stored)} review answer(s) could not be stored (see the log), the others were: "
                f"{', '.join(not_stored[:10])}{' ...' if len(not_stored) > 10 else ''}"
            )
        return counts

    def _store(self, response: dict[str, Any]) -> None:
        reviewed_at = response.get("reviewed_at")
        if response.get("kind") == INVOICE_REVIEW:
            self.warehouse.apply_invoice_review(
                response["document"],
                accepted=response["decision"] == "accepted",
                reviewed_by=response.get("reviewed_by") or "unknown",
                reviewed_by_id=response.get("reviewed_by_id"),
                reviewed_at=datetime.fromisoformat(reviewed_at) if reviewed_at else datetime.now(UTC),
            )
            return
        self.warehouse.apply_review(
            response["document"],
            corrections={int(n): text for n, text in (response.get("corrections") or {}).items()},
            reviewed_by=response.get("reviewed_by") or "unknown",
            reviewed_by_id=response.get("reviewed_by_id"),
            reviewed_at=datetime.fromisoformat(reviewed_at) if reviewed_at else datetime.now(UTC),
        )
