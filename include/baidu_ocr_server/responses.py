"""Turn a parsed request into a model call and a Baidu-shaped body (moto's ``responses`` layer).

Order of checks for an OCR call, as Baidu's gateway then service apply them: token (110/111, or 14 for an
IAM API key or a BCE signature that does not hold) -> the body, read only now (216202 over the endpoint's
size limit, 216100 past the field cap) -> daily quota (17) -> QPS window (18) -> injected latency and
faults -> input checks (2162xx/2821xx) -> engine. Every refusal is a :class:`BaiduError` rendered by
:func:`render_error`, the one place that builds ``{"log_id", "error_code", "error_msg"}``.
"""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path
from typing import Any

from baidu_ocr_server.bce import SignedRequest
from baidu_ocr_server.documents import page_number, render_pdf_page
from baidu_ocr_server.endpoints import ENDPOINTS_BY_PATH, EndpointSpec, endpoint_name
from baidu_ocr_server.engines.base import EngineCannotRecognize
from baidu_ocr_server.engines.fixture import DEFAULT_SAMPLES_DIR
from baidu_ocr_server.errors import BaiduError, OAuthError
from baidu_ocr_server.excel import tables_to_xlsx
from baidu_ocr_server.faults import DROP, HTTP_STATUS_KEYS
from baidu_ocr_server.images import check_image, decode_base64_image, fetch_url_image
from baidu_ocr_server.invoice_registry import InvoiceRegistry
from baidu_ocr_server.models import OcrBackend
from baidu_ocr_server.ofd import read_ofd_page
from baidu_ocr_server.parser import SUCCESS, check_file_name, layout_bytes
from baidu_ocr_server.shapes import (
    LineOptions,
    async_json_result,
    form_payload,
    idcard_payload,
    invoice_payload,
    lines_payload,
    table_v2_payload,
)
from baidu_ocr_server.wire import SMALL_BODY_BYTES, Request, Response

log = logging.getLogger(__name__)

