"""Human review in Airflow's UI of the documents the confidence gate queued (``ocr_review_queue``).

:class:`BaiduOcrReviewOperator` is Airflow 3's human-in-the-loop operator, one task per queued document
(mapped over :meth:`WarehouseLoader.review_queue`): the reviewer sees the document's link and its
low-confidence lines as form fields holding the OCR's text, and either accepts them or saves corrected text.
:class:`BaiduOcrApplyReviewsOperator` then writes the answers to the warehouse. A review not answered within
``timeout_minutes`` ends without an answer: the rows stay ``needs_review`` and the run still succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import BaseOperator, Param
from airflow.sdk.definitions.param import ParamsDict

from baidu_ocr.normalize.review_gate import corrections_from, line_field
from baidu_ocr.operators.base import WarehouseOperatorMixin
from baidu_ocr.pipeline.params import unset

if TYPE_CHECKING:
    from airflow.sdk import Context

ACCEPT = "Accept as read"
CORRECT = "Save corrections"
TIMED_OUT = "timed_out"
DEFAULT_REVIEW_TIMEOUT_MINUTES = 24 * 60.0


class BaiduOcrReviewOperator(HITLOperator):
    """Ask a person, in Airflow's UI, to check one queued document's low-confidence lines.

    :param document: one ``ocr_review_queue`` item (``WarehouseLoader.review_queue``): the document key,
        ``source_uri``, ``reason``, ``low_lines`` and confidence figures. Usually mapped.
    :param timeout_minutes: how long the review stays open; unanswered, the task ends with ``timed_out``
        and the document stays ``needs_review`` (the run still succeeds). ``None``: no limit.
    :param aws_conn_id: with it, the body links the image through a presigned URL valid while the review is
        open (the ``s3://`` URI is shown either way).

    Returns ``{"document": {...key...}, "decision": "accepted" | "corrected" | "timed_out", "corrections":
    {line_no: text}, "reviewed_by": name, "reviewed_at": ISO time}``.
    """

    # Not ``document``: it holds OCR text, which must never be rendered as a Jinja template.
    template_fields: Sequence[str] = ("timeout_minutes",)
    ui_color = "#fde8e8"

    def __init__(
        self,
        *,
        document: Any,
        timeout_minutes: Any = DEFAULT_REVIEW_TIMEOUT_MINUTES,
        aws_conn_id: str | None = "aws_default",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subject", "Review OCR")
        super().__init__(options=[ACCEPT, CORRECT], **kwargs)
        self.document = document
        self.timeout_minutes = timeout_minutes
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Context) -> Any:
        doc = self.document
        page = f" · page {doc['page_no']}" if doc.get("page_no") else ""
        self.subject = f"Review OCR: {doc['source_uri']}{page}"
        self.body = review_body(doc, self._presigned_url(doc["source_uri"]))
        self.params = ParamsDict(_line_params(doc["low_lines"]))  # the form: one field per low line
        if not unset(self.timeout_minutes):
            self.response_timeout = timedelta(minutes=float(self.timeout_minutes))
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        key = {k: self.document[k] for k in ("content_sha256", "endpoint", "options_hash", "page_no")}
        result = {"document": {**key, "source_uri": self.document.get("source_uri")}, "corrections": {}}
        if event.get("error_type") == "timeout":
            self.log.info("No answer within %s minute(s): rows stay needs_review", self.timeout_minutes)
            return {**result, "decision": TIMED_OUT, "reviewed_by": None, "reviewed_at": None}
        answer = super().execute_complete(context, event)
        corrections = {}
        if CORRECT in answer["chosen_options"]:
            corrections = corrections_from(answer.get("params_input") or {}, self.document["low_lines"])
        user = answer.get("responded_by_user") or {}
        name = user.get("name") if isinstance(user, dict) else getattr(user, "name", None)
        responded_at = answer.get("responded_at")
        return {
            **result,
            "decision": "corrected" if corrections else "accepted",
            "corrections": {str(n): text for n, text in corrections.items()},  # XCom: JSON keys
            "reviewed_by": name,
            "reviewed_at": responded_at.isoformat() if isinstance(responded_at, datetime) else responded_at,
        }

    def validate_params_input(self, params_input: Any) -> None:
        """The form is built per document at run time; on resume ``self.params`` is the parse-time set (the
        DAG's), so the base class's comparison of field names would refuse every answer. Unknown fields are
        ignored by ``corrections_from`` instead."""

    def _presigned_url(self, uri: str) -> str | None:
        if not self.aws_conn_id or not uri.startswith("s3://"):
            return None
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, _, key = uri[len("s3://") :].partition("/")
        expires = int(float(self.timeout_minutes or DEFAULT_REVIEW_TIMEOUT_MINUTES) * 60)
        try:
            return S3Hook(aws_conn_id=self.aws_conn_id).generate_presigned_url(
                client_method="get_object",
                params={"Bucket": bucket, "Key": key},
                expires_in=min(expires, 7 * 24 * 3600),  # S3's longest signature
            )
        except Exception as exc:  # noqa: BLE001 - a link is a convenience; the URI is in the body anyway
            self.log.warning("No presigned link for %s: %s", uri, exc)
            return None


def review_body(document: dict[str, Any], link: str | None) -> str:
    """The review's Markdown: where the document is, why it is here, and its low-confidence lines."""
    uri = document["source_uri"]
    shown = f"[{uri}]({link})" if link else f"`{uri}`"
    page = f", page {document['page_no']}" if document.get("page_no") else ""
    lines = document.get("low_lines") or []
    threshold = float(document.get("min_confidence") or 0)
    if document.get("reason") == "no_text":
        why = "no text was read. Accept if the page is blank; otherwise it needs another scan."
    else:
        why = (
            f"{len(lines)} line(s) under the confidence threshold {threshold:.2f} (document mean "
            f"{float(document.get('conf_mean') or 0):.3f}, lowest {float(document.get('conf_min') or 0):.3f})."
        )
    body = [f"**Document:** {shown}{page}", "", f"**Why:** {why}"]
    if lines:
        body += ["", "| line | confidence | OCR text |", "|---:|---:|---|"]
        body += [f"| {ln['line_no']} | {float(ln['confidence']):.3f} | {_cell(ln['text'])} |" for ln in lines]
        body += ["", f"Correct the lines below and choose **{CORRECT}**, or choose **{ACCEPT}**."]
    return "\n".join(body)


def _cell(text: str) -> str:
    """OCR text inside a Markdown table cell: a ``|`` or a line break would end the cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _line_params(low_lines: Sequence[dict[str, Any]]) -> dict[str, Param]:
    return {
        line_field(int(line["line_no"])): Param(
            line["text"],
            type="string",
            title=f"Line {line['line_no']} (confidence {float(line['confidence']):.3f})",
            description="The OCR's reading; correct it if the image says otherwise.",
        )
        for line in low_lines
    }


class BaiduOcrApplyReviewsOperator(WarehouseOperatorMixin, BaseOperator):
    """Write the reviewers' answers to the warehouse: corrections beside the OCR text, who and when.

    :param responses: the review tasks' outputs (a mapped :class:`BaiduOcrReviewOperator`'s ``.output``).
    :param warehouse_conn_id: the warehouse the documents were loaded into.

    Timed-out reviews change nothing (the rows stay ``needs_review``). Returns the count per decision.
    """

    template_fields: Sequence[str] = ("responses", "warehouse_conn_id")

    def __init__(self, *, responses: Any, warehouse_conn_id: str = "warehouse_default", **kwargs: Any):
        super().__init__(**kwargs)
        self.responses = responses
        self.warehouse_conn_id = warehouse_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        counts = {"accepted": 0, "corrected": 0, TIMED_OUT: 0}
        for response in [r for r in (self.responses or []) if r]:
            decision = response["decision"]
            counts[decision] = counts.get(decision, 0) + 1
            if decision == TIMED_OUT:
                continue
            reviewed_at = response.get("reviewed_at")
            self.warehouse.apply_review(
                response["document"],
                corrections={int(n): text for n, text in (response.get("corrections") or {}).items()},
                reviewed_by=response.get("reviewed_by") or "unknown",
                reviewed_at=datetime.fromisoformat(reviewed_at) if reviewed_at else datetime.now(UTC),
            )
        self.log.info("Reviews: %s", counts)
        return counts