RET_MSG = {1: "未开始", 2: "进行中", 3: "已完成"}
RECOGNIZE_ERROR_BY_FAMILY = {"idcard": 216633, "invoice": 282103, "table_request": 282810}
INVOICE_KINDS = ("normal", "roll")  # vat_invoice's ``type``: VAT invoices and e-invoices, or 卷票
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES_PREFIX = "/_files/"
# An nginx-style page: a real 5xx from Baidu's front end is not JSON either.
HTTP_ERROR_PAGE = (
    "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def new_log_id() -> int:
    """Unsigned 64-bit, usually above 2**53 like Baidu's (clients must not parse it as a float)."""
    return secrets.randbits(64) or 1


def render_error(error: BaiduError) -> Response:
    return Response.json({"log_id": new_log_id(), "error_code": error.code, "error_msg": error.message})


def _ok(payload: dict) -> Response:
    return Response.json({"log_id": new_log_id(), **payload})


def _flag(form: Any, name: str) -> bool:
    return str(form.get(name, "")).strip().lower() == "true"


def _signed_parts(request: Request) -> SignedRequest:
    return SignedRequest(request.method, request.path, request.query_string, request.headers)


def _file_refusal(code: int, message: str, status: int) -> Response:
    return Response.json({"error_code": code, "error_msg": message}, status)


class BaiduOcrResponses:
    """Handlers for Baidu's paths; one instance serves every request of one server."""

    def __init__(self, backend: OcrBackend) -> None:
        self.backend = backend
        self._registry: InvoiceRegistry | None = None  # vat_invoice_verification's, built on first use

    # -- /oauth/2.0/token -------------------------------------------------------------------------------
    def token(self, request: Request) -> Response:
        try:
            params = {**request.form(SMALL_BODY_BYTES), **request.query}
        except BaiduError as error:
            return Response.json({"error": "invalid_request", "error_description": error.message}, 400)
        try:
            body = self.backend.issue_token(
                params.get("grant_type"), params.get("client_id"), params.get("client_secret")
            )
        except OAuthError as error:
            return Response.json({"error": error.error, "error_description": error.description}, error.status)
        return Response.json(body)

    # -- OCR paths --------------------------------------------------------------------------------------
    def ocr(self, request: Request) -> Response:
        spec = ENDPOINTS_BY_PATH.get(request.path)
        name = endpoint_name(request.path)
        if spec is None or name is None:
            return self._not_served(request, name)
        backend = self.backend
        backend.count_call(spec.name)
        try:
            self._authenticate(request)
            form = request.form(spec.max_body_bytes)  # only now: an unauthenticated body is never read
            backend.admit(spec.name, billable=spec.billable)
        except BaiduError as error:
            backend.record_rejected(spec.name, error.code)
            return render_error(error)
        with backend.in_flight():
            backend.apply_latency()
            fault = backend.roll_fault()
            if fault is not None:
                backend.record_outcome(spec.name, billable=spec.billable, error=fault)
                return self._fault_response(fault)
            try:
                payload = self._serve(request, form, spec)
            except BaiduError as error:
                backend.record_outcome(spec.name, billable=spec.billable, error=error.code)
                return render_error(error)
            except EngineCannotRecognize as exc:
                error = BaiduError(exc.code or RECOGNIZE_ERROR_BY_FAMILY.get(spec.family, 216630))
                backend.record_outcome(spec.name, billable=spec.billable, error=error.code)
                return render_error(error)
            except Exception:
                log.exception("engine failure on %s", spec.name)
                backend.record_outcome(spec.name, billable=spec.billable, error=282000)
                return render_error(BaiduError(282000))
        backend.record_outcome(spec.name, billable=spec.billable)
        return _ok(payload)

    def _not_served(self, request: Request, name: str | None) -> Response:
        """Other SDK endpoints: token check first (as Baidu), then 216102. Unknown paths: 3."""
        if name is None:
            self.backend.record_error(3)
            return render_error(BaiduError(3))
        try:
            self._authenticate(request)
            raise BaiduError(216102)
        except BaiduError as error:
            self.backend.record_error(error.code)
            return render_error(error)

    def _authenticate(self, request: Request) -> None:
        self.backend.authenticate(
            request.query.get("access_token"), request.headers.get("authorization"), _signed_parts(request)
        )

    @staticmethod
    def _fault_response(fault: str) -> Response:
        if fault == DROP:
            return Response(drop=True)
        if fault in HTTP_STATUS_KEYS:
            status = int(fault)
            page = HTTP_ERROR_PAGE.format(
                status=f"{status} Internal Server Error" if status == 500 else status
            )
            return Response(status=status, body=page.encode(), content_type="text/html")
        return render_error(BaiduError(int(fault)))

    def _serve(self, request: Request, form: dict[str, str], spec: EndpointSpec) -> dict:
        extra: dict[str, str] = {}  # e.g. pdf_file_size: the page count of a PDF input
        payload = self._serve_input(request, form, spec, extra)
        return {**payload, **extra} if extra else payload

    def _serve_input(
        self, request: Request, form: dict[str, str], spec: EndpointSpec, extra: dict[str, str]
    ) -> dict:
        engine = self.backend.engine
        if spec.family == "table_result":
            return self._table_result(request, form)
        if spec.family == "parser_submit":
            return self._parser_submit(form, spec)
        if spec.family == "parser_query":
            return self._parser_query(request, form)
        if spec.family == "idcard":
            side = form.get("id_card_side")
            if not side:
                raise BaiduError(216101)
            if side not in ("front", "back"):
                raise BaiduError(216100)
            image = self._image(form, spec, extra)
            result = engine.recognize_idcard(image, side=side)
            return idcard_payload(result, detect_direction=_flag(form, "detect_direction"))
        if spec.family == "invoice_verification":
            return self._invoice_registry().verify(form)
        if spec.family == "invoice":
            kind = form.get("type") or "normal"
            if kind not in INVOICE_KINDS:
                raise BaiduError(216100)
            if "ofd_file" in form and not {"image", "url", "pdf_file"} & set(form):
                return invoice_payload(self._ofd_invoice(form, spec, extra, kind))
            return invoice_payload(engine.recognize_invoice(self._image(form, spec, extra), kind=kind))
        image = self._image(form, spec, extra)
        if spec.family == "lines":
            options = LineOptions(
                location=spec.location,
                probability=_flag(form, "probability"),
                chars=spec.location and form.get("recognize_granularity") == "small",
                detect_direction=_flag(form, "detect_direction"),
                paragraph=_flag(form, "paragraph"),
                vertexes_location=_flag(form, "vertexes_location"),
            )
            result = engine.recognize_lines(
                image, chars=options.chars, detect_direction=options.detect_direction
            )
            return lines_payload(result, options)
        if spec.family == "table":
            tables = engine.recognize_tables(image)
            payload = table_v2_payload(tables)
            if _flag(form, "return_excel"):
                payload["excel_file"] = base64.b64encode(tables_to_xlsx(tables)).decode()
            return payload
        if spec.family == "form":
            return form_payload(engine.recognize_tables(image))
        if spec.family == "table_request":
            request_id = self.backend.submit_table_job(image)
            if _flag(form, "is_sync"):
                # Baidu's is_sync=true answers the finished result at once, typed by request_type.
                self.backend.wait_for_table_job(request_id)
                return self._job_result(request, request_id, form.get("request_type") or "excel")
            return {"result": [{"request_id": request_id}]}
        raise BaiduError(216102)  # pragma: no cover - every family is handled above

    def _invoice_registry(self) -> InvoiceRegistry:
        """The invoices the samples generator issued (the fixture engine's samples folder, or the default)."""
        if self._registry is None:
            samples = getattr(self.backend.engine, "samples_dir", None) or DEFAULT_SAMPLES_DIR
            self._registry = InvoiceRegistry(Path(samples))
        return self._registry

    def _ofd_invoice(self, form: Any, spec: EndpointSpec, extra: dict[str, str], kind: str):
        """``ofd_file`` page ``ofd_file_num`` (default 1) read from its text layer; ``ofd_file_size`` is the
        page count. Other endpoints still answer 216201 for an OFD (``_image``)."""
        document = decode_base64_image(form["ofd_file"], spec.limits)
        page = page_number(form.get("ofd_file_num"))
        lines, count = read_ofd_page(document, page)
        self.backend.record_image(document)
        extra["ofd_file_size"] = str(count)
        return self.backend.engine.recognize_invoice_text(lines, document=document, page_no=page, kind=kind)

    def _image(self, form: Any, spec: EndpointSpec, extra: dict[str, str]) -> bytes:
        """Baidu's priority: ``image`` > ``url`` > ``pdf_file`` (page ``pdf_file_num`` rendered, the page
        count answered as ``pdf_file_size``) > ``ofd_file`` (not rendered here: 216201)."""
        if "image" in form:
            data = decode_base64_image(form["image"], spec.limits)
        elif "url" in form and spec.accepts_url:
            if not form["url"]:
                raise BaiduError(282110)
            data = fetch_url_image(form["url"], spec.limits)
        elif "pdf_file" in form and spec.accepts_pdf:
            document = decode_base64_image(form["pdf_file"], spec.limits)
            page = page_number(form.get("pdf_file_num"))
            data, count = render_pdf_page(document, page, spec.limits)
            extra["pdf_file_size"] = str(count)
        elif "ofd_file" in form and spec.accepts_pdf:
            decode_base64_image(form["ofd_file"], spec.limits)
            raise BaiduError(216201)
        else:
            raise BaiduError(216200)
        checked = check_image(data, spec.limits)
        self.backend.record_image(checked.data)
        return checked.data

    def _table_result(self, request: Request, form: dict[str, str]) -> dict:
        request_id = form.get("request_id")
        if not request_id:
            raise BaiduError(282003)
        return self._job_result(request, request_id, form.get("result_type") or "excel")

    def _job_result(self, request: Request, request_id: str, result_type: str) -> dict:
        if result_type not in ("excel", "json"):
            raise BaiduError(282809)
        status = self.backend.table_job(request_id)
        if status.error is not None:
            raise BaiduError(282810)
        result_data = ""
        if status.tables is not None:
            if result_type == "json":
                result_data = async_json_result(status.tables)
            else:
                result_data = self._file_link(request, f"{request_id}.xlsx")
        return {
            "result": {
                "result_data": result_data,
                "ret_msg": RET_MSG[status.ret_code],
                "request_id": request_id,
                "percent": status.percent,
                "ret_code": status.ret_code,
            }
        }

    # -- the async document parser (see ``parser.py`` for the decisions) ----------------------------------
    def _parser_submit(self, form: dict[str, str], spec: EndpointSpec) -> dict:
        """``file_data`` (base64) > ``file_url``; ``file_name`` with a suffix Baidu reads."""
        if "file_data" not in form and not form.get("file_url"):
            raise BaiduError(282003)
        file_name = check_file_name(form.get("file_name"))
        if "file_data" in form:
            data = decode_base64_image(form.pop("file_data"), spec.limits)  # the base64 text goes now
        else:
            data = fetch_url_image(form["file_url"], spec.limits)
        if not data:
            raise BaiduError(216200)
        self.backend.record_image(data)
        task_id = self.backend.parser_tasks.submit(data, file_name)
        return {"error_code": 0, "error_msg": "", "result": {"task_id": task_id}}

    def _parser_query(self, request: Request, form: dict[str, str]) -> dict:
        task_id = form.get("task_id")
        if not task_id:
            raise BaiduError(282003)
        status = self.backend.parser_tasks.status(task_id)
        result: dict = {"task_id": task_id, "status": status.status, "task_error": status.task_error}
        if status.duration is not None:
            result["duration"] = status.duration
        if status.status == SUCCESS:
            result["markdown_url"] = self._file_link(request, f"{task_id}.md")
            result["parse_result_url"] = self._file_link(request, f"{task_id}.json")
        return {"error_code": 0, "error_msg": "", "result": result}

    # -- /_files/: result files behind links signed like BOS's presigned URLs (``links.py``) -------------
    def _file_link(self, request: Request, name: str) -> str:
        return self.backend.file_links.url(request.base_url, f"{FILES_PREFIX}{name}")

    def _file_refused(self, request: Request) -> Response | None:
        """403 unless the link's signature holds: checked first, so nobody can probe which ids exist."""
        if self.backend.file_links.allows(request.method, request.path, request.query_string):
            return None
        return _file_refusal(6, "No permission to access data", 403)

    # -- /_files/<task_id>.md|.json: the Markdown and layout JSON a finished parser task links to ---------
    def parser_file(self, request: Request) -> Response:
        if (refusal := self._file_refused(request)) is not None:
            return refusal
        task_id, _, suffix = request.path[len(FILES_PREFIX) :].rpartition(".")
        try:
            status = self.backend.parser_tasks.status(task_id)
        except BaiduError as error:
            return _file_refusal(error.code, error.message, 404)
        if status.document is None:
            return _file_refusal(282808, "result not ready", 404)
        if suffix == "md":
            return Response(
                body=status.document.markdown.encode(), content_type="text/markdown; charset=utf-8"
            )
        return Response(body=layout_bytes(status.document), content_type="application/json")

    # -- /_files/<request_id>.xlsx: the spreadsheet a finished table job links to ---------------------------
    def table_file(self, request: Request) -> Response:
        if (refusal := self._file_refused(request)) is not None:
            return refusal
        request_id = request.path[len(FILES_PREFIX) :].removesuffix(".xlsx")
        try:
            status = self.backend.table_job(request_id)
        except BaiduError as error:
            return _file_refusal(error.code, error.message, 404)
        if status.tables is None:
            return _file_refusal(282808, "result not ready", 404)
        return Response(body=tables_to_xlsx(status.tables), content_type=XLSX_CONTENT_TYPE)

    def not_found(self, request: Request) -> Response:
        self.backend.record_error(3)
        return render_error(BaiduError(3))
